"""The build, stage by stage: read, build, normalize, filter, dedup, split, release.

Each stage streams records from the previous stage's JSONL file in a work folder to its own, so a
stage can run alone (as a Prefect task), memory stays bounded, and its counts are checked.
`build_release` runs the stages in order through a `runner`: the command line calls the stage
functions directly; the Prefect flow passes a runner that makes each call a task.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from coig.builders import BuildContext, get_builder
from coig.dedup import ExactDedup
from coig.errors import CoigError, SourceError
from coig.filters import apply_filters, default_filters
from coig.ledger import StageStats, counted, read_jsonl, run_stage
from coig.normalize import normalize_records
from coig.readers import get_reader, read_source
from coig.records import CONFIGS, RawRecord
from coig.release import write_release
from coig.settings import BuildSettings
from coig.sources import Source, is_present, verify
from coig.split import split_of

log = logging.getLogger("coig")

Runner = Callable[..., object]


def run_directly(stage: str, function: Callable, /, *args, **kwargs):
    return function(*args, **kwargs)


@dataclass
class BuildPlan:
    """What a build will read, checked before anything is written."""

    sources: list[Source]  # sources that feed a config, in manifest order
    all_sources: dict[str, Source]
    skipped: list[str] = field(default_factory=list)  # optional sources absent from the data root

    @property
    def configs(self) -> list[str]:
        used = {s.builder for s in self.sources}
        return [c for c in CONFIGS if c in used]


def plan_build(
    all_sources: list[Source], data_root: Path, configs: list[str] | None = None, fetch: bool = True
) -> BuildPlan:
    """Choose the sources, check their readers and builders, and make sure every file is there
    with the right checksum (downloading what is missing when `fetch`)."""
    unknown = sorted(set(configs or []) - set(CONFIGS))
    if unknown:
        raise CoigError(f"unknown config(s) {', '.join(unknown)}; configs: {', '.join(CONFIGS)}")
    by_name = {s.name: s for s in all_sources}
    chosen = [s for s in all_sources if s.builder and (not configs or s.builder in configs)]
    if not chosen:
        raise CoigError("no source feeds the requested configs")
    needed = {s.name: s for s in chosen}
    for source in chosen:
        get_reader(source)
        get_builder(source)
        reference = source.translation.reference if source.translation else None
        if reference:
            if reference not in by_name:
                raise SourceError(f"{source.manifest_path}: translation reference {reference!r} is not a known source")
            needed[reference] = by_name[reference]
    skipped = [
        s.name
        for s in needed.values()
        if s.optional and not is_present(s, data_root) and not all(f.url for f in s.files)
    ]
    kept = [s for s in needed.values() if s.name not in skipped]
    if fetch:
        from coig.fetch import fetch as fetch_files

        fetch_files(kept, data_root)
    for source in kept:
        verify(source, data_root)
    for name in skipped:
        log.warning("source %s skipped: its files are not in %s and have no upstream address", name, data_root)
    return BuildPlan([s for s in chosen if s.name not in skipped], by_name, skipped)


def _stage_paths(work: Path, stage: str, name: str) -> tuple[Path, Path]:
    return work / stage / f"{name}.jsonl", work / "rejects" / f"{stage}-{name}.jsonl"


def _transform(stage: str, config: str, work: Path, previous: str, process: Callable[[Iterable[dict]], Iterator]) -> StageStats:
    """Run one shared stage over a config's records from the previous stage's file."""
    seen: Counter = Counter()
    records = counted(read_jsonl(work / previous / f"{config}.jsonl"), seen)
    return run_stage(stage, config, process(records), *_stage_paths(work, stage, config), seen=seen)


def read_stage(source: Source, data_root: Path, work: Path) -> StageStats:
    return run_stage("read", source.name, read_source(source, data_root), *_stage_paths(work, "read", source.name))


def build_stage(config: str, sources: list[Source], context: BuildContext, work: Path) -> StageStats:
    seen: Counter = Counter()

    def outcomes():
        for source in sources:
            raws = counted(read_jsonl(work / "read" / f"{source.name}.jsonl"), seen)
            yield from get_builder(source)((RawRecord(**raw) for raw in raws), source, context)

    return run_stage("build", config, outcomes(), *_stage_paths(work, "build", config), seen=seen)


def normalize_stage(config: str, sources: list[Source], work: Path) -> StageStats:
    simplified = {s.name: s.traditional_to_simplified for s in sources}
    return _transform("normalize", config, work, "build", lambda records: normalize_records(records, simplified))


def filter_stage(config: str, settings: BuildSettings, work: Path) -> StageStats:
    filters = default_filters(settings.lengths)
    return _transform("filter", config, work, "normalize", lambda records: apply_filters(records, filters, config))


def dedup_stage(configs: list[str], work: Path) -> list[StageStats]:
    """One pass over all configs in a fixed order, so the same record always wins."""
    dedup = ExactDedup()
    return [_transform("dedup", config, work, "filter", lambda records: dedup(records, config)) for config in configs]


def split_stage(config: str, settings: BuildSettings, work: Path) -> StageStats:
    def assign(records: Iterable[dict]) -> Iterator[dict]:
        for record in records:
            record["split"] = split_of(record["id"], settings.split)
            yield record

    return _transform("split", config, work, "dedup", assign)


def build_release(
    all_sources: list[Source],
    data_root: Path,
    output: Path,
    version: str,
    settings: BuildSettings | None = None,
    configs: list[str] | None = None,
    name: str = "coig",
    force: bool = False,
    fetch: bool = True,
    runner: Runner = run_directly,
) -> Path:
    """Run every stage and write the release folder; returns its path."""
    settings = settings or BuildSettings()
    destination = output / f"{name}-{version}"
    if destination.exists() and not force:
        raise CoigError(f"{destination} already exists; pass --force to replace it")
    plan = runner("plan", plan_build, all_sources, data_root, configs, fetch)
    context = BuildContext(data_root=data_root, sources=plan.all_sources, settings=settings)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".coig-work-{version}-", dir=output))
    try:
        read_stats = [runner(f"read-{s.name}", read_stage, s, data_root, work) for s in plan.sources]
        later: list[StageStats] = []
        for config in plan.configs:
            sources = [s for s in plan.sources if s.builder == config]
            later.append(runner(f"build-{config}", build_stage, config, sources, context, work))
            later.append(runner(f"normalize-{config}", normalize_stage, config, sources, work))
            later.append(runner(f"filter-{config}", filter_stage, config, settings, work))
        later.extend(runner("dedup", dedup_stage, plan.configs, work))
        later.extend(runner(f"split-{c}", split_stage, c, settings, work) for c in plan.configs)
        return runner(
            "release", write_release,
            work=work, destination=destination, version=version, name=name, configs=plan.configs,
            sources=plan.sources, all_sources=plan.all_sources, data_root=data_root, settings=settings,
            read_stats=read_stats, later_stats=later, skipped=plan.skipped,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
