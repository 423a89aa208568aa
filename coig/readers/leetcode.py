"""doocs/leetcode problem READMEs: one raw record per (problem, solution language).

A README has YAML front matter (difficulty, tags), a title line `# [1. 两数之和](url)`, the
description HTML between `<!-- description:start -->` and `<!-- description:end -->`, then
solutions: each method is a `### 方法N：...` heading with prose, and between
`<!-- tabs:start -->` and `<!-- tabs:end -->` one heading per language, each followed by a
fenced code block. The solution part is tokenized with markdown-it-py, so `#` lines inside code
are never taken for headings; code is cut from the file's own lines, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from coig.errors import SourceError
from coig.records import RawRecord, Reject
from coig.sources import Source

DESCRIPTION_START = "<!-- description:start -->"
DESCRIPTION_END = "<!-- description:end -->"
SOLUTION_START = "<!-- solution:start -->"

_FRONT_MATTER = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n", re.S)
_TITLE = re.compile(r"^# \[(\d+)\. (.+)\]\((\S+)\)[ \t]*\r?$", re.M)
_MARKDOWN = MarkdownIt("commonmark")


def read(path: Path, rel_path: str, source: Source) -> Iterator[RawRecord | Reject]:
    encoding = source.options.get("encoding", "utf-8")
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: cannot decode as {encoding} ({exc.reason} at byte {exc.start}); "
            f"set options.encoding in the manifest of source {source.name}"
        ) from None

    header, problem = _parse_header(text)
    if problem:
        yield Reject(source.name, rel_path, "unrecognized_layout", "read", text, detail=problem)
        return

    blocks = _parse_solutions(text[text.find(SOLUTION_START) :] if SOLUTION_START in text else "")
    fence_tags: dict[str, str] = {}  # language -> fence tag of its first block, in order of appearance
    for block in blocks:
        fence_tags.setdefault(block["language"], block["fence_tag"])

    if not fence_tags:
        data = {**header, "language": "", "fence_tag": "", "methods": []}
        yield RawRecord(source.name, rel_path, f"{header['number']}:", data)
        return
    for language, fence_tag in fence_tags.items():
        methods = [
            {"title": b["title"], "explanation": b["explanation"], "code": b["code"]}
            for b in blocks
            if b["language"] == language
        ]
        data = {**header, "language": language, "fence_tag": fence_tag, "methods": methods}
        yield RawRecord(source.name, f"{rel_path}#{language}", f"{header['number']}:{language}", data)


def _parse_header(text: str) -> tuple[dict[str, Any], str]:
    """Front matter, title line and description HTML; or a note on what is missing."""
    start, end = text.find(DESCRIPTION_START), text.find(DESCRIPTION_END)
    if start < 0 or end < start:
        return {}, f"no {DESCRIPTION_START} ... {DESCRIPTION_END} markers"
    matter = _FRONT_MATTER.match(text)
    if not matter:
        return {}, "no YAML front matter between --- lines at the top"
    try:
        meta = yaml.safe_load(matter.group(1))
    except yaml.YAMLError as exc:
        return {}, f"front matter is not valid YAML: {exc}"
    if not isinstance(meta, dict):
        return {}, "front matter is not a YAML mapping"
    title = _TITLE.search(text, 0, start)
    if not title:
        return {}, "no title line `# [N. 标题](url)` before the description"
    header = {
        "number": int(title.group(1)),
        "title": title.group(2).strip(),
        "url": title.group(3),
        "difficulty": str(meta.get("difficulty") or ""),
        "tags": [str(tag) for tag in meta.get("tags") or []],
        "description_html": text[start + len(DESCRIPTION_START) : end].strip(),
    }
    return header, ""


def _parse_solutions(text: str) -> list[dict[str, str]]:
    """Every code block in order, with its language, method title and the prose before its tabs.

    A `solution:start` marker or a heading outside the tabs starts a method; inside the tabs, a
    heading names a language. A method may hold several tab groups (e.g. a version using less
    memory), each after its own prose.
    """
    lines = text.split("\n")
    tokens = _MARKDOWN.parse(text)
    blocks: list[dict[str, str]] = []
    in_tabs = False
    title = explanation = language = ""
    prose_from = 0  # first line of the prose that introduces the next tab group
    for index, token in enumerate(tokens):
        if token.type == "html_block" and "solution:start" in token.content:
            title, prose_from = "", token.map[1]
        elif token.type == "html_block" and "tabs:start" in token.content:
            in_tabs, language = True, ""
            explanation = "\n".join(lines[prose_from : token.map[0]]).strip()
        elif token.type == "html_block" and "tabs:end" in token.content:
            in_tabs, prose_from = False, token.map[1]
        elif token.type == "heading_open":
            name = tokens[index + 1].content.strip()
            if in_tabs:
                language = name
            elif token.tag in ("h1", "h2", "h3"):
                title, prose_from = name, token.map[1]
        elif token.type == "fence" and in_tabs and language:
            body_start = token.map[0] + 1
            code = "\n".join(lines[body_start : body_start + token.content.count("\n")])
            if code.strip():
                block = {"title": title, "explanation": explanation, "code": code}
                blocks.append({**block, "language": language, "fence_tag": token.info.strip()})
    return blocks
