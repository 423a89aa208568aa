"""GAOKAO-Bench question files: `{"keywords": ..., "example": [{...}, ...]}`, one record per example.

Whether a file holds objective (option letters) or subjective (free text) questions is told by
its folder upstream: Data/Objective_Questions or Data/Subjective_Questions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from coig.errors import SourceError
from coig.readers import load_json
from coig.records import RawRecord, Reject, raw_json
from coig.sources import Source

KINDS = {"objective_questions": "objective", "subjective_questions": "subjective"}
JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def read(path: Path, rel_path: str, source: Source) -> Iterator[RawRecord | Reject]:
    kind = KINDS.get(path.parent.name.lower())
    if kind is None:
        raise SourceError(
            f"{path}: GAOKAO-Bench files must sit in a folder named Objective_Questions or "
            f"Subjective_Questions (as upstream's Data/ folder has them), not {path.parent.name!r}"
        )
    document = load_json(path, "a GAOKAO-Bench file")
    if not isinstance(document, dict) or not isinstance(document.get("example"), list):
        raise SourceError(
            f"{path}: not a GAOKAO-Bench file: expected a JSON object with an \"example\" list "
            '(`{"keywords": ..., "example": [...]}`)'
        )
    keywords = document.get("keywords")
    if not isinstance(keywords, str) or not keywords.strip():
        keywords = path.stem

    for position, example in enumerate(document["example"]):
        locator = f"{rel_path}#example[{position}]"
        if not isinstance(example, dict):
            yield Reject(
                source=source.name,
                locator=locator,
                reason="malformed_item",
                stage="read",
                raw=raw_json(example),
                detail=f"example is a JSON {JSON_TYPES.get(type(example), 'null')}, expected an object",
            )
            continue
        index = example.get("index")
        source_id = f"{keywords}#{index}" if index is not None else ""
        yield RawRecord(
            source=source.name,
            locator=locator,
            source_id=source_id,
            data={**example, "keywords": keywords, "kind": kind},
        )
