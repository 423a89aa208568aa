"""Source manifests (sources/*.yaml) and the data root their files live in.

A manifest names a source's files by their path below the data root, with each file's pinned
upstream address and sha256. The repository holds manifests, never the data.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import platformdirs
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coig.errors import SourceError

SOURCES_DIR = Path(__file__).resolve().parent.parent / "sources"
DATA_ROOT_ENV = "COIG_DATA_ROOT"


class SourceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Path below the data root")
    url: str | None = Field(description="Upstream address pinned to a commit; null if none serves these bytes")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class TranslationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str = "reference"
    reference: str | None = Field(default=None, description="Source holding aligned translations")


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str = ""
    builder: str | None = Field(description="Config this source feeds; null for a source that only serves others")
    reader: str
    options: dict[str, Any] = Field(default_factory=dict, description="Reader options, e.g. encoding")
    traditional_to_simplified: bool = True
    translation: TranslationSettings | None = None
    optional: bool = Field(default=False, description="Skip, with a notice, when its files are absent and unfetchable")
    license: str = Field(description="Hugging Face license id, or 'other' with license_note")
    license_note: str = ""
    homepage: str
    citation: str = ""
    files: list[SourceFile] = Field(min_length=1)
    manifest_path: str = Field(default="", exclude=True)


def default_data_root() -> Path:
    return Path(platformdirs.user_cache_dir("coig")) / "data"


def resolve_data_root(data_root: str | os.PathLike | None = None) -> Path:
    """--data-root, else $COIG_DATA_ROOT, else a per-user cache folder."""
    chosen = data_root or os.environ.get(DATA_ROOT_ENV) or default_data_root()
    return Path(chosen).expanduser().resolve()


def load_manifest(path: Path) -> Source:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"{path}: cannot read manifest: {exc}") from None
    if not isinstance(data, dict):
        raise SourceError(f"{path}: a manifest is a YAML mapping with name, reader, license, homepage and files")
    try:
        source = Source.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise SourceError(f"{path}: invalid manifest: {problems}") from None
    source.manifest_path = str(path)
    return source


def load_sources(sources_dir: Path = SOURCES_DIR, names: list[str] | None = None) -> list[Source]:
    """Every manifest in sources_dir, sorted by name; or just the named ones."""
    sources = [load_manifest(p) for p in sorted(Path(sources_dir).glob("*.yaml"))]
    by_name: dict[str, Source] = {}
    for source in sources:
        if source.name in by_name:
            raise SourceError(
                f"{source.manifest_path}: source name {source.name!r} is also used by {by_name[source.name].manifest_path}"
            )
        by_name[source.name] = source
    if names is None:
        return sources
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SourceError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(source: Source, data_root: Path) -> None:
    """Stop with a message naming the source and path if a file is missing or differs."""
    for entry in source.files:
        path = data_root / entry.path
        if not path.is_file():
            hint = (
                "run `coig sources fetch` to download it"
                if entry.url
                else "it has no upstream address: put the file there by hand"
            )
            raise SourceError(f"source {source.name}: {entry.path} is missing from the data root {data_root}; {hint}")
        actual = sha256_of(path)
        if actual != entry.sha256:
            raise SourceError(
                f"source {source.name}: {path} has sha256 {actual}, the manifest {source.manifest_path} expects "
                f"{entry.sha256}; delete the file and run `coig sources fetch`, or fix the manifest if upstream changed"
            )


def is_present(source: Source, data_root: Path) -> bool:
    return all((data_root / entry.path).is_file() for entry in source.files)
