"""Benchmark coig's shared stages on a corpus made by ../shared/bench/make_corpus.py and score the
result with ../shared/bench/score.py.

    .venv/bin/python bench/run_shared_stages.py --corpus /tmp/corpus100k [--work DIR]
        [--score PATH] [--profile STAGE]

The stages run one after another, each through coig.ledger.run_stage (so the ledger checks run),
file to file in a work folder (<work>/<stage>/records.jsonl and rejects.jsonl), chained as
coig.pipeline chains them (counted(read_jsonl(previous)) -> stage -> run_stage):

  read       coig.readers.read_source: the `jsonl` reader over records.jsonl
  build      this script: each raw record becomes a record dict, or a Reject `missing_field` /
             `field_not_string` (coig has no builder for already-made instruction records yet)
  normalize  coig.normalize.normalize_records
  filter     coig.filters.apply_filters with default_filters(BuildSettings().lengths)
  dedup      coig.dedup.ExactDedup (exact duplicates only)

Decontamination and near-duplicate detection are not built: score.py's `contam_removed` and
near-duplicate figures show their absence.

Prints one JSON line: records in, wall seconds and records/s per stage and overall, the same per
CPU second of this process (steadier when other work shares the machine), peak RSS after each
stage, the load average, reject counts by stage and reason, and score.py's output. The work folder
keeps every stage's files, plus kept.txt and rejected.jsonl (score.py's inputs); without --work a
temporary folder is used and removed.

--profile STAGE runs that stage under cProfile and prints its top costs to stderr (the profiler
slows that stage down, so its figures in the JSON line are not comparable).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson

from coig.dedup import ExactDedup
from coig.filters import apply_filters, default_filters
from coig.ledger import StageStats, counted, read_jsonl, run_stage
from coig.normalize import normalize_records
from coig.readers import read_source
from coig.records import RawRecord, Reject, make_id, raw_json
from coig.settings import BuildSettings
from coig.sources import Source, SourceFile

REPO = Path(__file__).resolve().parent.parent
CONFIG = "bench_imported"
TEXT_FIELDS = ("instruction", "input", "output")
STAGES = ("read", "build", "normalize", "filter", "dedup")
MEASURED = ("readers/jsonl.py", "normalize.py", "filters.py", "dedup.py", "ledger.py")


def code_versions() -> dict[str, str]:
    """sha256 prefix of each coig module measured, so figures can be tied to the code they timed."""
    return {name: hashlib.sha256((REPO / "coig" / name).read_bytes()).hexdigest()[:12] for name in MEASURED}


def corpus_source() -> Source:
    # Never verified: the benchmark reads the corpus where it is.
    return Source(
        name="bench_corpus",
        builder=None,
        reader="jsonl",
        options={"id_field": "id"},
        license="other",
        homepage="https://example.invalid/bench",
        files=[SourceFile(path="records.jsonl", url=None, sha256="0" * 64)],
    )


def to_record(raw: RawRecord, source: Source) -> dict | Reject:
    """A raw corpus item as a record dict; `input` may be absent (taken as "")."""
    data = raw.data
    fields = {}
    for name in TEXT_FIELDS:
        value = data.get(name, "" if name == "input" else None)
        if value is None:
            problem = ("missing_field", f"field {name!r} is missing or null")
        elif not isinstance(value, str):
            problem = ("field_not_string", f"field {name!r} is a JSON {type(value).__name__}, expected a string")
        else:
            fields[name] = value
            continue
        return Reject(
            source=raw.source, locator=raw.locator, reason=problem[0], stage="build",
            raw=raw_json(data), detail=problem[1], config=CONFIG,
        )
    key = raw.source_id or raw.locator
    return {
        "id": make_id(CONFIG, source.name, key),
        **fields,
        "source": raw.source,
        "source_id": raw.source_id,
        "locator": raw.locator,
        "license": source.license,
    }


def transform(stage: str, previous: str, work: Path, process: Callable[[Iterable[dict]], Iterator]) -> StageStats:
    seen: Counter = Counter()
    records = counted(read_jsonl(work / previous / "records.jsonl"), seen)
    return run_stage(stage, CONFIG, process(records), work / stage / "records.jsonl", work / stage / "rejects.jsonl", seen=seen)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def line_of(locator: str) -> int:
    return int(locator.rsplit(":", 1)[1])


def write_outcome(work: Path) -> tuple[int, Counter]:
    """kept.txt (source ids) and rejected.jsonl ({id, line, reason}) for score.py."""
    kept = 0
    with open(work / "kept.txt", "w", encoding="utf-8") as out:
        for record in read_jsonl(work / "dedup" / "records.jsonl"):
            out.write(record["source_id"] + "\n")
            kept += 1
    reasons: Counter = Counter()
    with open(work / "rejected.jsonl", "wb") as out:
        for path in sorted(work.glob("*/rejects.jsonl")):
            for reject in read_jsonl(path):
                reasons[f"{reject['stage']}:{reject['reason']}"] += 1
                out.write(orjson.dumps({"id": None, "line": line_of(reject["locator"]), "reason": reject["reason"]}) + b"\n")
    return kept, reasons


def run_score(score: Path, corpus: Path, work: Path) -> dict:
    done = subprocess.run(
        [sys.executable, str(score), "--truth", str(corpus / "truth.jsonl"),
         "--kept", str(work / "kept.txt"), "--rejected", str(work / "rejected.jsonl")],
        capture_output=True, text=True,
    )
    if not done.stdout.strip():
        raise SystemExit(f"{score} printed nothing (exit {done.returncode}): {done.stderr}")
    result = json.loads(done.stdout)
    result["exit_code"] = done.returncode
    return result


def run(corpus: Path, work: Path, score: Path, profile: str | None) -> dict:
    source = corpus_source()
    settings = BuildSettings()
    # Other work on the machine slows every stage: the load average goes with the figures.
    figures: dict = {"corpus": str(corpus), "code": code_versions(), "cpus": os.cpu_count(), "stages": {}}
    figures["load_before"] = [round(x, 2) for x in os.getloadavg()]

    filters = default_filters(settings.lengths)
    dedup = ExactDedup()
    calls = {
        "read": lambda: run_stage(
            "read", source.name, read_source(source, corpus), work / "read" / "records.jsonl", work / "read" / "rejects.jsonl"
        ),
        "build": lambda: transform("build", "read", work, lambda raws: (to_record(RawRecord(**raw), source) for raw in raws)),
        "normalize": lambda: transform(
            "normalize", "build", work, lambda records: normalize_records(records, {source.name: source.traditional_to_simplified})
        ),
        "filter": lambda: transform("filter", "normalize", work, lambda records: apply_filters(records, filters, CONFIG)),
        "dedup": lambda: transform("dedup", "filter", work, lambda records: dedup(records, CONFIG)),
    }
    total = total_cpu = 0.0
    for stage in STAGES:
        profiler = cProfile.Profile() if stage == profile else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        stats = calls[stage]()
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        total += seconds
        total_cpu += cpu
        records_in = sum(stats.seen.values())
        figures["stages"][stage] = {
            "in": records_in,
            "kept": sum(stats.kept.values()),
            "rejected": sum(stats.rejected.values()),
            "seconds": round(seconds, 2),
            "records_per_s": round(records_in / seconds) if seconds else None,
            "cpu_seconds": round(cpu, 2),
            "records_per_cpu_s": round(records_in / cpu) if cpu else None,
            "peak_rss_mb": peak_rss_mb(),
        }
        if profiler:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
            print(f"--- cProfile of stage {stage}, by own time ---\n{text.getvalue()}", file=sys.stderr)
            figures["profiled"] = stage

    lines = sum(1 for _ in open(corpus / "records.jsonl", "rb"))
    kept, reasons = write_outcome(work)
    figures["overall"] = {
        "lines": lines,
        "kept": kept,
        "seconds": round(total, 2),
        "records_per_s": round(lines / total),
        "cpu_seconds": round(total_cpu, 2),
        "records_per_cpu_s": round(lines / total_cpu),
        "peak_rss_mb": peak_rss_mb(),
    }
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["rejects"] = dict(sorted(reasons.items()))
    figures["score"] = run_score(score, corpus, work)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="folder made by make_corpus.py")
    ap.add_argument("--work", type=Path, help="work folder to keep (default: a temporary one, removed)")
    ap.add_argument("--score", type=Path, default=REPO / ".." / "shared" / "bench" / "score.py", help="score.py to run")
    ap.add_argument("--profile", choices=STAGES, help="run this stage under cProfile, top costs to stderr")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="coig-bench-"))
    if args.work and args.work.exists() and any(args.work.iterdir()):
        raise SystemExit(f"{args.work} is not empty: give an empty or new work folder")
    work.mkdir(parents=True, exist_ok=True)
    try:
        figures = run(args.corpus.resolve(), work.resolve(), args.score.resolve(), args.profile)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
