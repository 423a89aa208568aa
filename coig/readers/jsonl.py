"""JSON files of records: JSON Lines (`jsonl`, one object a line) and one JSON array of objects
(`json_array`, alpaca_data style).

Option `id_field`: the key whose value is the record's own id (e.g. `id`, `id_`).
JSON is UTF-8 by definition. A line that does not decode is an `invalid_utf8` reject, unless most
non-ASCII lines of the file fail, which means the file is in another encoding: a SourceError
naming the file. A line that decodes but is not a JSON object becomes a `malformed_json` reject.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from coig.errors import SourceError
from coig.readers import load_json
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
    undecodable: list[tuple[int, int]] = []  # (line, byte offset) of lines that are not UTF-8
    decoded_non_ascii = 0
    with handle:
        offset = 0
        for number, line in enumerate(handle, start=1):
            locator = f"{rel_path}:{number}"
            try:
                text = line.decode("utf-8")
                decoded_non_ascii += not line.isascii()
            except UnicodeDecodeError as exc:
                undecodable.append((number, offset + exc.start))
                detail = f"not UTF-8 (byte offset {offset + exc.start})"
                yield Reject(source.name, locator, "invalid_utf8", "read", line.decode("utf-8", "replace"), detail)
                offset += len(line)
                continue
            offset += len(line)
            if not text.strip():
                continue
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
    # A corrupted line is a reject; a file whose non-ASCII lines mostly fail is in another encoding.
    if undecodable and len(undecodable) >= decoded_non_ascii:
        line, byte = undecodable[0]
        raise SourceError(
            f"{path}: not UTF-8: {len(undecodable)} line(s) do not decode, the first is line {line} (byte offset "
            f"{byte}); JSON Lines files must be UTF-8: re-encode the file or re-download it with `coig sources fetch`"
        )


def read_array(path: Path, rel_path: str, source: Source) -> Iterator[RawRecord | Reject]:
    document = load_json(path, "a JSON array of objects")
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
