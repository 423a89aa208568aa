"""The dataset card (README.md of a release), generated from what the build wrote."""

from __future__ import annotations

from collections import Counter

import yaml

from coig.records import RECORD_MODELS
from coig.report import PLOTS, PLOTS_DIR
from coig.sources import Source
from coig.split import SPLITS

TASK_CATEGORIES = ["text-generation", "question-answering"]
CONFIG_DESCRIPTIONS = {
    "exam_instructions": "Chinese college-entrance exam (高考) questions: the question as input, the answer and its analysis (解析) as output.",
    "leetcode_instructions": "LeetCode problems in Chinese: the description as input, the approach explained and the code in one language as output.",
    "translated_instructions": "English instruction data rendered in Chinese, with the English original in metadata.",
    "human_value_alignment_instructions": "Prompts touching safety and values, with safe and helpful answers.",
}


def size_category(rows: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return label
    return "1M<n<10M" if rows < 10_000_000 else "n>10M"


def _front_matter(summary: dict, sources: list[Source]) -> str:
    total = sum(sum(splits.values()) for splits in summary["configs"].values())
    released = {s: entry["released"] for s, entry in summary["ledger"].items()}
    licenses = sorted({s.license for s in sources if released.get(s.name) or s.builder is None})
    meta = {
        "pretty_name": f"{summary['name']} {summary['version']}",
        "language": ["zh"],
        "license": licenses,
        "task_categories": TASK_CATEGORIES,
        "size_categories": [size_category(total)],
        "configs": [
            {
                "config_name": config,
                "data_files": [
                    {"split": split, "path": f"{config}/{split}-*.parquet"}
                    for split in SPLITS
                    if splits[split] > 0
                ],
            }
            for config, splits in summary["configs"].items()
        ],
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def _table(header: list[str], rows: list[list]) -> str:
    if not rows:
        return "(none)"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(summary: dict, sources: list[Source]) -> str:
    name, version = summary["name"], summary["version"]
    configs = summary["configs"]
    first = next(iter(configs), "exam_instructions")
    released = {s: entry["released"] for s, entry in summary["ledger"].items()}
    parts = [
        _front_matter(summary, sources),
        f"# {name} {version}\n",
        "Chinese instruction-tuning data in the style of COIG (Chinese Open Instruction Generalist), "
        "built from public sources by the coig pipeline. Every record carries its source, the "
        "source's own id, a locator that finds its input again, and its license.\n",
        "## Loading\n",
        f'```python\nfrom datasets import load_dataset\n\nds = load_dataset("<this folder or repo>", "{first}", split="train")\n```\n',
        "## Configs and splits\n",
        _table(
            ["config", *SPLITS, "total", "what it holds"],
            [
                [f"`{c}`", *(s[split] for split in SPLITS), sum(s.values()), CONFIG_DESCRIPTIONS.get(c, "")]
                for c, s in configs.items()
            ],
        )
        + "\n",
        "Splits are assigned by a hash of the record id, so a record keeps its split across versions.\n",
        "## Fields\n",
        "Every config has `id`, `instruction`, `input` (empty string when there is none), `output`, "
        "`source`, `source_id` (empty string when the source has none), `locator` and `license`, plus a "
        "typed `metadata` struct per config:\n",
        _table(
            ["config", "metadata fields"],
            [
                [f"`{c}`", ", ".join(f"`{f}`" for f in RECORD_MODELS[c].model_fields["metadata"].annotation.model_fields)]
                for c in configs
            ],
        )
        + "\n",
        "## Sources and licenses\n",
        "Each record's `license` field gives the license of the source it came from; several sources "
        "restrict use (see the notes).\n",
        _table(
            ["source", "license", "records released", "homepage", "note"],
            [
                [s.name, s.license, released.get(s.name, "reference only"), s.homepage, s.license_note]
                for s in sorted(sources, key=lambda s: s.name)
            ],
        )
        + "\n",
    ]
    citations = dict.fromkeys(s.citation.strip() for s in sorted(sources, key=lambda s: s.name) if s.citation.strip())
    if citations:
        parts.append("### Citations\n")
        parts.append("```bibtex\n" + "\n".join(c + "\n" for c in citations) + "```\n")
    by_reason: Counter = Counter()
    for _source, reason, count in summary["rejects"]["by_source_and_reason"]:
        by_reason[reason] += count
    parts += [
        "## What was left out, and why\n",
        f"{summary['rejects']['total']} input records were not released; each is in `rejects.parquet` "
        "with its source, locator, stage, reason and raw content.\n",
        _table(["reason", "records"], [[r, n] for r, n in sorted(by_reason.items(), key=lambda x: (-x[1], x[0]))]) + "\n",
        "By source:\n",
        _table(["source", "reason", "records"], summary["rejects"]["by_source_and_reason"]) + "\n",
        "## Ledger\n",
        "Every input record ends exactly once: released or rejected. The build checks this.\n",
        _table(
            ["source", "read", "released", "rejected"],
            [[s, e["read"], e["released"], e["rejected"]] for s, e in summary["ledger"].items()],
        )
        + "\n",
    ]
    if summary["skipped_sources"]:
        parts.append("Skipped (files absent and not downloadable): " + ", ".join(summary["skipped_sources"]) + "\n")
    parts.append("## Plots\n")
    parts += [f"![{plot.removesuffix('.png')}]({PLOTS_DIR}/{plot})\n" for plot in PLOTS]
    parts.append("`manifest.json` lists every file with its sha256 and row count, the source checksums and the build settings.\n")
    return "\n".join(parts)
