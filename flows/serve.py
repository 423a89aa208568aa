"""Serve the coig deployments: `python -m flows.serve` (what `make serve` starts).

Each deployment runs in this process when triggered, e.g.
    prefect deployment run 'build-release/coig' --param version=0.2.0
"""

from __future__ import annotations

import os
import sys
import time

import httpx
from prefect import serve

from flows.build_release import build_release_flow, build_subtask_flow
from flows.publish_release import publish_release_flow

DEPLOYMENT = "coig"


def wait_for_server(timeout: float = 120.0) -> bool:
    """True once the server at PREFECT_API_URL answers its health check."""
    url = os.environ.get("PREFECT_API_URL", "http://127.0.0.1:4200/api").rstrip("/") + "/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(1)
    return False


def main() -> None:
    if "--wait" in sys.argv:
        sys.exit(0 if wait_for_server() else 1)
    if not wait_for_server():
        sys.exit("the Prefect server at PREFECT_API_URL did not answer")
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
