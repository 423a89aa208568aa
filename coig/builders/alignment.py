"""Human-value alignment instructions: a sensitive prompt and a safe, helpful answer.

The manifest's options say which fields to use, so a new source needs no code:
- `prompt_field` (required): the prompt, e.g. `问题` (JADE) or `prompt` (CValues).
- `response_field`: the safe answer, e.g. `安全有用回答`. Without it the source has prompts only,
  and every prompt becomes a `needs_response` reject that waits for a generation backend.
- `domain_field`: the prompt's topic, e.g. `domain_zh`; the domain is "" without it.
- `difficulty`: the source's difficulty level; without it, a level named in the file's name
  (`jade_alignment_hard_zh.csv` -> hard), else "".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from coig.builders import BuildContext, build_reject
from coig.errors import SourceError
from coig.records import (
    AlignmentInstruction,
    AlignmentMetadata,
    RawRecord,
    Reject,
    make_id,
)
from coig.sources import Source

CONFIG = AlignmentInstruction.config
LEVEL_IN_NAME = re.compile(r"(?<![a-z])(easy|medium|hard)(?![a-z])")


def build(
    raws: Iterable[RawRecord], source: Source, context: BuildContext
) -> Iterator[AlignmentInstruction | Reject]:
    options = source.options
    prompt_field = options.get("prompt_field")
    if not prompt_field:
        raise SourceError(
            f"{source.manifest_path or source.name}: the human_value_alignment_instructions builder needs "
            "`prompt_field` in the manifest options (and `response_field` where the source has answers)"
        )
    response_field = options.get("response_field")
    domain_field = options.get("domain_field")

    for raw in raws:
        prompt = raw.data.get(prompt_field)
        response = raw.data.get(response_field) if response_field else None
        if not isinstance(prompt, str) or not prompt.strip():
            yield _reject(raw, source, "empty_instruction", f"no text in {prompt_field!r}")
        elif not response_field:
            detail = "the source has prompts only; it waits for a generation backend"
            yield _reject(raw, source, "needs_response", detail)
        elif not isinstance(response, str) or not response.strip():
            yield _reject(raw, source, "empty_output", f"no text in {response_field!r}")
        else:
            file = raw.locator.rsplit(":", 1)[0]
            domain = raw.data.get(domain_field) if domain_field else ""
            yield AlignmentInstruction(
                # Ids restart in each file of a source (JADE's hard and medium files both start at 1).
                id=make_id(CONFIG, source.name, f"{file}#{raw.source_id}" if raw.source_id else raw.locator),
                instruction=prompt,
                input="",
                output=response,
                source=source.name,
                source_id=raw.source_id,
                locator=raw.locator,
                license=source.license,
                metadata=AlignmentMetadata(
                    domain=str(domain or ""), difficulty=str(options.get("difficulty") or _level_in_name(file))
                ),
            )


def _level_in_name(file: str) -> str:
    match = LEVEL_IN_NAME.search(file.rsplit("/", 1)[-1].lower())
    return match.group(1) if match else ""


def _reject(raw: RawRecord, source: Source, reason: str, detail: str) -> Reject:
    return build_reject(raw, source, CONFIG, reason, detail)
