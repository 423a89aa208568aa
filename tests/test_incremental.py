"""Incremental builds: stage outputs are reused when nothing they depend on changed."""

import logging
import shutil

from coig.pipeline import build_release
from coig.sources import load_sources
from test_build import FIXTURES, write_manifests


def files_of(release):
    return {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}


def stages_run(caplog) -> list[str]:
    """The stages that ran (were not taken from the cache), as 'stage name'."""
    ran = []
    for record in caplog.records:
        words = record.getMessage().split()
        if len(words) >= 3 and words[0] in {"read", "build", "normalize", "filter", "dedup", "split"} and words[2] == "in":
            ran.append(f"{words[0]} {words[1]}")
    caplog.clear()
    return ran


def test_unchanged_rebuild_reuses_every_stage_and_a_changed_source_reruns_only_its_chain(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coig")
    data = tmp_path / "data"
    shutil.copytree(FIXTURES, data)
    cache = tmp_path / "cache"

    def build(out: str, cache_dir=cache):
        sources = load_sources(write_manifests(tmp_path / f"sources-{out}", data_root=data))
        return build_release(sources, data, tmp_path / out, "0.1.0", fetch=False, cache_dir=cache_dir)

    first = build("first")
    assert len(stages_run(caplog)) == 6 + 4 * 5  # one read per source, five stages per config

    again = build("again")
    assert stages_run(caplog) == []
    assert files_of(again) == files_of(first)

    prompts = data / "cvalues" / "cvalues_responsibility_prompts.jsonl"
    prompts.write_text(prompts.read_text() + '{"id_": 999, "prompt": "新增的一个问题？", "domain_zh": "测试"}\n', encoding="utf-8")
    changed = build("changed")
    assert stages_run(caplog) == [
        "read cvalues_prompts",
        "build human_value_alignment_instructions",
        "normalize human_value_alignment_instructions",
        "filter human_value_alignment_instructions",
        "dedup human_value_alignment_instructions",
        "split human_value_alignment_instructions",
    ]
    scratch = build("scratch", cache_dir=None)
    assert files_of(changed) == files_of(scratch)
    assert files_of(changed)["manifest.json"] != files_of(first)["manifest.json"]
