"""Translated instructions: English instruction data rendered in Chinese by a translation backend.

Inputs come in three shapes, told apart by their keys: self-instruct seed tasks
`{id, name, instruction, instances: [{input, output}, ...]}` (the first instance is used),
Super-NaturalInstructions instances `{task, definition, input, output}` (from the `sni_task`
reader), and flat Alpaca records `{instruction, input, output}`.

Records go to the backend a batch at a time. Each translation then passes four checks, each a
small function returning what is wrong ("" when nothing is), with thresholds from
`settings.translation`; the first that fails names the reject.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import islice
from typing import Any

from coig.builders import BuildContext, build_reject
from coig.errors import CoigError
from coig.records import (
    RawRecord,
    Reject,
    TranslatedInstruction,
    TranslationMetadata,
    make_id,
    raw_json,
)
from coig.settings import TranslationQuality
from coig.sources import Source
from coig.translate import (
    Fields,
    TranslationBackend,
    TranslationRequest,
    TranslationResult,
    get_backend,
)

CONFIG = TranslatedInstruction.config
FIELDS = ("instruction", "input", "output")
BATCH_SIZE = 64


def fields_of(data: dict[str, Any]) -> Fields | None:
    """The instruction, input and output of a raw record's data; None when it has no usable shape."""
    if "instances" in data:
        instances = data["instances"]
        if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
            return None
        values = (data.get("instruction"), instances[0].get("input", ""), instances[0].get("output"))
    elif "definition" in data:
        values = (data.get("definition"), data.get("input"), data.get("output"))
    else:
        values = (data.get("instruction"), data.get("input", ""), data.get("output"))
    if not all(isinstance(value, str) for value in values):
        return None
    return dict(zip(FIELDS, values))


def task_of(data: dict[str, Any]) -> str:
    return str(data.get("name") or data.get("task") or "")


# --- quality checks: (English text, Chinese text, thresholds) -> what is wrong, "" if nothing ---
# Texts are the three fields joined by newlines, NFKC-normalized so that full-width letters,
# digits and punctuation (`１２`, `：`) compare as their ASCII forms.

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")

# A line that is code beyond doubt (keywords, statement endings, markup), and an assignment,
# which counts as code only next to such a line (alone, `X = 0.5` is more likely maths).
CODE_LINE = re.compile(
    r"\s*(?:def\s+\w+\s*\(|class\s+\w+.*[:{]$|import\s+[\w.]+(?:\s*,\s*[\w.]+)*(?:\s+as\s+\w+)?$"
    r"|from\s+[\w.]+\s+import\s|return\b|(?:if|elif|while)\s.*:$|for\s+\w+(?:\s*,\s*\w+)*\s+in\s.*:$"
    r"|with\s.*\sas\s.*:$|(?:else|try|finally)\s*:$|except\b.*:$|(?:var|let|const)\s+\w+\s*="
    r"|function\b.*\(|print\s*\(|console\.\w+\(|#include\b"
    r"|(?:SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|CREATE\s+TABLE)\s|.*;$|.*\{$|\}|(?:<[^>]+>\s*)+$)"
)
ASSIGNMENT = re.compile(r"\s*[A-Za-z_][\w.]*(?:\[[^\]]*\])*(?:\s*,\s*[A-Za-z_]\w*)*\s*[-+*/]?=\s*\S")
FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
COMMENT = re.compile(r"\s*(?:#|//|/\*|\*|--)")


def code_lines(text: str) -> list[str]:
    """Lines of code in a text: every line of a fenced block, and lines that are clearly code."""
    lines = [line for block in FENCED.findall(text) for line in block.splitlines()]
    loose = FENCED.sub("", text).splitlines()
    if any(CODE_LINE.match(line) for line in loose):
        lines += [line for line in loose if CODE_LINE.match(line) or ASSIGNMENT.match(line)]
    return [line.rstrip() for line in lines if line.strip() and not COMMENT.match(line)]


