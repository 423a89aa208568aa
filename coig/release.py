"""Write a release folder: Parquet per config and split, the dataset card with its plots,
manifest.json and rejects.parquet. Everything is written into a hidden temporary folder beside the destination and
renamed into place at the end, so a failed or interrupted build never leaves a half release."""

from __future__ import annotations

import logging
import os
import shutil
import types
import typing
from collections import Counter
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError

from coig.card import render_card
from coig.errors import LedgerError
from coig.ledger import StageStats, read_jsonl, verify_ledger
from coig.records import RECORD_MODELS
from coig.report import write_plots
from coig.settings import BuildSettings
from coig.sources import Source
from coig.split import SPLITS

log = logging.getLogger("coig")
BATCH_ROWS = 5_000
REJECTS_FILE = "rejects.parquet"
REJECT_COLUMNS = ("source", "locator", "config", "stage", "reason", "detail", "raw")
REJECTS_SCHEMA = pa.schema([pa.field(name, pa.string(), nullable=False) for name in REJECT_COLUMNS])
_ARROW_TYPES = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def arrow_type(annotation) -> pa.DataType:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return arrow_schema(annotation)
    origin = typing.get_origin(annotation)
    if origin is list:
        return pa.list_(arrow_type(typing.get_args(annotation)[0]))
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"{annotation}: a released field has one type, not a union")
    return _ARROW_TYPES[annotation]


def arrow_schema(model: type[BaseModel]) -> pa.StructType | pa.Schema:
    fields = [pa.field(name, arrow_type(info.annotation), nullable=False) for name, info in model.model_fields.items()]
    return pa.schema(fields) if model in RECORD_MODELS.values() else pa.struct(fields)


class _ShardWriter:
    """Writes one config's split into shards of at most rows_per_shard rows."""

    def __init__(self, folder: Path, split: str, schema: pa.Schema, rows_per_shard: int):
        self.folder, self.split, self.schema, self.rows_per_shard = folder, split, schema, rows_per_shard
        self.shards: list[Path] = []
        self.rows_in_shard = 0
        self.rows: list[dict] = []
        self.writer: pq.ParquetWriter | None = None

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH_ROWS or self.rows_in_shard + len(self.rows) >= self.rows_per_shard:
            self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        if self.writer is None:
            path = self.folder / f".{self.split}-{len(self.shards):05d}.parquet"
            self.shards.append(path)
            self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
        self.rows_in_shard += len(self.rows)
        self.rows = []
        if self.rows_in_shard >= self.rows_per_shard:
            self._close_shard()

    def _close_shard(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer, self.rows_in_shard = None, 0

    def finish(self) -> list[Path]:
        self._flush()
        self._close_shard()
        final = []
        for index, path in enumerate(self.shards):
            target = self.folder / f"{self.split}-{index:05d}-of-{len(self.shards):05d}.parquet"
            path.rename(target)
            final.append(target)
        return final


def _write_config(config: str, records: Path, folder: Path, settings: BuildSettings, released: Counter, ids: set) -> list[Path]:
    model = RECORD_MODELS[config]
    schema = arrow_schema(model)
    folder.mkdir(parents=True)
    writers = {split: _ShardWriter(folder, split, schema, settings.rows_per_shard) for split in SPLITS}
    for record in read_jsonl(records):
        split = record.pop("split")
        try:
            row = model.model_validate(record).model_dump()
        except ValidationError as exc:
            raise LedgerError(f"{config}: record {record.get('id')} from {record.get('locator')} is invalid: {exc}") from None
        if row["id"] in ids:
            raise LedgerError(f"{config}: record id {row['id']} ({row['locator']}) occurs twice")
        ids.add(row["id"])
        released[row["source"]] += 1
        writers[split].add(row)
    return [path for split in SPLITS for path in writers[split].finish()]


def _write_rejects(path: Path, parts: list[Path]) -> None:
    """All rejects in stage order, as Parquet: the raw content repeats a lot and compresses well."""
    with pq.ParquetWriter(path, REJECTS_SCHEMA, compression="zstd") as writer:
        batch: list[dict] = []
        for part in parts:
            for reject in read_jsonl(part):
                batch.append(reject)
                if len(batch) >= BATCH_ROWS:
                    writer.write_table(pa.Table.from_pylist(batch, schema=REJECTS_SCHEMA))
                    batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=REJECTS_SCHEMA))


