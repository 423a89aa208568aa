"""Readers turn one source's files into raw records, each with a locator.

A reader is `read(path, rel_path, source) -> Iterator[RawRecord | Reject]`: `path` is the file on
disk, `rel_path` its path below the data root (used in locators). A line or item that cannot be
parsed is yielded as a Reject (stage "read") and reading goes on; a file that cannot be read at
all (wrong encoding, not the format) raises SourceError naming the file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from coig.errors import SourceError
from coig.records import RawRecord, Reject
from coig.sources import Source

Reader = Callable[[Path, str, Source], Iterator[RawRecord | Reject]]

READERS: dict[str, str] = {
    "gaokao_json": "coig.readers.gaokao:read",
    "leetcode_readme": "coig.readers.leetcode:read",
    "jsonl": "coig.readers.jsonl:read",
    "json_array": "coig.readers.jsonl:read_array",
    "csv": "coig.readers.csv_rows:read",
    "sni_task": "coig.readers.sni:read",
}


def get_reader(source: Source) -> Reader:
    target = READERS.get(source.reader)
    if target is None:
        raise SourceError(
            f"{source.manifest_path or source.name}: unknown reader {source.reader!r}; "
            f"known readers: {', '.join(sorted(READERS))}"
        )
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def read_source(source: Source, data_root: Path) -> Iterator[RawRecord | Reject]:
    """Every raw record and read reject of a source, file by file in manifest order."""
    reader = get_reader(source)
    for entry in source.files:
        yield from reader(data_root / entry.path, entry.path, source)


def load_json(path: Path, expected: str) -> Any:
    """A whole JSON file, or a SourceError naming it and what it should have been."""
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise SourceError(
            f"{path}: not valid UTF-8 JSON ({exc}); expected {expected}: re-download it with `coig sources fetch`"
        ) from None
