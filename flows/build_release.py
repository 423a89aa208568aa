"""The `build-release` Prefect flow: the same stages as `coig build`, each a Prefect task.

Runs with no server configured (Prefect starts a temporary one). Stage logs from the `coig`
logger appear in the flow run's logs.
"""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "coig")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from pathlib import Path  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from coig import report  # noqa: E402
from coig.pipeline import build_release, resolve_cache_dir  # noqa: E402
from coig.settings import BuildSettings  # noqa: E402
from coig.sources import SOURCES_DIR, load_sources, resolve_data_root  # noqa: E402


def run_as_task(stage: str, function, /, *args, **kwargs):
    """Run one stage as a named Prefect task."""
    return task(function, name=stage, cache_policy=NO_CACHE)(*args, **kwargs)


@flow(name="build-release")
def build_release_flow(
    version: str = "0.1.0",
    output: str = "releases",
    data_root: str | None = None,
    configs: list[str] | None = None,
    name: str = "coig",
    force: bool = False,
    fetch: bool = True,
    settings: dict | None = None,
    sources_dir: str = "",
    cache_dir: str | None = None,
) -> Path:
    """Build a release folder NAME-VERSION under `output` from the source manifests.

    Stage outputs are kept in `cache_dir` (default: $COIG_CACHE_DIR or a user cache folder) and
    reused when nothing they depend on changed; pass cache_dir="none" to keep nothing. The run
    publishes artifacts: records per config and split, rejects by reason and source, and a report
    with plots."""
    release = build_release(
        load_sources(Path(sources_dir) if sources_dir else SOURCES_DIR),
        resolve_data_root(data_root),
        Path(output).resolve(),
        version,
        settings=BuildSettings.model_validate(settings or {}),
        configs=configs,
        name=name,
        force=force,
        fetch=fetch,
        cache_dir=None if cache_dir == "none" else resolve_cache_dir(cache_dir),
        runner=run_as_task,
    )
    publish_artifacts(release)
    return release


def publish_artifacts(release: Path) -> None:
    """The release's tables and report (plots inline) as artifacts of this flow run."""
    rows = report.tables(release)
    key = release.name.lower().replace(".", "-").replace("_", "-")
    create_table_artifact(rows["records"], key=f"{key}-records", description=f"Records per config and split in {release.name}")
    create_table_artifact(rows["rejects"], key=f"{key}-rejects", description=f"Rejects by reason and source in {release.name}")
    create_markdown_artifact(
        report.report_markdown(release, lambda plot: report.data_uri(release / report.PLOTS_DIR / plot)),
        key=f"{key}-report", description=f"Build report of {release.name}",
    )


@flow(name="build-subtask")
def build_subtask_flow(
    config: str,
    version: str = "0.1.0",
    output: str = "releases",
    data_root: str | None = None,
    force: bool = False,
    fetch: bool = True,
    settings: dict | None = None,
    cache_dir: str | None = None,
) -> Path:
    """Build a release of one config (sub-task), named coig-CONFIG-VERSION."""
    return build_release_flow(
        version=version, output=output, data_root=data_root, configs=[config], name=f"coig-{config}",
        force=force, fetch=fetch, settings=settings, cache_dir=cache_dir,
    )
