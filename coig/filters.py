"""Filters shared by every config: each owns one rule and names the reason it rejects for.

A filter's `check(record)` returns None to keep the record, or a reason. The stage that applies
them (`apply_filters`) owns the rejects; a new filter is a few lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from coig.records import Reject, raw_json
from coig.settings import LengthBounds


class Filter:
    def check(self, record: dict) -> str | None:
        raise NotImplementedError


class NotEmpty(Filter):
    """The instruction and the output carry text."""

    def check(self, record: dict) -> str | None:
        if not record["instruction"].strip():
            return "empty_instruction"
        if not record["output"].strip():
            return "empty_output"
        return None


class WithinLengths(Filter):
    """Every field is within its length bounds, in characters."""

    def __init__(self, bounds: LengthBounds):
        self.bounds = bounds

    def check(self, record: dict) -> str | None:
        b = self.bounds
        instruction, output = len(record["instruction"]), len(record["output"])
        if instruction < b.min_instruction_chars:
            return "instruction_too_short"
        if instruction > b.max_instruction_chars:
            return "instruction_too_long"
        if len(record["input"]) > b.max_input_chars:
            return "input_too_long"
        if output < b.min_output_chars:
            return "output_too_short"
        if output > b.max_output_chars:
            return "output_too_long"
        return None


def default_filters(bounds: LengthBounds) -> list[Filter]:
    return [NotEmpty(), WithinLengths(bounds)]


def apply_filters(records: Iterable[dict], filters: list[Filter], config: str) -> Iterator[dict | Reject]:
    """Each record once: kept as it is, or a Reject naming the first rule it breaks."""
    for record in records:
        for rule in filters:
            reason = rule.check(record)
            if reason:
                yield Reject(
                    source=record["source"],
                    locator=record["locator"],
                    reason=reason,
                    stage="filter",
                    raw=raw_json(record),
                    detail=f"{type(rule).__name__} rejected record {record['id']}",
                    config=config,
                )
                break
        else:
            yield record
