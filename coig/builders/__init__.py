"""Builders turn the raw records of one sub-task into typed instruction records.

A builder is `build(raws, source, context) -> Iterator[InstructionRecord | Reject]` and yields
exactly one outcome per raw record, in order: a record, or a Reject (stage "build") with a named
reason. The stage that runs it checks that count.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from coig.errors import SourceError
from coig.records import InstructionRecord, RawRecord, Reject, raw_json
from coig.settings import BuildSettings
from coig.sources import Source


@dataclass
class BuildContext:
    """What a builder may need beyond its own records."""

    data_root: Path
    sources: dict[str, Source]  # every known source by name, e.g. a translation reference
    settings: BuildSettings = field(default_factory=BuildSettings)


Builder = Callable[[Iterable[RawRecord], Source, BuildContext], Iterator[InstructionRecord | Reject]]

BUILDERS: dict[str, str] = {
    "exam_instructions": "coig.builders.exam:build",
    "leetcode_instructions": "coig.builders.leetcode:build",
    "translated_instructions": "coig.builders.translated:build",
    "human_value_alignment_instructions": "coig.builders.alignment:build",
}


def get_builder(source: Source) -> Builder:
    target = BUILDERS.get(source.builder or "")
    if target is None:
        raise SourceError(
            f"{source.manifest_path or source.name}: unknown builder {source.builder!r}; "
            f"known builders: {', '.join(BUILDERS)}"
        )
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def build_reject(raw: RawRecord, source: Source, config: str, reason: str, detail: str) -> Reject:
    """The Reject a builder yields for a raw record it cannot turn into a record."""
    return Reject(
        source=source.name, locator=raw.locator, reason=reason, stage="build", raw=raw_json(raw.data),
        detail=detail, config=config,
    )