def code_region(text: str) -> set[str]:
    """Every line of fenced blocks and from the first to the last line of loose code, comments and
    docstrings included, stripped."""
    lines = [line for block in FENCED.findall(text) for line in block.splitlines()]
    loose = FENCED.sub("", text).splitlines()
    marks = [position for position, line in enumerate(loose) if CODE_LINE.match(line)]
    if marks:
        lines += loose[marks[0] : marks[-1] + 1]
    return {line.strip() for line in lines if line.strip()}


def low_chinese_ratio(en: str, zh: str, quality: TranslationQuality) -> str:
    # Code copied as it is (with its comments) is not English left untranslated.
    code = code_region(en)
    prose = "\n".join(line for line in zh.splitlines() if line.strip() not in code)
    han, latin = len(HAN.findall(prose)), len(LATIN.findall(prose))
    ratio = han / (han + latin) if han + latin else 1.0
    if ratio < quality.min_chinese_ratio:
        return f"Han characters are {ratio:.2f} of the letters outside code (minimum {quality.min_chinese_ratio})"
    return ""


def length_ratio_out_of_bounds(en: str, zh: str, quality: TranslationQuality) -> str:
    ratio = len(zh) / len(en) if en else 1.0
    if not quality.min_length_ratio <= ratio <= quality.max_length_ratio:
        return (
            f"the Chinese is {ratio:.2f} times as long as the English "
            f"(allowed {quality.min_length_ratio} to {quality.max_length_ratio})"
        )
    return ""


def code_lost(en: str, zh: str, quality: TranslationQuality) -> str:
    kept = {line.rstrip() for line in zh.splitlines()}
    lost = [line for line in code_lines(en) if line not in kept]
    if not lost:
        return ""
    stripped = {line.strip() for line in kept}
    what = "lost its indentation" if all(line.strip() in stripped for line in lost) else "is missing or changed"
    return f"{len(lost)} line(s) of the English code {what} in the Chinese, first: {lost[0]!r}"


