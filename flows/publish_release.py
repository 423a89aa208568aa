"""The `publish-release` Prefect flow: push a built release as one commit tagged v<version>."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from coig.publish import publish


@flow(name="publish-release")
def publish_release_flow(
    release: str, repo: str, private: bool = False, branch: str | None = None, message: str | None = None
) -> str:
    """Publish the release folder to ORG/NAME on the Hub (token from HF_TOKEN or the login), or to
    a local git repository given as file:///path."""
    result = task(publish, name="publish", cache_policy=NO_CACHE)(
        release, repo, private=private, branch=branch, message=message
    )
    return result.summary()
