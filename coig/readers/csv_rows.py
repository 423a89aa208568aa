"""CSV files with a header row, parsed by the standard library's `csv` module (quoted fields may
span lines).

Options:
- `encoding` (default utf-8; JADE ships GB18030): the whole file must decode in it.
- `id_field`: the column holding the row's own id.
- `drop_columns`: columns never carried into a record or a reject (JADE's unsafe answers).

Locators count rows as a spreadsheet does: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from coig.errors import SourceError
from coig.records import RawRecord, Reject, raw_json
from coig.sources import Source

# Tried in order to suggest an `encoding:` when the declared one fails.
LIKELY_ENCODINGS = ("utf-8", "gb18030", "big5", "utf-16")


def read(path: Path, rel_path: str, source: Source) -> Iterator[RawRecord | Reject]:
    text = _decode(path, source)
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if not header:
        raise SourceError(f"{path}: empty CSV file; expected a header row")
    drop = set(source.options.get("drop_columns") or ())
    id_field = source.options.get("id_field")
    missing = [name for name in [*sorted(drop), id_field] if name and name not in header]
    if missing:
        raise SourceError(
            f"{path}: column(s) {', '.join(missing)} named in the manifest options are not in the header "
            f"{header}; fix `id_field`/`drop_columns` or the `encoding:` option"
        )
    keep = [(position, name) for position, name in enumerate(header) if name not in drop]
    id_position = header.index(id_field) if id_field else None

    for number, row in enumerate(_rows(rows, path), start=2):
        if not row:
            continue
        locator = f"{rel_path}:{number}"
        if len(row) != len(header):
            yield Reject(
                source=source.name,
                locator=locator,
                reason="malformed_row",
                stage="read",
                # With the wrong number of fields a dropped column cannot be told apart: keep no text then.
                raw="" if drop else raw_json(row),
                detail=f"{len(row)} fields, the header has {len(header)}"
                + ("; text withheld because the source drops columns" if drop else ""),
            )
            continue
        data = {name: row[position] for position, name in keep}
        yield RawRecord(
            source=source.name, locator=locator, source_id="" if id_position is None else row[id_position], data=data
        )


def _rows(rows: Any, path: Path) -> Iterator[list[str]]:
    try:
        yield from rows
    except csv.Error as exc:
        raise SourceError(f"{path}: not a readable CSV file near line {rows.line_num}: {exc}") from None


def _decode(path: Path, source: Source) -> str:
    declared = source.options.get("encoding", "utf-8")
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        raise SourceError(
            f"{source.manifest_path or source.name}: unknown encoding {declared!r} in `encoding:`"
        ) from None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        # utf-8-sig also drops a byte-order mark, which would otherwise stick to the first column name.
        return data.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        hint = next((e for e in LIKELY_ENCODINGS if codecs.lookup(e).name != codec and _decodes(data, e)), None)
        suggestion = (
            f"set `encoding: {hint}` in the manifest options" if hint else "set its real encoding as `encoding:`"
        )
        raise SourceError(
            f"{path}: does not decode as {declared} (invalid byte at offset {exc.start}); {suggestion}"
        ) from None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
