"""The default build on the real upstream files in the data root, and its invariants."""

import json
from collections import Counter
from pathlib import Path

import opencc
import pyarrow.parquet as pq
import pytest

from coig.builders.exam import analysis_contradiction
from coig.dedup import text_key
from coig.normalize import split_code
from coig.pipeline import build_release
from coig.records import RECORD_MODELS
from coig.release import arrow_schema
from coig.sources import load_sources

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def release(data_root, tmp_path_factory) -> Path:
    return build_release(load_sources(), data_root, tmp_path_factory.mktemp("real"), "0.1.0", fetch=False)


@pytest.fixture(scope="module")
def manifest(release) -> dict:
    return json.loads((release / "manifest.json").read_text())


@pytest.fixture(scope="module")
def records(release) -> dict[str, list[dict]]:
    return {config: pq.read_table(release / config).to_pylist() for config in RECORD_MODELS}


@pytest.fixture(scope="module")
def rejects(release) -> list[dict]:
    return pq.read_table(release / "rejects.parquet").to_pylist()


def test_counts_per_source(manifest):
    ledger = manifest["ledger"]
    assert ledger["gaokao_bench"] == {"read": 2467, "released": 2438, "rejected": 29}
    assert ledger["leetcode_doocs"] == {"read": 1396, "released": 1396, "rejected": 0}
    assert ledger["jade_db"] == {"read": 650, "released": 650, "rejected": 0}
    assert ledger["cvalues_prompts"] == {"read": 664, "released": 0, "rejected": 664}
    assert ledger["alpaca_seed_tasks"]["read"] == 175
    for source, entry in ledger.items():
        assert entry["read"] == entry["released"] + entry["rejected"], source


def test_reject_reasons(rejects):
    reasons = Counter((r["source"], r["reason"]) for r in rejects)
    assert reasons[("gaokao_bench", "missing_figure")] == 21
    assert reasons[("gaokao_bench", "answer_contradicts_analysis")] == 8
    assert reasons[("alpaca_seed_tasks", "untranslated")] == 4
    assert reasons[("cvalues_prompts", "needs_response")] == 664
    assert reasons[("sni_early_format", "untranslated")] == 55087
    alpaca = sum(n for (source, _), n in reasons.items() if source == "alpaca_seed_tasks")
    assert alpaca == 175 - 141
    assert all(r["reason"] and r["stage"] and r["locator"] and r["raw"] for r in rejects)


def test_no_unsafe_jade_answer_is_written(rejects, records):
    assert not any("违规回答" in r["raw"] for r in rejects if r["source"] == "jade_db")
    assert all(set(json.loads(json.dumps(r["metadata"]))) == {"domain", "difficulty"}
               for r in records["human_value_alignment_instructions"])


def test_no_traditional_characters_in_released_text(records):
    t2s = opencc.OpenCC("t2s")
    traditional = []
    for config, rows in records.items():
        for row in rows:
            for field in ("instruction", "input", "output"):
                prose = "".join(piece for is_code, piece in split_code(row[field]) if not is_code)
                if t2s.convert(prose) != prose:
                    traditional.append((config, row["id"], field))
    assert traditional == []


def test_no_exact_duplicates_across_configs(records):
    keys = Counter(text_key(row) for rows in records.values() for row in rows)
    assert [k for k, n in keys.items() if n > 1] == []


def test_no_released_exam_answer_contradicts_its_analysis(records):
    for row in records["exam_instructions"]:
        if row["metadata"]["objective"] and "解析：" in row["output"]:
            analysis = row["output"].split("解析：", 1)[1]
            assert analysis_contradiction(row["metadata"]["answer"], analysis) is None, row["id"]


def test_every_file_has_its_model_schema_and_card_counts_match(release, manifest):
    for path, entry in manifest["files"].items():
        if path == "rejects.parquet" or path.startswith("plots/"):
            continue
        config = path.split("/")[0]
        parquet = pq.ParquetFile(release / path)
        assert parquet.schema_arrow == arrow_schema(RECORD_MODELS[config]), path
        assert parquet.metadata.num_rows == entry["rows"]
    card = (release / "README.md").read_text()
    for config, splits in manifest["configs"].items():
        assert f"| `{config}` | {splits['train']} | {splits['validation']} | {splits['test']} | {sum(splits.values())} |" in card
