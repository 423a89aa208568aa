"""`coig export` on a release built from the hand-written fixtures: exact rows in each format,
loading with `datasets`, the OpenAI chat shape, LLaMA-Factory's dataset_info.json, and errors."""

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_build import FIXTURES, write_manifests

from coig.errors import CoigError
from coig.export import FORMATS, export, prompt_of
from coig.pipeline import build_release
from coig.sources import load_sources

# The fixture release's non-empty config/splits (the empty ones get no file).
NON_EMPTY = {
    "exam_instructions": {"train": 9, "validation": 1},
    "human_value_alignment_instructions": {"train": 2},
    "leetcode_instructions": {"train": 6},
    "translated_instructions": {"train": 2, "test": 1},
}
SUFFIX = {"alpaca": "alpaca.json", "belle": "belle.jsonl", "messages": "messages.jsonl"}

# LLaMA-Factory data/README.md (hiyouga/LLaMA-Factory, commit 2ad9871b): the documented keys.
LF_KEYS = {"hf_hub_url", "ms_hub_url", "script_url", "cloud_file_name", "file_name", "formatting", "ranking",
           "subset", "split", "folder", "num_samples", "columns", "tags"}
LF_COLUMNS = {"prompt", "query", "response", "history", "messages", "system", "tools", "images", "videos",
              "audios", "chosen", "rejected", "kto_tag"}
LF_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag"}


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("export-build")
    return build_release(load_sources(write_manifests(tmp / "sources")), FIXTURES, tmp / "out", "0.3.0", fetch=False)


@pytest.fixture(scope="module")
def exports(release, tmp_path_factory) -> dict[str, tuple[Path, list[Path]]]:
    out = tmp_path_factory.mktemp("exports")
    return {fmt: (out / fmt, export(release, out / fmt, fmt)) for fmt in FORMATS}


def release_rows(release: Path, config: str, split: str) -> list[dict]:
    return [row for path in sorted(release.glob(f"{config}/{split}-*.parquet")) for row in pq.read_table(path).to_pylist()]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def load_json(path: Path, cache: Path):
    import datasets

    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache))


def test_each_format_writes_one_file_per_non_empty_config_and_split(exports):
    for fmt, kinds in (("alpaca", ["alpaca"]), ("belle", ["belle"]), ("messages", ["messages"]),
                       ("llama_factory", ["alpaca", "messages"])):
        out, written = exports[fmt]
        expected = [out / c / f"{s}.{SUFFIX[k]}" for c, splits in NON_EMPTY.items() for s in splits for k in kinds]
        if fmt == "llama_factory":
            expected.append(out / "dataset_info.json")
        assert written == expected, fmt
        assert sorted(p for p in out.rglob("*") if p.is_file()) == sorted(expected), "no partial or extra file"


def test_alpaca_file_is_exactly_a_json_array_of_alpaca_records(exports):
    path = exports["alpaca"][0] / "translated_instructions" / "train.alpaca.json"
    assert path.read_text(encoding="utf-8") == (
        '[\n'
        '{"instruction":"把这段距离换算成公里。","input":"26.2英里","output":"26.2英里约等于42.2公里。","id":"8872e419cc147cb8dd4a"},\n'
        '{"instruction":"编写一个将两个数相加的Python函数。","input":"","output":"def add(a, b):\\n    return a + b","id":"6f98a36cb19cd08fa84a"}\n'
        ']\n'
    )


def test_belle_merges_instruction_and_input_into_input_and_renames_output_to_target(exports):
    path = exports["belle"][0] / "translated_instructions" / "train.belle.jsonl"
    assert jsonl(path) == [
        {"input": "把这段距离换算成公里。\n26.2英里", "target": "26.2英里约等于42.2公里。", "id": "8872e419cc147cb8dd4a"},
        {"input": "编写一个将两个数相加的Python函数。", "target": "def add(a, b):\n    return a + b", "id": "6f98a36cb19cd08fa84a"},
    ]


