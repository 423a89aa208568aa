"""The whole build on hand-written fixtures: release layout, ledger, card, determinism, errors."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from coig.errors import CoigError, LedgerError, SourceError
from coig.pipeline import build_release
from coig.sources import load_sources, sha256_of

FIXTURES = Path(__file__).parent / "fixtures"
CONFIGS = ["exam_instructions", "leetcode_instructions", "translated_instructions", "human_value_alignment_instructions"]

MANIFESTS = {
    "gaokao_bench": dict(builder="exam_instructions", reader="gaokao_json", license="apache-2.0", glob="gaokao_bench/*/*.json"),
    "leetcode_doocs": dict(builder="leetcode_instructions", reader="leetcode_readme", license="cc-by-sa-4.0", glob="leetcode_doocs/solution/*/*/README.md"),
    "alpaca_seed_tasks": dict(builder="translated_instructions", reader="jsonl", license="apache-2.0", glob="alpaca/seed_tasks.jsonl",
                              options={"id_field": "id"}, translation={"backend": "reference", "reference": "belle_zh_seed_tasks"}),
    "belle_zh_seed_tasks": dict(builder=None, reader="jsonl", license="odc-by", glob="belle/zh_seed_tasks.jsonl", options={"id_field": "id"}),
    "sni_tasks": dict(builder="translated_instructions", reader="sni_task", license="apache-2.0", glob="super_natural_instructions/*/*.json",
                      translation={"backend": "reference", "reference": None}),
    "jade_db": dict(builder="human_value_alignment_instructions", reader="csv", license="mit", glob="jade_db/*.csv",
                    options={"encoding": "gb18030", "id_field": "ID", "drop_columns": ["违规回答"],
                             "prompt_field": "问题", "response_field": "安全有用回答"}),
    "cvalues_prompts": dict(builder="human_value_alignment_instructions", reader="jsonl", license="apache-2.0",
                            glob="cvalues/*.jsonl", options={"id_field": "id_", "prompt_field": "prompt", "domain_field": "domain_zh"}),
}


def write_manifests(folder: Path, data_root: Path = FIXTURES, **overrides) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, spec in MANIFESTS.items():
        spec = {**spec, **overrides.get(name, {})}
        files = sorted(data_root.glob(spec.pop("glob")))
        manifest = {
            "name": name, "homepage": f"https://example.org/{name}", **spec,
            "files": [{"path": f.relative_to(data_root).as_posix(), "url": None, "sha256": sha256_of(f)} for f in files],
        }
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("build")
    sources = load_sources(write_manifests(tmp / "sources"))
    return build_release(sources, FIXTURES, tmp / "out", "0.3.0", fetch=False)


def parquet_rows(release: Path) -> dict[str, int]:
    return {p.relative_to(release).as_posix(): pq.ParquetFile(p).metadata.num_rows for p in release.glob("*/*.parquet")}


def test_release_layout(release):
    assert release.name == "coig-0.3.0"
    assert {p.name for p in release.iterdir()} == {"README.md", "manifest.json", "rejects.parquet", "plots", *CONFIGS}
    assert sorted(p.name for p in (release / "plots").iterdir()) == ["lengths.png", "rejects.png", "sources.png"]
    for path in release.glob("*/*.parquet"):
        assert path.name.endswith("-00000-of-00001.parquet")
    assert not list(release.parent.glob(".*")), "no work or partial folder is left behind"


def test_every_config_loads_with_datasets_and_has_one_type_per_column(release, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    for config in CONFIGS:
        ds = datasets.load_dataset(str(release), config, split="train")
        assert ds.column_names == ["id", "instruction", "input", "output", "source", "source_id", "locator", "license", "metadata"]
        assert all(isinstance(v, str) for v in ds["input"])
        assert len(set(ds["id"])) == len(ds)


def test_card_counts_equal_parquet_rows(release):
    manifest = json.loads((release / "manifest.json").read_text())
    rows = parquet_rows(release)
    assert {path: entry["rows"] for path, entry in manifest["files"].items() if path.endswith(".parquet")} == {
        **rows, "rejects.parquet": manifest["rejects"]["total"]}
    for path, entry in manifest["files"].items():
        assert entry["sha256"] == sha256_of(release / path)
    card = (release / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    assert [c["config_name"] for c in front["configs"]] == CONFIGS
    for config, splits in manifest["configs"].items():
        total = sum(splits.values())
        assert total == sum(n for p, n in rows.items() if p.startswith(config + "/"))
        assert f"| `{config}` | {splits['train']} | {splits['validation']} | {splits['test']} | {total} |" in card


def test_every_input_ends_exactly_once(release):
    manifest = json.loads((release / "manifest.json").read_text())
    rejects = pq.read_table(release / "rejects.parquet").to_pylist()
    assert all(r["reason"] and r["source"] and r["locator"] and r["stage"] for r in rejects)
    for source, entry in manifest["ledger"].items():
        assert entry["read"] == entry["released"] + entry["rejected"], source
        assert entry["rejected"] == sum(1 for r in rejects if r["source"] == source)
    reasons = {(r["source"], r["reason"]) for r in rejects}
    assert ("cvalues_prompts", "needs_response") in reasons
    assert ("gaokao_bench", "missing_figure") in reasons
    assert ("leetcode_doocs", "no_solution") in reasons


def test_two_builds_are_byte_identical(release, tmp_path):
    again = build_release(load_sources(write_manifests(tmp_path / "sources")), FIXTURES, tmp_path / "out", "0.3.0", fetch=False)
    assert (again / "manifest.json").read_bytes() == (release / "manifest.json").read_bytes()
    for path in release.glob("*/*.parquet"):
        assert (again / path.relative_to(release)).read_bytes() == path.read_bytes()


def test_an_existing_release_is_kept_without_force(release):
    sources = load_sources(release.parent.parent / "sources")
    with pytest.raises(CoigError, match="already exists; pass --force"):
        build_release(sources, FIXTURES, release.parent, "0.3.0", fetch=False)


def test_a_failing_build_leaves_no_release(tmp_path, monkeypatch):
    import coig.release

    def broken(*args, **kwargs):
        raise LedgerError("injected")

    monkeypatch.setattr(coig.release, "verify_ledger", broken)
    with pytest.raises(LedgerError):
        build_release(load_sources(write_manifests(tmp_path / "sources")), FIXTURES, tmp_path / "out", "0.3.0", fetch=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_wrong_checksum_stops_before_anything_is_written(tmp_path):
    folder = write_manifests(tmp_path / "sources")
    text = (folder / "jade_db.yaml").read_text()
    sha = sha256_of(next(FIXTURES.glob("jade_db/*.csv")))
    (folder / "jade_db.yaml").write_text(text.replace(sha, "f" * 64))
    with pytest.raises(SourceError, match=r"source jade_db: .*jade_alignment_hard_zh.csv has sha256 " + sha):
        build_release(load_sources(folder), FIXTURES, tmp_path / "out", "0.3.0", fetch=False)
    assert not (tmp_path / "out").exists()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coig.cli", *args], capture_output=True, text=True)


def test_cli_errors_name_the_file_and_print_no_traceback(tmp_path):
    cases = {}
    folder = write_manifests(tmp_path / "missing-key")
    data = yaml.safe_load((folder / "jade_db.yaml").read_text())
    del data["homepage"]
    (folder / "jade_db.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    cases["missing-key"] = (folder, "jade_db.yaml: invalid manifest: homepage: Field required")

    folder = write_manifests(tmp_path / "unknown-reader", cvalues_prompts={"reader": "xml"})
    cases["unknown-reader"] = (folder, "cvalues_prompts.yaml: unknown reader 'xml'")

    folder = write_manifests(tmp_path / "wrong-encoding", jade_db={"options": {**MANIFESTS["jade_db"]["options"], "encoding": "utf-8"}})
    cases["wrong-encoding"] = (folder, "jade_alignment_hard_zh.csv")

    empty_root = tmp_path / "empty-root"
    empty_root.mkdir()
    cases["missing-file"] = (write_manifests(tmp_path / "missing-file"), "is missing from the data root")

    for name, (folder, expected) in cases.items():
        root = empty_root if name == "missing-file" else FIXTURES
        result = run_cli("build", "--sources-dir", str(folder), "--data-root", str(root), "--output", str(tmp_path / name), "--no-fetch")
        assert result.returncode == 2, (name, result.stderr)
        assert expected in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr, name
        assert not (tmp_path / name / "coig-0.1.0").exists(), name
