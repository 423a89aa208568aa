"""Write a release's records in the file formats fine-tuning tools read: Alpaca JSON, BELLE
JSON Lines, OpenAI chat messages, and LLaMA-Factory (Alpaca and messages files registered in a
dataset_info.json). One file per config and split; the Parquet shards are streamed in batches and
each file is written beside its destination and renamed into place, so no half file is left."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from coig.errors import CoigError
from coig.split import SPLITS

BATCH_ROWS = 5_000
COLUMNS = ["id", "instruction", "input", "output"]
DATASET_INFO = "dataset_info.json"


def prompt_of(instruction: str, input: str) -> str:
    """The user turn: the instruction, then the input on a new line (LLaMA-Factory's and BELLE's join)."""
    return f"{instruction}\n{input}" if input else instruction


@dataclass(frozen=True)
class FileFormat:
    suffix: str
    opening: bytes
    separator: bytes
    closing: bytes
    row: Callable[[str, str, str, str], dict]


_JSON_ARRAY = dict(opening=b"[\n", separator=b",\n", closing=b"\n]\n")
_JSON_LINES = dict(opening=b"", separator=b"\n", closing=b"\n")

# The extra `id` in the Alpaca and BELLE rows is ignored by the tools that read them (Alpaca's
# train.py, LLaMA-Factory, `datasets`); OpenAI documents no key beside `messages`, so none is added.
FILE_FORMATS = {
    "alpaca": FileFormat("alpaca.json", **_JSON_ARRAY, row=lambda id, instruction, input, output: {
        "instruction": instruction, "input": input, "output": output, "id": id}),
    "belle": FileFormat("belle.jsonl", **_JSON_LINES, row=lambda id, instruction, input, output: {
        "input": prompt_of(instruction, input), "target": output, "id": id}),
    "messages": FileFormat("messages.jsonl", **_JSON_LINES, row=lambda id, instruction, input, output: {
        "messages": [{"role": "user", "content": prompt_of(instruction, input)}, {"role": "assistant", "content": output}]}),
}
FORMATS = {"alpaca": ["alpaca"], "belle": ["belle"], "messages": ["messages"], "llama_factory": ["alpaca", "messages"]}

# LLaMA-Factory data/README.md: the `columns` and `tags` of the Alpaca and OpenAI examples.
LLAMA_FACTORY_ENTRY = {
    "alpaca": {"formatting": "alpaca", "columns": {"prompt": "instruction", "query": "input", "response": "output"}},
    "messages": {
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant", "system_tag": "system"},
    },
}


def export(release: Path, out: Path, fmt: str, configs: list[str] | None = None, splits: list[str] | None = None) -> list[Path]:
    """Write `release` in format `fmt` under `out` as CONFIG/SPLIT.SUFFIX; return the files written.

    Splits with no records get no file: every tool here refuses an empty training file.
    """
    if fmt not in FORMATS:
        raise CoigError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    manifest = read_manifest(release)
    configs = _chosen(configs, list(manifest["configs"]), "config", release)
    splits = _chosen(splits, list(SPLITS), "split", release)
    written: list[Path] = []
    registered: dict[str, dict] = {}
    for config in configs:
        for split in splits:
            shards = sorted(p for p in manifest["files"] if p.startswith(f"{config}/{split}-"))
            rows = sum(manifest["files"][p]["rows"] for p in shards)
            if rows == 0:
                continue
            for kind in FORMATS[fmt]:
                path = out / config / f"{split}.{FILE_FORMATS[kind].suffix}"
                _write_rows(path, FILE_FORMATS[kind], [release / p for p in shards], rows)
                written.append(path)
                if fmt == "llama_factory":
                    suffix = "" if kind == "alpaca" else f"_{kind}"
                    registered[f"{manifest['name']}_{config}_{split}{suffix}"] = {
                        "file_name": path.relative_to(out).as_posix(), **LLAMA_FACTORY_ENTRY[kind]}
    if fmt == "llama_factory":
        written.append(_write_dataset_info(out / DATASET_INFO, registered))
    return written


def read_manifest(release: Path) -> dict:
    path = release / "manifest.json"
    hint = "pass the folder `coig build` wrote, e.g. releases/coig-0.1.0"
    if not path.is_file():
        raise CoigError(f"{release} is not a coig release: it has no manifest.json; {hint}")
    try:
        manifest = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise CoigError(f"{path} is not valid JSON ({exc}); rebuild the release with `coig build --force`") from None
    missing = [key for key in ("name", "configs", "files") if key not in manifest]
    if missing:
        raise CoigError(f"{path} lacks {', '.join(missing)}: not a coig release manifest; {hint}")
    return manifest


def _chosen(wanted: list[str] | None, available: list[str], what: str, release: Path) -> list[str]:
    unknown = [name for name in wanted or [] if name not in available]
    if unknown:
        raise CoigError(f"{release} has no {what} {', '.join(map(repr, unknown))}; it has: {', '.join(available)}")
    return [name for name in available if name in wanted] if wanted else available


def _write_rows(path: Path, spec: FileFormat, shards: list[Path], expected: int) -> None:
    import pyarrow.parquet as pq  # here, not at the top: the command line imports FORMATS for every command

    rows = 0

    def write(file) -> None:
        nonlocal rows
        file.write(spec.opening)
        separator = b""
        for shard in shards:
            if not shard.is_file():
                raise CoigError(f"{shard} is listed in manifest.json but missing: the release is incomplete; rebuild it")
            for batch in pq.ParquetFile(shard).iter_batches(batch_size=BATCH_ROWS, columns=COLUMNS):
                chunk = []
                for values in zip(*(column.to_pylist() for column in batch.columns)):
                    chunk += (separator, orjson.dumps(spec.row(*values)))
                    separator = spec.separator
                file.write(b"".join(chunk))
                rows += batch.num_rows
        file.write(spec.closing)
        if rows != expected:
            raise CoigError(f"{path.parent.name}: the shards hold {rows} rows but manifest.json says {expected}; rebuild the release")

    _atomic_write(path, write)


def _write_dataset_info(path: Path, entries: dict[str, dict]) -> Path:
    """Add our entries to the folder's dataset_info.json, keeping the ones already there, so the
    export can go straight into LLaMA-Factory's own data/ folder."""
    info = {}
    if path.is_file():
        try:
            info = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise CoigError(f"{path} exists but is not valid JSON ({exc}); fix or remove it") from None
    info.update(entries)
    text = orjson.dumps(info, option=orjson.OPT_INDENT_2) + b"\n"
    _atomic_write(path, lambda file: file.write(text))
    return path


def _atomic_write(path: Path, write: Callable) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with open(partial, "wb") as file:
            write(file)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
