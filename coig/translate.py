"""Translation backends: English instruction fields in, Chinese fields out, a batch at a time.

A backend takes a batch of requests and returns one result per request, in the same order: the
translated fields, or an error string for that record alone (a batch never fails as a whole
because one record could not be translated). Its `name` is written into every record it
translates. LLM backends will implement the same `translate`; the `reference` backend shipped
here looks translations up in another source whose records share ids with this one (BELLE's
Chinese seed tasks render Alpaca's English ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from coig.builders import BuildContext
from coig.errors import SourceError
from coig.readers import read_source
from coig.records import RawRecord
from coig.sources import Source, is_present

Fields = dict[str, str]  # instruction, input, output
FieldsOf = Callable[[dict[str, Any]], Fields | None]  # a raw record's data -> its fields, None if unusable


@dataclass(frozen=True, slots=True)
class TranslationRequest:
    key: str  # identifies the record: its source id, else its locator
    fields: Fields


@dataclass(frozen=True, slots=True)
class TranslationResult:
    key: str
    fields: Fields | None = None
    error: str = ""  # why this record was not translated, when fields is None


class TranslationBackend(Protocol):
    name: str
    license: str  # license of the translated text it returns ("" when the source's own applies)

    def translate(self, requests: Sequence[TranslationRequest]) -> list[TranslationResult]: ...


class ReferenceBackend:
    """Existing translations looked up by key; a key without one gets an error result."""

    def __init__(self, name: str, translations: Mapping[str, Fields], missing: str, license: str = "") -> None:
        self.name = name
        self.license = license
        self._translations = translations
        self._missing = missing  # the error for a key the reference does not hold

    def translate(self, requests: Sequence[TranslationRequest]) -> list[TranslationResult]:
        results = []
        for request in requests:
            fields = self._translations.get(request.key)
            if fields is None:
                results.append(TranslationResult(request.key, error=self._missing.format(key=request.key)))
            else:
                results.append(TranslationResult(request.key, fields=dict(fields)))
        return results


def reference_backend(source: Source, context: BuildContext, fields_of: FieldsOf) -> ReferenceBackend:
    """The reference source named in the manifest, read with the same field mapping as the source."""
    manifest = source.manifest_path or source.name
    reference_name = source.translation.reference if source.translation else None
    if reference_name is None:
        missing = f"source {source.name} names no reference translation (translation.reference is null)"
        return ReferenceBackend("reference", {}, missing)
    reference = context.sources.get(reference_name)
    if reference is None:
        raise SourceError(
            f"{manifest}: translation.reference names {reference_name!r}, which is not a known source; "
            f"known: {', '.join(sorted(context.sources)) or '(none)'}"
        )
    if not is_present(reference, context.data_root):
        raise SourceError(
            f"{manifest}: the reference source {reference_name} is missing from the data root {context.data_root}; "
            "run `coig sources fetch`"
        )
    translations: dict[str, Fields] = {}
    for raw in read_source(reference, context.data_root):
        if isinstance(raw, RawRecord) and raw.source_id:
            fields = fields_of(raw.data)
            if fields is not None:
                translations.setdefault(raw.source_id, fields)
    return ReferenceBackend(
        f"reference:{reference_name}", translations, f"{reference_name} has no translation of {{key}}", reference.license
    )


BACKENDS: dict[str, Callable[[Source, BuildContext, FieldsOf], TranslationBackend]] = {
    "reference": reference_backend,
}


def get_backend(source: Source, context: BuildContext, fields_of: FieldsOf) -> TranslationBackend:
    manifest = source.manifest_path or source.name
    if source.translation is None:
        raise SourceError(f"{manifest}: a translated source needs a `translation:` block with a `backend:`")
    make = BACKENDS.get(source.translation.backend)
    if make is None:
        raise SourceError(
            f"{manifest}: unknown translation backend {source.translation.backend!r}; "
            f"known backends: {', '.join(sorted(BACKENDS))}"
        )
    return make(source, context, fields_of)
