"""The build, stage by stage: read, build, normalize, filter, dedup, split, release.

Each stage streams records from the previous stage's JSONL file to its own, so a stage can run
alone (as a Prefect task), memory stays bounded, and its counts are checked. A stage's output lives
in a folder named by a key of everything it depends on (its inputs' keys, its code, its
settings, the source checksums): when that folder is already complete in the stage cache, the
stage is not run again. So a rebuild with nothing changed does almost no work, and a rebuild after
one source changed reruns only the stages that depend on it.

`build_release` runs the stages in order through a `runner`: the command line calls the stage
functions directly; the Prefect flow passes a runner that makes each call a task.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from coig.builders import BUILDERS, BuildContext, get_builder
from coig.dedup import ExactDedup
from coig.errors import CoigError, SourceError
from coig.filters import apply_filters, default_filters
from coig.ledger import StageStats, counted, read_jsonl, run_stage
from coig.normalize import normalize_records
from coig.readers import READERS, get_reader, read_source
from coig.records import CONFIGS, RawRecord
from coig.release import copy_release, write_release
from coig.settings import BuildSettings
from coig.sources import Source, is_present, verify
from coig.split import split_of

log = logging.getLogger("coig")

Runner = Callable[..., object]


def run_directly(stage: str, function: Callable, /, *args, **kwargs):
    return function(*args, **kwargs)


CACHE_DIR_ENV = "COIG_CACHE_DIR"


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """--cache-dir, else $COIG_CACHE_DIR, else a per-user cache folder."""
    chosen = cache_dir or os.environ.get(CACHE_DIR_ENV) or Path(platformdirs.user_cache_dir("coig")) / "stages"
    return Path(chosen).expanduser().resolve()


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


@dataclass
class StageOutput:
    """A finished stage: its key, its folder (records.jsonl, rejects.jsonl, stats.json), its counts."""

    key: str
    folder: Path
    stats: StageStats
    cached: bool = False

    @property
    def records(self) -> Path:
        return self.folder / "records.jsonl"

    @property
    def rejects(self) -> Path:
        return self.folder / "rejects.jsonl"


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
        reference = _reference(source)
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


def _reference(source: Source) -> str | None:
    return source.translation.reference if source.translation else None


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _code(*modules: str) -> list[str]:
    """The sha256 of each module's source file: a stage's key changes when its code does."""
    digests = []
    for name in ("coig.records", "coig.ledger", *modules):
        path = Path(importlib.import_module(name).__file__)
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return digests


def _manifest_key(source: Source) -> dict:
    return source.model_dump(mode="json", exclude={"description", "homepage", "citation", "license_note"})


def _run_cached(work: Path, stage: str, name: str, key: str, produce: Callable[[Path, Path], StageStats]) -> StageOutput:
    """Reuse the stage's folder when complete; otherwise produce it beside, then rename it in."""
    folder = work / stage / f"{name}-{key[:24]}"
    if (folder / "stats.json").is_file():
        stats = StageStats.from_dict(json.loads((folder / "stats.json").read_text()))
        log.info("%-9s %-36s cached", stage, name)
        return StageOutput(key, folder, stats, cached=True)
    partial = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        stats = produce(partial / "records.jsonl", partial / "rejects.jsonl")
        (partial / "stats.json").write_text(json.dumps(stats.to_dict(), ensure_ascii=False))
        try:
            partial.rename(folder)
        except OSError:  # another build finished the same stage first; its output is the same
            shutil.rmtree(partial, ignore_errors=True)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return StageOutput(key, folder, stats)


def _transform(
    stage: str, config: str, key: str, work: Path, previous: StageOutput, process: Callable[[Iterable[dict]], Iterator]
) -> StageOutput:
    """One shared stage over a config's records from the previous stage's output."""

    def produce(records_path: Path, rejects_path: Path) -> StageStats:
        seen: Counter = Counter()
        records = counted(read_jsonl(previous.records), seen)
        return run_stage(stage, config, process(records), records_path, rejects_path, seen=seen)

    return _run_cached(work, stage, config, key, produce)


def read_stage(source: Source, data_root: Path, work: Path) -> StageOutput:
    module = READERS[source.reader].split(":")[0]
    key = _key("read", _manifest_key(source), _code("coig.readers", module))

    def produce(records_path: Path, rejects_path: Path) -> StageStats:
        return run_stage("read", source.name, read_source(source, data_root), records_path, rejects_path)

    return _run_cached(work, "read", source.name, key, produce)


def build_stage(
    config: str, sources: list[Source], reads: list[StageOutput], context: BuildContext, work: Path
) -> StageOutput:
    references = [context.sources[r] for r in {_reference(s) for s in sources} - {None}]
    key = _key(
        "build", config, [r.key for r in reads], [_manifest_key(s) for s in sources + references],
        context.settings.translation.model_dump(), _code("coig.builders", "coig.translate", BUILDERS[config].split(":")[0]),
    )

    def produce(records_path: Path, rejects_path: Path) -> StageStats:
        seen: Counter = Counter()

        def outcomes():
            for source, read in zip(sources, reads):
                raws = counted(read_jsonl(read.records), seen)
                yield from get_builder(source)((RawRecord(**raw) for raw in raws), source, context)

        return run_stage("build", config, outcomes(), records_path, rejects_path, seen=seen)

    return _run_cached(work, "build", config, key, produce)


