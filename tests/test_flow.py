"""The build-release Prefect flow produces the same release as the command, stage by stage as tasks."""

import json
import time

import pytest

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_flow_release_equals_command_release(prefect_server, tmp_path):
    from prefect.client.orchestration import get_client

    from coig.pipeline import build_release
    from coig.sources import load_sources
    from flows.build_release import build_release_flow
    from test_build import FIXTURES, write_manifests

    sources_dir = write_manifests(tmp_path / "sources")
    direct = build_release(load_sources(sources_dir), FIXTURES, tmp_path / "direct", "0.1.0", fetch=False)
    state = build_release_flow(
        version="0.1.0", output=str(tmp_path / "flow"), data_root=str(FIXTURES), fetch=False,
        sources_dir=str(sources_dir), return_state=True,
    )
    assert state.is_completed()
    flowed = state.result()
    assert flowed == tmp_path / "flow" / "coig-0.1.0"
    files = sorted(p.relative_to(direct) for p in direct.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(flowed) for p in flowed.rglob("*") if p.is_file())
    for path in files:
        assert (flowed / path).read_bytes() == (direct / path).read_bytes(), path

    import asyncio

    async def task_names():
        async with get_client() as client:
            runs = await client.read_task_runs()
            return {run.name.rsplit("-", 1)[0] for run in runs if run.flow_run_id == state.state_details.flow_run_id}

    expected = {"plan", "read-gaokao_bench", "read-jade_db", "build-exam_instructions", "normalize-exam_instructions",
                "filter-exam_instructions", "dedup-exam_instructions", "split-exam_instructions", "release"}
    for _ in range(50):  # the server records task runs from events, a moment after they finish
        names = asyncio.run(task_names())
        if expected <= names:
            break
        time.sleep(0.2)
    assert expected <= names

    async def artifacts():
        async with get_client() as client:
            return {a.key: a for a in await client.read_artifacts() if a.flow_run_id == state.state_details.flow_run_id}

    found = asyncio.run(artifacts())
    assert set(found) == {"coig-0-1-0-records", "coig-0-1-0-rejects", "coig-0-1-0-report"}
    records = json.loads(found["coig-0-1-0-records"].data)
    manifest = json.loads((flowed / "manifest.json").read_text())
    assert {r["config"]: r["total"] for r in records} == {c: sum(s.values()) for c, s in manifest["configs"].items()}
    report = found["coig-0-1-0-report"].data
    assert report.count("](data:image/png;base64,") == 3
