"""Plots, tables and a markdown report of a release folder, read from its Parquet and manifest.json.

Labels are ASCII (config, source and reason names) so the plots need no CJK font. The PNGs are
drawn with Agg on matplotlib's default style and bundled font, without a Software stamp, so two
runs on the same release give the same bytes.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import matplotlib
import matplotlib.style
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from coig.split import SPLITS

PLOTS_DIR = "plots"
PLOTS = ("lengths.png", "sources.png", "rejects.png")
LENGTH_FIELDS = ("instruction", "output")
LENGTH_BINS = 40
WIDTH, DPI = 10.0, 100
STYLE = {"font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 10, "axes.titleweight": "bold"}


def _manifest(release: Path) -> dict:
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))


def _parquet(release: Path, config: str) -> list[Path]:
    return sorted((release / config).glob("*.parquet"))


def _lengths(release: Path, config: str) -> dict[str, np.ndarray]:
    """Length in characters of each field, read batch by batch so a large release stays small in memory."""
    parts: dict[str, list[np.ndarray]] = {field: [] for field in LENGTH_FIELDS}
    for path in _parquet(release, config):
        for batch in pq.ParquetFile(path).iter_batches(columns=list(LENGTH_FIELDS)):
            for field in LENGTH_FIELDS:
                parts[field].append(pc.utf8_length(batch.column(field)).to_numpy(zero_copy_only=False))
    return {field: np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64) for field, arrays in parts.items()}


def _released_by_source(release: Path, config: str) -> Counter:
    counts: Counter = Counter()
    for path in _parquet(release, config):
        for batch in pq.ParquetFile(path).iter_batches(columns=["source"]):
            for item in pc.value_counts(batch.column("source")).to_pylist():
                counts[item["values"]] += item["counts"]
    return counts


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _length_bins(longest: int) -> np.ndarray:
    """Log-spaced bin edges on whole numbers, so short lengths get one bin each and no empty gaps."""
    return np.unique(np.floor(np.geomspace(1, max(longest, 2) + 1, LENGTH_BINS + 1)))


def _plot_lengths(release: Path, configs: list[str], path: Path) -> Path:
    lengths = {config: _lengths(release, config) for config in configs}
    longest = max((int(a.max()) for by_field in lengths.values() for a in by_field.values() if a.size), default=1)
    bins = _length_bins(longest)
    figure = Figure(figsize=(WIDTH, 0.6 + 1.9 * max(len(configs), 1)), layout="constrained")
    axes = figure.subplots(max(len(configs), 1), len(LENGTH_FIELDS), sharex=True, squeeze=False)
    for row, config in enumerate(configs):
        for col, field in enumerate(LENGTH_FIELDS):
            ax, values = axes[row][col], lengths[config][field]
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            if not values.size:
                ax.set_title(f"{config}: {field} (no records)", loc="left")
                continue
            median = float(np.median(values))
            ax.set_title(f"{config}: {field}", loc="left")
            # Empty fields have length 0, which a log axis cannot show: they count in the first bin.
            ax.hist(np.maximum(values, 1), bins=bins, color=f"C{col}", label=f"{values.size:,} records")
            ax.axvline(max(median, 1), color="black", linestyle="--", linewidth=1, label=f"median {median:,.0f}")
            ax.legend(loc="upper right", fontsize=8)  # "best" searches every bar: seconds per panel
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
            ax.set_ylabel("records")
    for ax in axes[-1]:
        ax.set_xlabel("length in characters (log scale)")
    figure.suptitle("Length of instruction and output per config")
    return _save(figure, path)


def _plot_sources(release: Path, configs: list[str], ledger: dict, path: Path) -> Path:
    by_config = {config: _released_by_source(release, config) for config in configs}
    sources = sorted(set(ledger) | {s for counts in by_config.values() for s in counts})
    figure = Figure(figsize=(WIDTH, 1.2 + 0.4 * max(len(sources), 1)), layout="constrained")
    ax = figure.subplots()
    y = np.arange(len(sources))[::-1]
    left = np.zeros(len(sources))
    for index, config in enumerate(configs):
        counts = np.array([by_config[config][s] for s in sources], dtype=float)
        if counts.any():
            ax.barh(y, counts, left=left, color=f"C{index}", label=config)
        left += counts
    for position, total in zip(y, left):
        ax.text(total, position, f" {int(total):,}", va="center", fontsize=8)
    ax.set_yticks(y, sources)
    ax.set_xlim(0, max(left.max(initial=0), 1) * 1.12)
    ax.set_xlabel("records released")
    ax.set_title(f"Records released per source, by config (total {int(left.sum()):,})")
    if any(by_config.values()):
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, title="config", title_fontsize=8)
    return _save(figure, path)


def _plot_rejects(by_reason: list[tuple[str, int]], path: Path) -> Path:
    figure = Figure(figsize=(WIDTH, 1.2 + 0.4 * max(len(by_reason), 1)), layout="constrained")
    ax = figure.subplots()
    total = sum(n for _, n in by_reason)
    ax.set_title(f"Rejected records by reason (total {total:,})")
    if not by_reason:
        ax.text(0.5, 0.5, "no rejects", transform=ax.transAxes, ha="center", va="center")
        ax.set_axis_off()
        return _save(figure, path)
    y = np.arange(len(by_reason))[::-1]
    counts = [n for _, n in by_reason]
    ax.barh(y, counts, color="C3")
    for position, count in zip(y, counts):
        ax.text(count, position, f" {count:,}", va="center", fontsize=8)
    ax.set_yticks(y, [reason for reason, _ in by_reason])
    ax.set_xscale("log")
    ax.set_xlim(0.8, max(counts) * 4)
    ax.set_xlabel("records rejected (log scale)")
    return _save(figure, path)


def _rejects_by_reason(manifest: dict) -> list[tuple[str, int]]:
    by_reason: Counter = Counter()
    for _source, reason, count in manifest["rejects"]["by_source_and_reason"]:
        by_reason[reason] += count
    return sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))


def write_plots(release: Path) -> list[Path]:
    """Write lengths.png, sources.png and rejects.png into release/plots/ and return their paths."""
    manifest = _manifest(release)
    configs = list(manifest["configs"])
    folder = release / PLOTS_DIR
    folder.mkdir(exist_ok=True)
    lengths, sources, rejects = (folder / name for name in PLOTS)
    with matplotlib.style.context("default"), matplotlib.rc_context(STYLE):
        return [
            _plot_lengths(release, configs, lengths),
            _plot_sources(release, configs, manifest["ledger"], sources),
            _plot_rejects(_rejects_by_reason(manifest), rejects),
        ]


def data_uri(path: Path) -> str:
    """A PNG as a base64 data URI, for markdown that must carry its images inline."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def tables(release: Path) -> dict[str, list[dict]]:
    """Rows for table artifacts: records per config and split, and rejects per reason and source."""
    manifest = _manifest(release)
    records = [
        {"config": config, **{split: splits[split] for split in SPLITS}, "total": sum(splits[split] for split in SPLITS)}
        for config, splits in manifest["configs"].items()
    ]
    rejects = [
        {"reason": reason, "source": source, "records": count}
        for source, reason, count in sorted(manifest["rejects"]["by_source_and_reason"], key=lambda r: (-r[2], r[1], r[0]))
    ]
    return {"records": records, "rejects": rejects}