def test_messages_line_is_one_user_and_one_assistant_turn(exports):
    path = exports["messages"][0] / "translated_instructions" / "train.messages.jsonl"
    assert jsonl(path)[0] == {"messages": [
        {"role": "user", "content": "把这段距离换算成公里。\n26.2英里"},
        {"role": "assistant", "content": "26.2英里约等于42.2公里。"},
    ]}


def test_every_exported_row_matches_its_release_record_in_order(release, exports):
    for config, splits in NON_EMPTY.items():
        for split in splits:
            rows = release_rows(release, config, split)
            alpaca = json.loads((exports["alpaca"][0] / config / f"{split}.alpaca.json").read_text(encoding="utf-8"))
            belle = jsonl(exports["belle"][0] / config / f"{split}.belle.jsonl")
            messages = jsonl(exports["messages"][0] / config / f"{split}.messages.jsonl")
            assert len(rows) == len(alpaca) == len(belle) == len(messages) == NON_EMPTY[config][split]
            for row, a, b, m in zip(rows, alpaca, belle, messages):
                assert a == {"instruction": row["instruction"], "input": row["input"], "output": row["output"], "id": row["id"]}
                assert b == {"input": prompt_of(row["instruction"], row["input"]), "target": row["output"], "id": row["id"]}
                assert [turn["content"] for turn in m["messages"]] == [b["input"], row["output"]]


