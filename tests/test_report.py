"""Plots, tables and the markdown report of a release built from the hand-written fixtures."""

import base64
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import matplotlib
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from coig import report
from coig.pipeline import build_release
from coig.sources import load_sources
from test_build import FIXTURES, write_manifests

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOT_NAMES = ["lengths.png", "sources.png", "rejects.png"]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    return build_release(load_sources(write_manifests(tmp / "sources")), FIXTURES, tmp / "out", "0.3.0", fetch=False)


@pytest.fixture(scope="module")
def plots(release) -> list[Path]:
    return report.write_plots(release)


def test_three_valid_pngs_of_bounded_size(release, plots):
    assert plots == [release / "plots" / name for name in PLOT_NAMES]
    for path in plots:
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE, path.name
        assert 10_000 < len(data) < 150_000, (path.name, len(data))
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            width, height = image.size
            assert image.format == "PNG"
            assert width == 1000, path.name
            assert 300 <= height <= 1500, (path.name, height)
            assert "Software" not in image.info, "a version stamp would make bytes differ between matplotlib versions"
        assert matplotlib.image.imread(path).shape[:2] == (height, width)


def test_plots_are_byte_identical_across_calls_and_processes(release, plots):
    first = {path.name: path.read_bytes() for path in plots}
    font_size = matplotlib.rcParams["font.size"]
    report.write_plots(release)
    assert {path.name: path.read_bytes() for path in plots} == first
    assert matplotlib.rcParams["font.size"] == font_size, "write_plots leaves the caller's matplotlib settings alone"
    for path in plots:
        path.unlink()
    code = "import sys; from pathlib import Path; from coig.report import write_plots; write_plots(Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", code, str(release)], check=True)
    assert {path.name: path.read_bytes() for path in plots} == first


def expected_tables(release: Path) -> dict[str, list[dict]]:
    """The same rows, counted from the Parquet files instead of read from manifest.json."""
    rows = Counter()
    for path in release.glob("*/*.parquet"):
        rows[path.parent.name, path.name.split("-")[0]] += pq.ParquetFile(path).metadata.num_rows
    configs = sorted({config for config, _ in rows})
    rejects = Counter((r["reason"], r["source"]) for r in pq.read_table(release / "rejects.parquet").to_pylist())
    return {
        "records": [
            {"config": c, "train": rows[c, "train"], "validation": rows[c, "validation"], "test": rows[c, "test"],
             "total": rows[c, "train"] + rows[c, "validation"] + rows[c, "test"]}
            for c in configs
        ],
        "rejects": [
            {"reason": reason, "source": source, "records": n}
            for (reason, source), n in sorted(rejects.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def test_tables_match_the_release(release):
    tables = report.tables(release)
    assert tables == expected_tables(release)
    manifest = json.loads((release / "manifest.json").read_text())
    assert [row["config"] for row in tables["records"]] == list(manifest["configs"])
    assert sum(row["records"] for row in tables["rejects"]) == manifest["rejects"]["total"] == 25
    assert tables["rejects"][0] == {"reason": "untranslated", "source": "sni_tasks", "records": 4}
    assert {"reason": "needs_response", "source": "cvalues_prompts", "records": 3} in tables["rejects"]
    exam = next(row for row in tables["records"] if row["config"] == "exam_instructions")
    assert exam == {"config": "exam_instructions", "train": 9, "validation": 1, "test": 0, "total": 10}


def test_markdown_holds_the_tables_and_three_plots(release):
    tables = report.tables(release)
    markdown = report.report_markdown(release, lambda name: f"plots/{name}")
    assert markdown.startswith("# coig 0.3.0: build report\n")
    assert re.findall(r"!\[[^\]]*\]\(([^)]*)\)", markdown) == [f"plots/{name}" for name in PLOT_NAMES]

    records = "\n".join(
        ["| config | train | validation | test | total |", "|---|---|---|---|---|"]
        + [f"| {r['config']} | {r['train']} | {r['validation']} | {r['test']} | {r['total']} |" for r in tables["records"]]
    )
    assert records in markdown
    assert "| exam_instructions | 9 | 1 | 0 | 10 |" in markdown

    by_source = "\n".join(
        ["| reason | source | records |", "|---|---|---|"]
        + [f"| {r['reason']} | {r['source']} | {r['records']} |" for r in tables["rejects"]]
    )
    assert by_source in markdown
    # untranslated: 4 from sni_tasks and 1 from alpaca_seed_tasks.
    assert "| reason | records |\n|---|---|\n| untranslated | 5 |\n| needs_response | 3 |\n" in markdown

    manifest = json.loads((release / "manifest.json").read_text())
    ledger = "\n".join(
        ["| source | read | released | rejected |", "|---|---|---|---|"]
        + [f"| {s} | {e['read']} | {e['released']} | {e['rejected']} |" for s, e in manifest["ledger"].items()]
    )
    assert ledger in markdown
    assert "| gaokao_bench | 21 | 10 | 11 |" in markdown


def test_markdown_can_carry_the_plots_inline(release, plots):
    markdown = report.report_markdown(release, lambda name: report.data_uri(release / "plots" / name))
    uris = re.findall(r"!\[[^\]]*\]\(([^)]*)\)", markdown)
    assert len(uris) == 3
    for uri, path in zip(uris, plots):
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.removeprefix("data:image/png;base64,")) == path.read_bytes()


def write_tiny_release(folder: Path) -> Path:
    """A release with a Chinese record, a config without records and no rejects."""
    (folder / "exam_instructions").mkdir(parents=True)
    table = pa.table({"instruction": ["你好", "选择正确答案"], "output": ["故选：Ｄ", ""], "source": ["gaokao_bench"] * 2})
    pq.write_table(table, folder / "exam_instructions" / "train-00000-of-00001.parquet")
    manifest = {
        "name": "tiny", "version": "0.0.1",
        "configs": {"exam_instructions": {"test": 0, "train": 2, "validation": 0},
                    "leetcode_instructions": {"test": 0, "train": 0, "validation": 0}},
        "rejects": {"file": "rejects.parquet", "total": 0, "by_source_and_reason": []},
        "ledger": {"gaokao_bench": {"read": 2, "released": 2, "rejected": 0}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_lengths_count_characters_and_empty_parts_still_plot(tmp_path):
    release = write_tiny_release(tmp_path / "tiny-0.0.1")
    lengths = report._lengths(release, "exam_instructions")
    assert lengths["instruction"].tolist() == [2, 6]
    assert lengths["output"].tolist() == [4, 0]
    assert report._lengths(release, "leetcode_instructions")["output"].size == 0
    assert report._released_by_source(release, "exam_instructions") == {"gaokao_bench": 2}

    paths = report.write_plots(release)
    assert [p.read_bytes()[:8] for p in paths] == [PNG_SIGNATURE] * 3
    assert report.tables(release) == {
        "records": [
            {"config": "exam_instructions", "train": 2, "validation": 0, "test": 0, "total": 2},
            {"config": "leetcode_instructions", "train": 0, "validation": 0, "test": 0, "total": 0},
        ],
        "rejects": [],
    }
    assert "## Rejects by reason\n\n(none)\n" in report.report_markdown(release, str)


def test_length_bins_are_whole_numbers_without_gaps():
    bins = report._length_bins(5000)
    assert bins[0] == 1 and bins[-1] == 5001
    assert np.all(np.diff(bins) >= 1) and np.all(bins == np.floor(bins))
    assert bins[:4].tolist() == [1, 2, 3, 4]
