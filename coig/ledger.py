"""The ledger: every input record leaves a stage exactly once, kept or rejected with a reason.

`run_stage` streams items through one stage, writes what it keeps to a JSONL file and what it
rejects to the stage's rejects file, counts both per source, and fails loudly if the counts do
not add up. `verify_ledger` checks the whole build: for every source, records read equal records
released plus records rejected.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from pydantic import BaseModel

from coig.errors import LedgerError
from coig.records import RawRecord, Reject

log = logging.getLogger("coig")
PROGRESS_EVERY = 20_000


def read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, "rb") as handle:
        for line in handle:
            yield orjson.loads(line)


@dataclass
class StageStats:
    stage: str
    name: str
    seen: Counter = field(default_factory=Counter)  # items in, per source
    kept: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)  # (source, reason) -> count
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "name": self.name,
            "seen": dict(self.seen),
            "kept": dict(self.kept),
            "rejected": dict(self.rejected),
            "reasons": [[s, r, n] for (s, r), n in sorted(self.reasons.items())],
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, data: dict) -> StageStats:
        return cls(
            stage=data["stage"],
            name=data["name"],
            seen=Counter(data["seen"]),
            kept=Counter(data["kept"]),
            rejected=Counter(data["rejected"]),
            reasons=Counter({(s, r): n for s, r, n in data["reasons"]}),
            seconds=data["seconds"],
        )


def _as_json(item: dict | RawRecord | BaseModel) -> bytes:
    if isinstance(item, BaseModel):
        return orjson.dumps(item.model_dump(mode="json"))
    if isinstance(item, RawRecord):
        return orjson.dumps(
            {"source": item.source, "locator": item.locator, "source_id": item.source_id, "data": item.data}
        )
    return orjson.dumps(item)


def run_stage(
    stage: str,
    name: str,
    items: Iterable[dict | RawRecord | BaseModel | Reject],
    out_path: Path,
    rejects_path: Path,
    seen: Counter | None = None,
) -> StageStats:
    """Stream a stage's outcomes: kept items to out_path, rejects to rejects_path, all counted.

    `seen` counts the stage's input per source (fill it with `counted`); for a reader, whose
    outcomes are its input, leave it None. The counts must balance, or LedgerError.
    """
    stats = StageStats(stage, name)
    started = time.perf_counter()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "wb") as out, open(rejects_path, "wb") as rejects:
        for number, item in enumerate(items, 1):
            if isinstance(item, Reject):
                stats.rejected[item.source] += 1
                stats.reasons[(item.source, item.reason)] += 1
                rejects.write(orjson.dumps(item.to_dict()) + b"\n")
            else:
                stats.kept[item["source"] if isinstance(item, dict) else item.source] += 1
                out.write(_as_json(item) + b"\n")
            if number % PROGRESS_EVERY == 0:
                log.info("%s %s: %d records so far", stage, name, number)
    stats.seconds = time.perf_counter() - started
    stats.seen = (stats.kept + stats.rejected) if seen is None else seen
    _check(stats)
    return stats


def counted(items: Iterable[dict], seen: Counter) -> Iterator[dict]:
    """Pass items through, counting them per source into `seen`."""
    for item in items:
        seen[item["source"]] += 1
        yield item


def _check(stats: StageStats) -> None:
    """Every item that entered the stage left it once, kept or rejected."""
    for source in set(stats.seen) | set(stats.kept) | set(stats.rejected):
        seen, kept, rejected = stats.seen[source], stats.kept[source], stats.rejected[source]
        if seen != kept + rejected:
            raise LedgerError(
                f"stage {stats.stage} ({stats.name}), source {source}: {seen} records in but "
                f"{kept} kept + {rejected} rejected = {kept + rejected}; records were lost or duplicated"
            )
    log.info(
        "%-9s %-36s in %6d  kept %6d  rejected %6d  (%.2f s)",
        stats.stage,
        stats.name,
        sum(stats.seen.values()),
        sum(stats.kept.values()),
        sum(stats.rejected.values()),
        stats.seconds,
    )


def verify_ledger(read_stats: list[StageStats], later_stats: list[StageStats], released: Counter) -> None:
    """For every source: read = released + rejected at any stage."""
    read = sum((s.seen for s in read_stats), Counter())
    rejected = sum((s.rejected for s in read_stats + later_stats), Counter())
    problems = [
        f"{source}: {read[source]} read, {released[source]} released + {rejected[source]} rejected"
        for source in sorted(set(read) | set(released) | set(rejected))
        if read[source] != released[source] + rejected[source]
    ]
    if problems:
        raise LedgerError("the ledger does not balance: " + "; ".join(problems))
