"""JSON files of records: JSON Lines (`jsonl`, one object a line) and one JSON array of objects
(`json_array`, alpaca_data style).

Option `id_field`: the key whose value is the record's own id (e.g. `id`, `id_`).
JSON is UTF-8 by definition: bytes that do not decode as UTF-8 stop the read with a SourceError,
while a line that decodes but is not a JSON object becomes a `malformed_json` reject.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from coig.errors import SourceError
from coig.records import RawRecord, Reject, raw_json
from coig.sources import Source


def _source_id(item: dict[str, Any], source: Source) -> str:
    id_field = source.options.get("id_field")
    value = item.get(id_field) if id_field else None
    return "" if value is None else str(value)


def read(path: Path, rel_path: str, source: Source) -> Iterator[RawRecord | Reject]:
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    with handle:
        offset = 0
        for number, line in enumerate(handle, start=1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path}: line {number} is not UTF-8 (byte offset {offset + exc.start}); "
                    "JSON Lines files must be UTF-8: re-encode the file or re-download it with `coig sources fetch`"
                ) from None
            offset += len(line)
            if not text.strip():
                continue
            locator = f"{rel_path}:{number}"
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield _malformed(source, locator, text.rstrip("\r\n"), f"not valid JSON: {exc}")
                continue
            if not isinstance(item, dict):
                detail = f"a JSON {type(item).__name__}, expected an object"
                yield _malformed(source, locator, text.rstrip("\r\n"), detail)
                continue
            yield RawRecord(source=source.name, locator=locator, source_id=_source_id(item, source), data=item)


def read_array(path: Path, rel_path: str, source: Source) -> Iterator[RawRecord | Reject]:
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{path}: not valid UTF-8 JSON ({exc}); expected a JSON array of objects") from None
    if not isinstance(document, list):
        raise SourceError(
            f"{path}: expected a JSON array of objects, found a JSON {type(document).__name__}; "
            "for one object a line use `reader: jsonl`"
        )
    for position, item in enumerate(document):
        locator = f"{rel_path}#[{position}]"
        if not isinstance(item, dict):
            yield _malformed(source, locator, raw_json(item), f"a JSON {type(item).__name__}, expected an object")
            continue
        yield RawRecord(source=source.name, locator=locator, source_id=_source_id(item, source), data=item)


def _malformed(source: Source, locator: str, raw: str, detail: str) -> Reject:
    return Reject(source=source.name, locator=locator, reason="malformed_json", stage="read", raw=raw, detail=detail)
