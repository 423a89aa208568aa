"""The records that flow through a build.

`RawRecord` and `Reject` are plain dataclasses: they are created for every input line, so they
stay cheap. The instruction records are pydantic models: they are the public contract (exported
to schemas/) and are validated when a builder makes them and again when a release is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, Field


@dataclass(slots=True)
class RawRecord:
    """One input item as a reader found it, with where it came from."""

    source: str
    locator: str  # file and line, row or key: enough to find the input again
    source_id: str  # the source's own id ("" when it has none)
    data: dict[str, Any]


@dataclass(slots=True)
class Reject:
    """An input that does not reach the release, and why."""

    source: str
    locator: str
    reason: str  # machine-readable, snake_case: "missing_figure", "untranslated", ...
    stage: str  # "read", "build", "filter", "dedup", ...
    raw: str  # the input as JSON text (or the undecodable line as text)
    detail: str = ""  # for people: what exactly was wrong
    config: str = ""  # the config the input was meant for, when known

    def to_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "locator": self.locator,
            "config": self.config,
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail,
            "raw": self.raw,
        }


def raw_json(value: Any) -> str:
    """Raw content for a reject: JSON text that keeps Chinese readable."""
    return orjson.dumps(value, default=str).decode()


def make_id(config: str, source: str, key: str) -> str:
    """A record id from what identifies its input, never from its position in a run."""
    digest = hashlib.sha256(f"{config}\x1f{source}\x1f{key}".encode()).hexdigest()
    return digest[:20]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ExamMetadata(_Model):
    subject: str = Field(description="School subject in Chinese, e.g. 数学（理科）")
    year: int
    category: str = Field(description="The paper, e.g. （新课标Ⅰ）")
    question_type: str = Field(description="e.g. 选择题, 填空题, 解答题")
    objective: bool = Field(description="True for questions whose answer is option letters")
    answer: list[str] = Field(
        description="Option letters for objective questions; the answer text as one item otherwise"
    )
    score: float


class LeetCodeMetadata(_Model):
    problem_id: int
    title: str
    url: str
    difficulty: str = Field(description="简单, 中等 or 困难")
    tags: list[str]
    language: str = Field(description="Solution language as the source names it, e.g. Python3")


class TranslationMetadata(_Model):
    backend: str = Field(description="The translation backend that produced this record")
    task: str = Field(description="The upstream task name")
    original_instruction: str
    original_input: str
    original_output: str


class AlignmentMetadata(_Model):
    domain: str = Field(description="Topic of the prompt, where the source gives one")
    difficulty: str = Field(description="Source's difficulty level, where it gives one")


class InstructionRecord(_Model):
    """Fields every config shares; each config's model adds a typed `metadata`."""

    config: ClassVar[str] = ""

    id: str
    instruction: str
    input: str = ""
    output: str
    source: str
    source_id: str
    locator: str
    license: str


class ExamInstruction(InstructionRecord):
    config: ClassVar[str] = "exam_instructions"
    metadata: ExamMetadata


class LeetCodeInstruction(InstructionRecord):
    config: ClassVar[str] = "leetcode_instructions"
    metadata: LeetCodeMetadata


class TranslatedInstruction(InstructionRecord):
    config: ClassVar[str] = "translated_instructions"
    metadata: TranslationMetadata


class AlignmentInstruction(InstructionRecord):
    config: ClassVar[str] = "human_value_alignment_instructions"
    metadata: AlignmentMetadata


RECORD_MODELS: dict[str, type[InstructionRecord]] = {
    model.config: model
    for model in (ExamInstruction, LeetCodeInstruction, TranslatedInstruction, AlignmentInstruction)
}
CONFIGS: tuple[str, ...] = tuple(RECORD_MODELS)
