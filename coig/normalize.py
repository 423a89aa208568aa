"""Text normalization shared by every config.

Prose is cleaned; fenced code blocks are never touched. Per text field: control and zero-width
characters removed, full-width ASCII letters and digits made half-width (Chinese punctuation
stays), whitespace tidied (runs of spaces collapsed, spaces between Chinese characters and inside
Chinese punctuation dropped, trailing spaces and extra blank lines removed). Then, per record,
one OpenCC call converts Traditional to Simplified over all prose of the record at once, because
the per-call overhead dominates for short fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

import opencc

TEXT_FIELDS = ("instruction", "input", "output")

# A fenced block: an opening ``` or ~~~ line, through the matching closing fence (or the end).
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(?:.*?\n)??[ \t]*\1[ \t]*$|^[ \t]*(`{3,}|~{3,})[^\n]*\n.*\Z", re.M | re.S)
_SPACES = re.compile(r"(?<=\S)[ \t]{2,}")
# Spaces that PDF extraction leaves between Chinese characters and around Chinese punctuation
# ("阶段 ，其中", "（ 6分）", "打响， NBA") carry no meaning; spaces between Chinese and Latin text stay.
_HAN_OR_PUNCT = r"[\u3400-\u4dbf\u4e00-\u9fff\u3001-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
_CJK_SPACES = re.compile(
    rf"(?<={_HAN_OR_PUNCT})[ \t]+(?={_HAN_OR_PUNCT})|(?<=[（《“‘【「『〔，。！？；：、])[ \t]+|[ \t]+(?=[，。！？；：、）》”’】」』〕])"
)
_TRAILING = re.compile(r"[ \t]+$", re.M)
_BLANK_LINES = re.compile(r"\n{3,}")
# Joins a record's prose for the single OpenCC call; OpenCC leaves it alone and it is removed
# from text before, so it cannot occur in the prose itself.
_JOIN = "\x1e"


def _translation_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]:
        table[code] = None  # control characters; \t \n \r are handled as whitespace
    for code in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):
        table[code] = None  # zero-width characters and the soft hyphen
    for start, end in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)):
        for code in range(start, end + 1):
            table[code] = chr(code - 0xFEE0)  # full-width digits and letters
    table[0x3000] = " "  # ideographic space
    table[0x00A0] = " "  # no-break space
    return table


_TABLE = _translation_table()
_NEEDS_TABLE = re.compile("[\r" + "".join(re.escape(chr(code)) for code in _TABLE) + "]")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def split_code(text: str) -> list[tuple[bool, str]]:
    """(is_code, piece) pairs in order; joining the pieces gives the text back."""
    pieces: list[tuple[bool, str]] = []
    position = 0
    for match in _FENCE.finditer(text):
        if match.start() > position:
            pieces.append((False, text[position : match.start()]))
        pieces.append((True, match.group(0)))
        position = match.end()
    if position < len(text):
        pieces.append((False, text[position:]))
    return pieces


def _clean_prose(text: str) -> str:
    # Each pass runs only when its trigger is present: most pieces need few of them, and
    # str.translate costs about 170 ns a character on non-ASCII text.
    if _NEEDS_TABLE.search(text):
        text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TABLE)
    if " " in text or "\t" in text:
        text = _TRAILING.sub("", _CJK_SPACES.sub("", _SPACES.sub(" ", text)))
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text


def _join(pieces: list[tuple[bool, str]]) -> str:
    """Reassemble a field, trimming only the prose at its two ends."""
    if pieces and not pieces[0][0]:
        pieces[0] = (False, pieces[0][1].lstrip())
    if pieces and not pieces[-1][0]:
        pieces[-1] = (False, pieces[-1][1].rstrip())
    return "".join(piece for _, piece in pieces)


def normalize_fields(fields: list[str], to_simplified: bool = True) -> list[str]:
    """Normalize several texts of one record with at most one OpenCC call."""
    split = [split_code(text) for text in fields]
    prose = [_clean_prose(piece) for pieces in split for is_code, piece in pieces if not is_code]
    if to_simplified and prose:
        prose = _t2s().convert(_JOIN.join(prose)).split(_JOIN)
    converted = iter(prose)
    return [_join([(is_code, piece if is_code else next(converted)) for is_code, piece in pieces]) for pieces in split]


def normalize_text(text: str, to_simplified: bool = True) -> str:
    return normalize_fields([text], to_simplified)[0]


def normalize_records(records: Iterable[dict], simplified_by_source: dict[str, bool]) -> Iterator[dict]:
    """Normalize instruction, input and output of each record dict in place, streaming."""
    for record in records:
        cleaned = normalize_fields(
            [record[name] for name in TEXT_FIELDS], simplified_by_source.get(record["source"], True)
        )
        record.update(zip(TEXT_FIELDS, cleaned))
        yield record