def test_alpaca_and_belle_load_with_datasets(exports, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    for config, splits in NON_EMPTY.items():
        for split, rows in splits.items():
            alpaca = load_json(exports["alpaca"][0] / config / f"{split}.alpaca.json", tmp_path)
            assert alpaca.column_names == ["instruction", "input", "output", "id"]
            assert alpaca.num_rows == rows
            belle = load_json(exports["belle"][0] / config / f"{split}.belle.jsonl", tmp_path)
            assert belle.column_names == ["input", "target", "id"]
            assert belle.num_rows == rows
    ds = load_json(exports["belle"][0] / "translated_instructions" / "train.belle.jsonl", tmp_path)
    assert ds[0] == {"input": "把这段距离换算成公里。\n26.2英里", "target": "26.2英里约等于42.2公里。", "id": "8872e419cc147cb8dd4a"}


def openai_chat_errors(example) -> list[str]:
    """The OpenAI chat fine-tuning shape as documented, held strictly to what we promise: only
    `messages`, one user turn then one assistant turn, each only `role` and non-empty `content`."""
    if not isinstance(example, dict) or set(example) != {"messages"}:
        return ["top_level_keys"]
    errors = []
    messages = example["messages"]
    if [m.get("role") for m in messages] != ["user", "assistant"]:
        errors.append("roles")
    for m in messages:
        if set(m) != {"role", "content"}:
            errors.append("message_keys")
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            errors.append("missing_content")
    return errors


def test_openai_shape_check_catches_what_it_should():
    assert openai_chat_errors({"messages": [{"role": "user", "content": "问"}, {"role": "assistant", "content": "答"}]}) == []
    assert openai_chat_errors({"messages": [], "id": "x"}) == ["top_level_keys"]
    assert openai_chat_errors({"messages": [{"role": "human", "content": "问"}, {"role": "assistant", "content": " "}]}) == [
        "roles", "missing_content"]


def test_every_messages_line_has_the_openai_chat_shape(exports):
    out = exports["messages"][0]
    lines = [example for path in sorted(out.rglob("*.messages.jsonl")) for example in jsonl(path)]
    assert len(lines) == sum(sum(s.values()) for s in NON_EMPTY.values())
    assert [(i, e) for i, e in enumerate(lines) if openai_chat_errors(e)] == []


def test_llama_factory_dataset_info_follows_its_documented_keys(exports, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out = exports["llama_factory"][0]
    info = json.loads((out / "dataset_info.json").read_text())
    assert set(info) == {f"coig_{c}_{s}{k}" for c, splits in NON_EMPTY.items() for s in splits for k in ("", "_messages")}
    assert info["coig_translated_instructions_test"] == {
        "file_name": "translated_instructions/test.alpaca.json", "formatting": "alpaca",
        "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
    assert info["coig_translated_instructions_test_messages"] == {
        "file_name": "translated_instructions/test.messages.jsonl", "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant", "system_tag": "system"}}
    for name, entry in info.items():
        assert set(entry) <= LF_KEYS and set(entry["columns"]) <= LF_COLUMNS and set(entry.get("tags", {})) <= LF_TAGS, name
        assert entry["formatting"] in ("alpaca", "sharegpt")
        ds = load_json(out / entry["file_name"], tmp_path)
        assert set(entry["columns"].values()) <= set(ds.column_names), name
        config, file = entry["file_name"].split("/")
        assert ds.num_rows == NON_EMPTY[config][file.split(".")[0]], name
        if entry["formatting"] == "sharegpt":
            tags = entry["tags"]
            for conversation in ds[entry["columns"]["messages"]]:
                # LLaMA-Factory: the user at odd positions, the assistant at even ones.
                assert [m[tags["role_tag"]] for m in conversation] == [tags["user_tag"], tags["assistant_tag"]]
                assert all(m[tags["content_tag"]] for m in conversation)


def test_llama_factory_keeps_entries_already_in_dataset_info(release, tmp_path):
    existing = {"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps(existing))
    export(release, tmp_path, "llama_factory", configs=["translated_instructions"])
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert list(info) == ["alpaca_en_demo", "coig_translated_instructions_train", "coig_translated_instructions_train_messages",
                          "coig_translated_instructions_test", "coig_translated_instructions_test_messages"]
    assert info["alpaca_en_demo"] == existing["alpaca_en_demo"]


def test_configs_and_splits_narrow_the_export(release, tmp_path):
    assert export(release, tmp_path, "belle", configs=["translated_instructions"], splits=["test"]) == [
        tmp_path / "translated_instructions" / "test.belle.jsonl"]
    assert jsonl(tmp_path / "translated_instructions" / "test.belle.jsonl") == [
        {"input": "用一句话概括这座城市的情况。\n人口：120万\n公园：三千个\n建城：1858年",
         "target": "这座城市建于1858年，有120万人口和3000个公园。", "id": "c8c9b6f698a51d81f542"}]


def test_errors_say_what_is_wrong(release, tmp_path):
    with pytest.raises(CoigError, match="unknown export format 'sharegpt'; choose one of: alpaca, belle, messages, llama_factory"):
        export(release, tmp_path / "out", "sharegpt")
    with pytest.raises(CoigError, match=r"is not a coig release: it has no manifest.json; pass the folder `coig build` wrote"):
        export(FIXTURES, tmp_path / "out", "alpaca")
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "manifest.json").write_text('{"name": "x"}')
    with pytest.raises(CoigError, match="manifest.json lacks configs, files: not a coig release manifest"):
        export(tmp_path / "fake", tmp_path / "out", "alpaca")
    with pytest.raises(CoigError, match="has no config 'exam'; it has: exam_instructions, human_value_alignment_instructions"):
        export(release, tmp_path / "out", "alpaca", configs=["exam"])
    with pytest.raises(CoigError, match="has no split 'dev'; it has: train, validation, test"):
        export(release, tmp_path / "out", "alpaca", splits=["dev"])
    assert not (tmp_path / "out").exists()


def test_a_missing_shard_stops_the_export_and_leaves_no_partial_file(release, tmp_path):
    broken = tmp_path / "coig-0.3.0"
    shutil.copytree(release, broken)
    (broken / "leetcode_instructions" / "train-00000-of-00001.parquet").unlink()
    with pytest.raises(CoigError, match=r"train-00000-of-00001.parquet is listed in manifest.json but missing"):
        export(broken, tmp_path / "out", "messages", configs=["leetcode_instructions"])
    assert list((tmp_path / "out").rglob("*")) == [tmp_path / "out" / "leetcode_instructions"]
