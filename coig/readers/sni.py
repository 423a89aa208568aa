"""Super-NaturalInstructions task files, one raw record per instance.

Both layouts are read: the early (2021) one, where `Definition` is a string and instances are
`{input, output: [...]}`, and v2, where `Definition` is a list of strings and instances carry an
`id`. Each record's data is `{task, definition, input, output, outputs}`: `output` is the first
accepted output, `outputs` all of them; `task` is the file's stem.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from coig.errors import SourceError
from coig.readers import load_json
from coig.records import RawRecord, Reject, raw_json
from coig.sources import Source


def read(path: Path, rel_path: str, source: Source) -> Iterator[RawRecord | Reject]:
    document = load_json(path, "a Super-NaturalInstructions task file")
    definition = document.get("Definition") if isinstance(document, dict) else None
    if isinstance(definition, list) and all(isinstance(part, str) for part in definition):
        definition = "\n".join(definition)
    if not isinstance(definition, str) or not isinstance(document.get("Instances"), list):
        raise SourceError(
            f"{path}: not a Super-NaturalInstructions task file: expected a JSON object with a "
            '"Definition" (a string or a list of strings) and an "Instances" list'
        )
    task = path.stem.split(".")[0]  # task079_conala_concat_strings.first10.json names task079_conala_concat_strings

    for position, instance in enumerate(document["Instances"]):
        locator = f"{rel_path}#Instances[{position}]"
        outputs = instance.get("output") if isinstance(instance, dict) else None
        if isinstance(outputs, str):
            outputs = [outputs]
        if (
            not isinstance(instance, dict)
            or not isinstance(instance.get("input"), str)
            or not isinstance(outputs, list)
            or not all(isinstance(output, str) for output in outputs)
        ):
            yield Reject(
                source=source.name,
                locator=locator,
                reason="malformed_instance",
                stage="read",
                raw=raw_json(instance),
                detail='expected {"input": "...", "output": ["...", ...]}',
            )
            continue
        yield RawRecord(
            source=source.name,
            locator=locator,
            source_id=str(instance.get("id") or f"{task}#{position}"),
            data={
                "task": task,
                "definition": definition,
                "input": instance["input"],
                "output": outputs[0] if outputs else "",
                "outputs": outputs,
            },
        )
