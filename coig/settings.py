"""Build settings: thresholds and release options, with defaults that serve.

They can be overridden from a YAML file (`coig build --settings FILE`) and are written into every
release's manifest.json, so a release says how it was made.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coig.errors import CoigError


class TranslationQuality(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_chinese_ratio: float = Field(0.3, description="Han characters among letters and Han characters, translated text")
    min_length_ratio: float = Field(0.1, description="Chinese length / English length, lower bound")
    max_length_ratio: float = Field(3.0, description="Chinese length / English length, upper bound")


class LengthBounds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_instruction_chars: int = 2
    max_instruction_chars: int = 4_000
    min_output_chars: int = 1
    max_output_chars: int = 20_000
    max_input_chars: int = 20_000


class SplitRatios(BaseModel):
    model_config = ConfigDict(extra="forbid")

    validation: float = 0.05
    test: float = 0.05


class BuildSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lengths: LengthBounds = Field(default_factory=LengthBounds)
    translation: TranslationQuality = Field(default_factory=TranslationQuality)
    split: SplitRatios = Field(default_factory=SplitRatios)
    rows_per_shard: int = Field(100_000, gt=0)


def load_settings(path: str | Path | None) -> BuildSettings:
    if path is None:
        return BuildSettings()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return BuildSettings.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise CoigError(f"{path}: cannot read settings: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CoigError(f"{path}: invalid settings: {problems}") from None