def _markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "(none)"
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[key]) for key in header) + " |" for row in rows]
    return "\n".join(lines)


def report_markdown(release: Path, image: Callable[[str], str]) -> str:
    """A markdown build report; image(filename) gives the URL of a plot (a relative path or a data URI)."""
    manifest = _manifest(release)
    rows = tables(release)
    by_reason = [{"reason": reason, "records": count} for reason, count in _rejects_by_reason(manifest)]
    ledger = [{"source": source, **{key: entry[key] for key in ("read", "released", "rejected")}}
              for source, entry in manifest["ledger"].items()]
    released = sum(row["total"] for row in rows["records"])
    parts = [
        f"# {manifest['name']} {manifest['version']}: build report\n",
        f"{released:,} records released, {manifest['rejects']['total']:,} rejected.\n",
        "## Records per config and split\n",
        _markdown_table(rows["records"]) + "\n",
        f"![Length of instruction and output per config]({image('lengths.png')})\n",
        "## Records released per source\n",
        f"![Records released per source, by config]({image('sources.png')})\n",
        "## Rejects by reason\n",
        _markdown_table(by_reason) + "\n",
        f"![Rejected records by reason]({image('rejects.png')})\n",
        "## Rejects by reason and source\n",
        _markdown_table(rows["rejects"]) + "\n",
        "## Ledger\n",
        "Every record read is released or rejected, exactly once.\n",
        _markdown_table(ledger) + "\n",
    ]
    return "\n".join(parts)
