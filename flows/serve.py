"""Serve the coig deployments: `python -m flows.serve` (what `make serve` starts).

Each deployment runs in this process when triggered, e.g.
    prefect deployment run 'build-release/coig' --param version=0.2.0
"""

from __future__ import annotations

from prefect import serve

from flows.build_release import build_release_flow, build_subtask_flow
from flows.publish_release import publish_release_flow

DEPLOYMENT = "coig"


def main() -> None:
    serve(
        build_release_flow.to_deployment(
            name=DEPLOYMENT, description="Build a release of every config, or of the configs named in `configs`."
        ),
        build_subtask_flow.to_deployment(name=DEPLOYMENT, description="Build a release of one config (sub-task)."),
        publish_release_flow.to_deployment(
            name=DEPLOYMENT, description="Publish a built release to the Hugging Face Hub or a local git repository."
        ),
    )


if __name__ == "__main__":
    main()