def normalize_stage(config: str, sources: list[Source], built: StageOutput, work: Path) -> StageOutput:
    simplified = {s.name: s.traditional_to_simplified for s in sources}
    key = _key("normalize", built.key, simplified, _code("coig.normalize"))
    return _transform("normalize", config, key, work, built, lambda records: normalize_records(records, simplified))


def filter_stage(config: str, settings: BuildSettings, normalized: StageOutput, work: Path) -> StageOutput:
    filters = default_filters(settings.lengths)
    key = _key("filter", normalized.key, settings.lengths.model_dump(), _code("coig.filters"))
    return _transform("filter", config, key, work, normalized, lambda records: apply_filters(records, filters, config))


def dedup_stage(config: str, filtered: StageOutput, earlier: list[StageOutput], work: Path) -> StageOutput:
    """Drop records whose text an earlier record has: in this config, or in a config before it.

    The configs' fixed order decides which copy wins, so each config's dedup depends only on its
    own records and those of the configs before it."""
    key = _key("dedup", filtered.key, [e.key for e in earlier], _code("coig.dedup"))

    def deduplicate(records: Iterable[dict]) -> Iterator:
        dedup = ExactDedup()
        for before in earlier:
            dedup.remember(read_jsonl(before.records))
        yield from dedup(records, config)

    return _transform("dedup", config, key, work, filtered, deduplicate)


def split_stage(config: str, settings: BuildSettings, deduped: StageOutput, work: Path) -> StageOutput:
    key = _key("split", deduped.key, settings.split.model_dump(), _code("coig.split"))

    def assign(records: Iterable[dict]) -> Iterator[dict]:
        for record in records:
            record["split"] = split_of(record["id"], settings.split)
            yield record

    return _transform("split", config, key, work, deduped, assign)


def release_stage(
    *,
    destination: Path,
    version: str,
    name: str,
    plan: BuildPlan,
    settings: BuildSettings,
    reads: list[StageOutput],
    later: list[StageOutput],
    splits: dict[str, StageOutput],
    work: Path | None,
) -> Path:
    """Write the release folder; with a stage cache, reuse a release written from the same inputs."""
    arguments = dict(
        version=version, name=name, split_files={c: o.records for c, o in splits.items()},
        sources=plan.sources, all_sources=plan.all_sources, settings=settings,
        read_stats=[o.stats for o in reads], later_stats=[o.stats for o in later],
        reject_files=[o.rejects for o in [*reads, *later]], skipped=plan.skipped,
    )
    if work is None:
        write_release(destination=destination, **arguments)
    else:
        key = _key(
            "release", name, version, [o.key for o in [*reads, *later]], settings.model_dump(), plan.skipped,
            [s.model_dump(mode="json") for s in plan.all_sources.values()],
            _code("coig.release", "coig.card", "coig.report"),
        )
        cached = work / "release" / f"{name}-{version}-{key[:24]}"
        if cached.is_dir():
            log.info("%-9s %-36s cached", "release", destination.name)
        else:
            write_release(destination=cached, **arguments)
        copy_release(cached, destination)
    log.info("release written to %s", destination)
    return destination


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
    cache_dir: Path | None = None,
    runner: Runner = run_directly,
) -> Path:
    """Run every stage and write the release folder; returns its path.

    With `cache_dir`, stage outputs are kept there and reused by later builds; without, they go
    to a temporary folder that is removed at the end."""
    settings = settings or BuildSettings()
    destination = output / f"{name}-{version}"
    if destination.exists() and not force:
        raise CoigError(f"{destination} already exists; pass --force to replace it")
    plan = runner("plan", plan_build, all_sources, data_root, configs, fetch)
    context = BuildContext(data_root=data_root, sources=plan.all_sources, settings=settings)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix=f".coig-work-{version}-", dir=output))
    try:
        reads = {s.name: runner(f"read-{s.name}", read_stage, s, data_root, work) for s in plan.sources}
        filtered, later = {}, []
        for config in plan.configs:
            sources = [s for s in plan.sources if s.builder == config]
            built = runner(f"build-{config}", build_stage, config, sources, [reads[s.name] for s in sources], context, work)
            normalized = runner(f"normalize-{config}", normalize_stage, config, sources, built, work)
            filtered[config] = runner(f"filter-{config}", filter_stage, config, settings, normalized, work)
            later += [built, normalized, filtered[config]]
        splits = {}
        for position, config in enumerate(plan.configs):
            earlier = [filtered[c] for c in plan.configs[:position]]
            deduped = runner(f"dedup-{config}", dedup_stage, config, filtered[config], earlier, work)
            splits[config] = runner(f"split-{config}", split_stage, config, settings, deduped, work)
            later += [deduped, splits[config]]
        return runner(
            "release", release_stage,
            destination=destination, version=version, name=name, plan=plan, settings=settings,
            reads=list(reads.values()), later=later, splits=splits, work=work if cache_dir else None,
        )
    finally:
        if not cache_dir:
            shutil.rmtree(work, ignore_errors=True)