SCALE_EN = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "bn": 10**9, "trillion": 10**12}
SCALE_ZH = {"千": 10**3, "万": 10**4, "亿": 10**8}
# Digits glued to a letter before them (MI6, l1, info6) are names, not quantities.
EN_NUMBER = re.compile(
    r"(?<![A-Za-z_\d])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"(?:\s*(thousand|million|billion|trillion|bn)\b)?"
)
ZH_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*([千万亿])?")
INTEGER = re.compile(r"\d+")
CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
CN_DIGITS = {char: value for value, char in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def chinese_numeral(run: str) -> int:
    """一九六九 -> 1969, 十五 -> 15, 三百零二 -> 302, 十万八千 -> 108000."""
    if all(char in CN_DIGITS for char in run):
        return int("".join(str(CN_DIGITS[char]) for char in run))
    total = section = digit = 0
    for char in run:
        if char in CN_DIGITS:
            digit = CN_DIGITS[char]
        elif char in CN_UNITS:
            section += (digit or 1) * CN_UNITS[char]
            digit = 0
        else:  # 万 or 亿 scales everything before it
            total = (total + section + digit) * SCALE_ZH[char]
            section = digit = 0
    return total + section + digit


def chinese_numbers(zh: str) -> set[Decimal]:
    """Every value a Chinese text writes, read generously: 1,000 and 1000, 14.02亿, 十五,
    and 92,101 also as 92 and 101 (a list written with commas)."""
    values = {Decimal(m.group(0)) for m in INTEGER.finditer(zh)}
    for match in ZH_NUMBER.finditer(zh):
        value = Decimal(match.group(1).replace(",", ""))
        values.add(value * SCALE_ZH[match.group(2)] if match.group(2) else value)
    values.update(Decimal(chinese_numeral(m.group(0))) for m in CN_NUMERAL.finditer(zh))
    return values


def numbers_lost(en: str, zh: str, quality: TranslationQuality) -> str:
    have = chinese_numbers(zh)
    lost = []
    for match in EN_NUMBER.finditer(en):
        value = Decimal(match.group(1).replace(",", ""))
        if value not in have and (not match.group(2) or value * SCALE_EN[match.group(2)] not in have):
            lost.append(match.group(0))
    if lost:
        return f"number(s) of the English missing from the Chinese: {', '.join(dict.fromkeys(lost))}"
    return ""


Check = Callable[[str, str, TranslationQuality], str]
CHECKS: tuple[tuple[str, Check], ...] = (
    ("low_chinese_ratio", low_chinese_ratio),
    ("length_ratio_out_of_bounds", length_ratio_out_of_bounds),
    ("code_lost", code_lost),
    ("numbers_lost", numbers_lost),
)


def first_problem(en: Fields, zh: Fields, quality: TranslationQuality) -> tuple[str, str] | None:
    """(reason, detail) of the first check the translation fails, or None."""
    en_text = unicodedata.normalize("NFKC", "\n".join(en[name] for name in FIELDS))
    zh_text = unicodedata.normalize("NFKC", "\n".join(zh[name] for name in FIELDS))
    for reason, check in CHECKS:
        detail = check(en_text, zh_text, quality)
        if detail:
            return reason, detail
    return None


# --- the builder ---


def build(
    raws: Iterable[RawRecord], source: Source, context: BuildContext
) -> Iterator[TranslatedInstruction | Reject]:
    backend = get_backend(source, context, fields_of)
    records = iter(raws)
    while batch := list(islice(records, BATCH_SIZE)):
        yield from _build_batch(batch, backend, source, context.settings.translation)


def _build_batch(
    batch: list[RawRecord], backend: TranslationBackend, source: Source, quality: TranslationQuality
) -> list[TranslatedInstruction | Reject]:
    english = [fields_of(raw.data) for raw in batch]
    requests = [
        TranslationRequest(key=raw.source_id or raw.locator, fields=fields)
        for raw, fields in zip(batch, english)
        if fields is not None
    ]
    results = backend.translate(requests) if requests else []
    if [result.key for result in results] != [request.key for request in requests]:
        raise CoigError(
            f"translation backend {backend.name} broke its contract: it must return one result per request, in order"
        )
    translated = iter(results)
    outcomes: list[TranslatedInstruction | Reject] = []
    for raw, fields in zip(batch, english):
        if fields is None:
            detail = "expected a seed task with instances, an SNI instance, or instruction/input/output strings"
            outcomes.append(_reject(raw, source, "malformed_task", detail))
        else:
            outcomes.append(_outcome(raw, fields, next(translated), backend, source, quality))
    return outcomes


def _outcome(
    raw: RawRecord,
    english: Fields,
    result: TranslationResult,
    translator: TranslationBackend,
    source: Source,
    quality: TranslationQuality,
) -> TranslatedInstruction | Reject:
    chinese, backend = result.fields, translator.name
    if chinese is None:
        return _reject(raw, source, "untranslated", f"{backend}: {result.error or 'no translation'}")
    absent = [name for name in FIELDS if not isinstance(chinese.get(name), str)]
    if absent:
        return _reject(raw, source, "untranslated", f"{backend} returned no {', '.join(absent)}")
    problem = first_problem(english, chinese, quality)
    if problem:
        reason, detail = problem
        return _reject(raw, source, reason, f"{detail}; translation by {backend}: {raw_json(chinese)}")
    return TranslatedInstruction(
        id=make_id(CONFIG, source.name, result.key),
        instruction=chinese["instruction"],
        input=chinese["input"],
        output=chinese["output"],
        source=source.name,
        source_id=raw.source_id,
        locator=raw.locator,
        license=f"{source.license} AND {translator.license}" if translator.license else source.license,
        metadata=TranslationMetadata(
            backend=backend,
            task=task_of(raw.data),
            original_instruction=english["instruction"],
            original_input=english["input"],
            original_output=english["output"],
        ),
    )


def _reject(raw: RawRecord, source: Source, reason: str, detail: str) -> Reject:
    return build_reject(raw, source, CONFIG, reason, detail)
