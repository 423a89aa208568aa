"""Exact deduplication on normalized text, across every config of a build.

The first record met keeps its place; a later record with the same instruction, input and output
(whitespace and case aside) becomes a `duplicate` reject that names the record it repeats.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from coig.records import Reject, raw_json


def text_key(record: dict) -> bytes:
    text = "\x1f".join(" ".join(record[name].split()).casefold() for name in ("instruction", "input", "output"))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class ExactDedup:
    """Remembers 16 bytes per distinct record, so it serves across configs and shards."""

    def __init__(self) -> None:
        self.seen: dict[bytes, str] = {}

    def remember(self, records: Iterable[dict]) -> None:
        """Take records that come before the ones to deduplicate (e.g. earlier configs)."""
        for record in records:
            self.seen.setdefault(text_key(record), record["id"])

    def __call__(self, records: Iterable[dict], config: str) -> Iterator[dict | Reject]:
        for record in records:
            key = text_key(record)
            first = self.seen.setdefault(key, record["id"])
            if first == record["id"]:
                yield record
            else:
                yield Reject(
                    source=record["source"],
                    locator=record["locator"],
                    reason="duplicate",
                    stage="dedup",
                    raw=raw_json(record),
                    detail=f"same text as record {first}",
                    config=config,
                )
