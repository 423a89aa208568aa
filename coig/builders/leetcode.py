"""LeetCode code instructions: a problem's description in, its explained solution in one language out.

The description HTML becomes Markdown text with `markdownify` (examples in <pre> become fenced
blocks, <code> becomes `code`, <sup> becomes ^, entities are decoded). The output gives each
method with code in the record's language: its title, its explanation, then the code exactly as
the README has it, fenced with the README's own fence tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from markdownify import MarkdownConverter

from coig.builders import BuildContext, build_reject
from coig.records import (
    LeetCodeInstruction,
    LeetCodeMetadata,
    RawRecord,
    Reject,
    make_id,
)
from coig.sources import Source

CONFIG = LeetCodeInstruction.config

TEMPLATES = (
    "请用 {language} 解决力扣第 {number} 题「{title}」，并说明你的解题思路。",
    "力扣（LeetCode）第 {number} 题「{title}」该怎么做？请先讲清思路，再给出 {language} 代码。",
    "下面是一道算法题「{title}」，请分析解法，并用 {language} 写出完整的实现。",
    "我在刷力扣第 {number} 题「{title}」，能用 {language} 给我讲讲解法并附上代码吗？",
    "阅读下面的题目描述，用 {language} 编写代码解决 LeetCode {number}「{title}」，并解释算法的关键步骤。",
    "作为一道编程练习，请给出「{title}」（力扣第 {number} 题）的 {language} 题解，附上思路说明。",
)
# How a language is named in an instruction, where that differs from the source's name for it.
LANGUAGE_NAMES = {"Python3": "Python"}


class _DescriptionConverter(MarkdownConverter):
    """markdownify's defaults drop <sup>/<sub> markers, which turns 10<sup>4</sup> into 104."""

    def convert_sup(self, el: Any, text: str, parent_tags: set[str]) -> str:
        return f"^{text}"

    def convert_sub(self, el: Any, text: str, parent_tags: set[str]) -> str:
        return f"_{text}"


# No Markdown escaping: `a*b` and `nums_1` in a problem statement should read as written.
_CONVERTER = _DescriptionConverter(
    heading_style="ATX", bullets="-", escape_asterisks=False, escape_underscores=False, escape_misc=False
)


@lru_cache(maxsize=64)
def description_text(html: str) -> str:
    """The description as Markdown text (cached: every language of a problem shares it)."""
    return _CONVERTER.convert(html).strip()


def build(raws: Iterable[RawRecord], source: Source, context: BuildContext) -> Iterator[LeetCodeInstruction | Reject]:
    for raw in raws:
        data = raw.data
        if not data["language"] or not data["methods"]:
            yield _reject(raw, source, "no_solution", "the README has no solution code in any language")
            continue
        description = description_text(data["description_html"])
        if not description:
            yield _reject(raw, source, "empty_description", "the description has no text (e.g. a premium problem)")
            continue
        record_id = make_id(CONFIG, source.name, raw.source_id)
        yield LeetCodeInstruction(
            id=record_id,
            instruction=instruction_for(record_id, data),
            input=description,
            output=solution_text(data),
            source=source.name,
            source_id=raw.source_id,
            locator=raw.locator,
            license=source.license,
            metadata=LeetCodeMetadata(
                problem_id=data["number"],
                title=data["title"],
                url=data["url"],
                difficulty=data["difficulty"],
                tags=data["tags"],
                language=data["language"],
            ),
        )


def instruction_for(record_id: str, data: dict[str, Any]) -> str:
    template = TEMPLATES[int(record_id, 16) % len(TEMPLATES)]
    language = LANGUAGE_NAMES.get(data["language"], data["language"])
    return template.format(language=language, number=data["number"], title=data["title"])


def solution_text(data: dict[str, Any]) -> str:
    """Each method: its title as a heading (once, for consecutive blocks of one method), its
    explanation, its code fenced with the README's tag."""
    parts: list[str] = []
    previous_title = None
    for method in data["methods"]:
        if method["title"] and method["title"] != previous_title:
            parts.append(f"### {method['title']}")
        previous_title = method["title"]
        if method["explanation"]:
            parts.append(method["explanation"])
        fence = "````" if "```" in method["code"] else "```"
        parts.append(f"{fence}{data['fence_tag']}\n{method['code']}\n{fence}")
    return "\n\n".join(parts)


def _reject(raw: RawRecord, source: Source, reason: str, detail: str) -> Reject:
    return build_reject(raw, source, CONFIG, reason, f"problem {raw.data['number']}: {detail}")