def _sha256(path: Path) -> str:
    from coig.sources import sha256_of

    return sha256_of(path)


def write_release(
    *,
    destination: Path,
    version: str,
    name: str,
    split_files: dict[str, Path],
    sources: list[Source],
    all_sources: dict[str, Source],
    settings: BuildSettings,
    read_stats: list[StageStats],
    later_stats: list[StageStats],
    reject_files: list[Path],
    skipped: list[str],
) -> Path:
    """Write the release from each config's split records (config order kept) and every
    stage's rejects, checking the ledger; replace `destination` only when all is written."""
    partial = destination.parent / f".{destination.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        released: Counter = Counter()
        ids: set[str] = set()
        files: dict[str, dict] = {}
        configs = list(split_files)
        for config in configs:
            for path in _write_config(config, split_files[config], partial / config, settings, released, ids):
                files[path.relative_to(partial).as_posix()] = {
                    "rows": pq.ParquetFile(path).metadata.num_rows,
                    "sha256": _sha256(path),
                }
        verify_ledger(read_stats, later_stats, released)

        all_stats = read_stats + later_stats
        _write_rejects(partial / REJECTS_FILE, reject_files)
        files[REJECTS_FILE] = {"rows": pq.ParquetFile(partial / REJECTS_FILE).metadata.num_rows, "sha256": _sha256(partial / REJECTS_FILE)}
        reasons: Counter = sum((s.reasons for s in all_stats), Counter())
        summary = {
            "name": name,
            "version": version,
            "configs": {
                config: {
                    split: sum(f["rows"] for p, f in files.items() if p.startswith(f"{config}/{split}-"))
                    for split in SPLITS
                }
                for config in configs
            },
            "files": files,
            "rejects": {
                "file": REJECTS_FILE,
                "total": sum(reasons.values()),
                "by_source_and_reason": [[s, r, n] for (s, r), n in sorted(reasons.items())],
            },
            "ledger": {
                source: {
                    "read": sum(s.seen[source] for s in read_stats),
                    "released": released[source],
                    "rejected": sum(s.rejected[source] for s in all_stats),
                }
                for source in sorted({s.name for s in sources})
            },
            "sources": {
                s.name: {
                    "license": s.license,
                    "homepage": s.homepage,
                    "files": {f.path: {"sha256": f.sha256, "url": f.url} for f in s.files},
                }
                for s in sorted(_used_sources(sources, all_sources), key=lambda s: s.name)
            },
            "skipped_sources": skipped,
            "settings": settings.model_dump(mode="json"),
        }
        _write_manifest(partial, summary)
        for plot in write_plots(partial):  # the plots read the manifest, then join it
            summary["files"][plot.relative_to(partial).as_posix()] = {"rows": 0, "sha256": _sha256(plot)}
        _write_manifest(partial, summary)
        (partial / "README.md").write_text(render_card(summary, _used_sources(sources, all_sources)), encoding="utf-8")
        _replace(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.debug("release written to %s", destination)
    return destination


def _write_manifest(folder: Path, summary: dict) -> None:
    (folder / "manifest.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def _used_sources(sources: list[Source], all_sources: dict[str, Source]) -> list[Source]:
    """The sources that fed the build, and the translation references they used."""
    used = {s.name: s for s in sources}
    for source in sources:
        reference = source.translation.reference if source.translation else None
        if reference:
            used[reference] = all_sources[reference]
    return list(used.values())


def copy_release(release: Path, destination: Path) -> None:
    """Copy a finished release folder to destination, replacing it only once the copy is whole."""
    partial = destination.parent / f".{destination.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        shutil.copytree(release, partial)
        _replace(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _replace(partial: Path, destination: Path) -> None:
    if destination.exists():
        old = destination.parent / f".{destination.name}.old-{os.getpid()}"
        destination.rename(old)
        partial.rename(destination)
        shutil.rmtree(old, ignore_errors=True)
    else:
        partial.rename(destination)
