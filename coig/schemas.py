"""JSON Schema files exported from the pydantic record models: the records' public contract."""

from __future__ import annotations

import json
from pathlib import Path

from coig.records import RECORD_MODELS

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


def schema_texts() -> dict[str, str]:
    """File name -> JSON text, one file per config."""
    return {
        f"{config}.schema.json": json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        for config, model in RECORD_MODELS.items()
    }


def export_schemas(folder: Path = SCHEMAS_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_texts().items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    return written


def stale_schemas(folder: Path = SCHEMAS_DIR) -> list[str]:
    """Schema files that differ from the models (or are missing)."""
    return [
        name
        for name, text in schema_texts().items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]
