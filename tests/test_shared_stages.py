from collections import Counter

import pytest

from coig.dedup import ExactDedup
from coig.errors import LedgerError
from coig.filters import apply_filters, default_filters
from coig.ledger import StageStats, counted, run_stage, verify_ledger
from coig.records import Reject
from coig.schemas import SCHEMAS_DIR, schema_texts, stale_schemas
from coig.settings import LengthBounds, SplitRatios
from coig.split import split_of


def record(id_, instruction="请解释一下", output="好的", input_="", source="s"):
    return {"id": id_, "instruction": instruction, "input": input_, "output": output, "source": source, "locator": f"f:{id_}"}


def test_filters_name_the_rule_a_record_breaks():
    bounds = LengthBounds(max_output_chars=10)
    records = [
        record("a"),
        record("b", instruction="  "),
        record("c", output=""),
        record("d", instruction="问"),
        record("e", output="长" * 11),
    ]
    out = list(apply_filters(records, default_filters(bounds), "exam_instructions"))
    assert out[0] == records[0]
    assert [(r.locator, r.reason, r.stage) for r in out[1:]] == [
        ("f:b", "empty_instruction", "filter"),
        ("f:c", "empty_output", "filter"),
        ("f:d", "instruction_too_short", "filter"),
        ("f:e", "output_too_long", "filter"),
    ]


def test_exact_duplicates_across_configs_keep_the_first():
    dedup = ExactDedup()
    first = list(dedup([record("a", output="同样的答案")], "exam_instructions"))
    second = list(dedup([record("b", output="同样的答案 "), record("c", output="不同的答案")], "leetcode_instructions"))
    assert first == [record("a", output="同样的答案")]
    assert isinstance(second[0], Reject)
    assert (second[0].reason, second[0].detail, second[0].config) == ("duplicate", "same text as record a", "leetcode_instructions")
    assert second[1]["id"] == "c"


def test_chinese_records_differing_in_one_character_are_not_duplicates():
    dedup = ExactDedup()
    out = list(dedup([record("a", output="今天天气很好"), record("b", output="今天天气很差")], "x"))
    assert [r["id"] for r in out] == ["a", "b"]


def test_split_depends_only_on_the_id():
    ratios = SplitRatios(validation=0.1, test=0.1)
    ids = [f"id{i}" for i in range(2000)]
    splits = [split_of(i, ratios) for i in ids]
    assert splits == [split_of(i, ratios) for i in ids]
    counts = Counter(splits)
    assert 150 < counts["test"] < 250 and 150 < counts["validation"] < 250
    assert split_of("id0", ratios) == split_of("id0", SplitRatios(validation=0.1, test=0.1))


def test_a_stage_that_loses_a_record_fails_loudly(tmp_path):
    seen = Counter()

    def lossy(records):
        for r in records:
            if r["id"] != "b":
                yield r

    with pytest.raises(LedgerError, match="source s: 3 records in but 2 kept"):
        run_stage("filter", "x", lossy(counted([record("a"), record("b"), record("c")], seen)),
                  tmp_path / "out.jsonl", tmp_path / "rej.jsonl", seen=seen)


def test_ledger_balances_read_against_released_and_rejected():
    read = StageStats("read", "s", seen=Counter(s=5), kept=Counter(s=4), rejected=Counter(s=1))
    later = StageStats("filter", "x", seen=Counter(s=4), kept=Counter(s=3), rejected=Counter(s=1))
    verify_ledger([read], [later], Counter(s=3))
    with pytest.raises(LedgerError, match="s: 5 read, 2 released \\+ 2 rejected"):
        verify_ledger([read], [later], Counter(s=2))


def test_schema_files_match_the_models():
    assert stale_schemas() == [], "run `coig schemas` to export the models again"
    assert set(schema_texts()) == {p.name for p in SCHEMAS_DIR.glob("*.schema.json")}


def test_schemas_give_every_field_one_type():
    import json

    schema = json.loads(schema_texts()["exam_instructions.schema.json"])
    answer = schema["$defs"]["ExamMetadata"]["properties"]["answer"]
    assert answer == {"description": answer["description"], "items": {"type": "string"}, "title": "Answer", "type": "array"}
    assert "anyOf" not in json.dumps(schema)
