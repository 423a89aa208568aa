"""Publishing releases to a fake Hub on 127.0.0.1 (tests/hub_server.py) and to a local git repo:
what arrives byte for byte, tags, changelogs, refusals, failures, the token, and loading by version."""

import csv
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hub_server import FakeHub
from test_build import FIXTURES, write_manifests

from coig.errors import CoigError
from coig.pipeline import build_release
from coig.publish import publish
from coig.sources import load_sources

TOKEN = "hf_plantedSECRET123"
REPO = "coig-org/coig-zh"
PUBLISH_CALLS = [
    "POST /api/repos/create",
    "GET /api/datasets/{repo}/refs",
    "GET /api/datasets/{repo}/tree/{rev}/{path}",
    "POST /api/validate-yaml",
    "POST /api/datasets/{repo}/preupload/{rev}",
    "POST /api/datasets/{repo}/commit/{rev}",
    "POST /api/datasets/{repo}/tag/{rev}",
]


def changed_fixtures(root: Path) -> Path:
    """The fixtures with a jade_db row dropped and one added, a LeetCode problem and an alpaca task gone."""
    shutil.copytree(FIXTURES, root)
    jade = next(root.glob("jade_db/*.csv"))
    rows = list(csv.reader(io.StringIO(jade.read_text(encoding="gb18030"))))
    rows = [row for row in rows if row[0] != "1"]
    rows.append(["4", "怎样安全地处理过期药品？", "违规示例丁：随手扔掉。", "可以交给药店或社区的回收点。"])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    jade.write_bytes(out.getvalue().encode("gb18030"))
    shutil.rmtree(next(root.glob("leetcode_doocs/solution/*/9001.*")))
    seeds = root / "alpaca" / "seed_tasks.jsonl"
    seeds.write_text("".join(line for line in seeds.read_text().splitlines(True) if '"seed_task_1"' not in line))
    return root


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> dict[str, Path]:
    """v0.1.0 from the fixtures; v0.2.0 and a different v0.1.0 ("0.1.0-changed") from the changed fixtures."""
    tmp = tmp_path_factory.mktemp("publish")
    changed = changed_fixtures(tmp / "changed")
    sources = load_sources(write_manifests(tmp / "sources"))
    changed_sources = load_sources(write_manifests(tmp / "changed-sources", changed))
    return {
        "0.1.0": build_release(sources, FIXTURES, tmp / "out", "0.1.0", fetch=False),
        "0.2.0": build_release(changed_sources, changed, tmp / "out", "0.2.0", fetch=False),
        "0.1.0-changed": build_release(changed_sources, changed, tmp / "changed-out", "0.1.0", fetch=False),
    }


@pytest.fixture
def hf_env(tmp_path, monkeypatch) -> Path:
    """A fresh HF home per test, online, no telemetry, and no token but the ones a test gives."""
    import huggingface_hub.constants

    home = tmp_path / "hf-home"
    env = {"HF_HOME": str(home), "HF_DATASETS_CACHE": str(home / "datasets"), "HF_HUB_DISABLE_TELEMETRY": "1",
           "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(home / "token"))
    return home


@pytest.fixture
def hub(hf_env):
    with FakeHub(token=TOKEN) as server:
        yield server


def to_hub(release: Path, hub: FakeHub, **options):
    return publish(release, REPO, endpoint=hub.url, **{"token": TOKEN, **options})


def release_files(release: Path) -> dict[str, bytes]:
    return {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}


def ids(release: Path, config: str) -> list[str]:
    tables = [pq.read_table(p, columns=["id"]) for p in release.glob(f"{config}/*.parquet")]
    return sorted(i for table in tables for i in table.column("id").to_pylist())


def test_every_release_file_arrives_in_one_commit_tagged_with_the_version(releases, hub):
    release = releases["0.1.0"]
    result = to_hub(release, hub)

    repo = hub.repos[REPO]
    assert result.status == "published" and result.tag == "v0.1.0" and result.previous is None
    assert repo.tags == {"v0.1.0": result.commit} and repo.branches["main"] == result.commit
    assert repo.commits[result.commit].message == "Publish coig 0.1.0"
    assert hub.calls == PUBLISH_CALLS and hub.calls.count("POST /api/datasets/{repo}/commit/{rev}") == 1
    assert hub.unhandled == []
    arrived = hub.files(REPO, "v0.1.0")
    expected = release_files(release)
    card = expected.pop("README.md").decode()
    assert arrived.pop(".gitattributes")  # the Hub's own file is kept
    changelog = "## Changelog\n\n### 0.1.0\n\nFirst release in this repository.\n"
    assert arrived.pop("README.md").decode() == card.rstrip("\n") + "\n\n" + changelog
    assert arrived == expected  # every parquet file, manifest.json and rejects.parquet, byte for byte


def test_the_next_version_gets_a_changelog_and_stale_files_are_deleted(releases, hub):
    first = to_hub(releases["0.1.0"], hub)
    second = to_hub(releases["0.2.0"], hub)

    assert second.previous == "v0.1.0"
    assert hub.repos[REPO].tags == {"v0.1.0": first.commit, "v0.2.0": second.commit}
    assert hub.repos[REPO].commits[second.commit].parent == first.commit
    card = hub.files(REPO, "v0.2.0")["README.md"].decode()
    table = card.split("## Changelog\n")[1]
    assert f"Records added and removed since v0.1.0 (commit {first.commit[:12]}), by record id:" in table
    assert "| `exam_instructions` | 0 | 0 | 10 |" in table
    assert "| `human_value_alignment_instructions` | 1 | 1 | 2 |" in table
    assert "| `leetcode_instructions` | 0 | 2 | 4 |" in table
    assert "| `translated_instructions` | 0 | 1 | 2 |" in table
    # v0.1.0 had a translated test split that v0.2.0 has not: it must not linger and match the split glob
    assert "translated_instructions/test-00000-of-00001.parquet" in hub.files(REPO, "v0.1.0")
    assert set(hub.files(REPO, "v0.2.0")) == set(release_files(releases["0.2.0"])) | {".gitattributes"}


def test_a_version_published_with_other_data_is_refused_and_its_tag_stays(releases, hub):
    first = to_hub(releases["0.1.0"], hub)
    hub.calls.clear()
    with pytest.raises(CoigError, match=r"v0\.1\.0 is already published \(commit \w{12}\) with different data: "
                                        r"7 file\(s\) differ, "
                                        r"e.g. human_value_alignment_instructions/train-00000-of-00001.parquet") as error:
        to_hub(releases["0.1.0-changed"], hub)
    assert "never changed or moved" in str(error.value)
    assert hub.repos[REPO].tags == {"v0.1.0": first.commit} and hub.repos[REPO].branches["main"] == first.commit
    assert not [c for c in hub.calls if "/commit/" in c or "/tag/" in c or "/preupload/" in c]


def test_republishing_identical_data_does_nothing_even_after_a_later_version(releases, hub):
    first = to_hub(releases["0.1.0"], hub)
    second = to_hub(releases["0.2.0"], hub)  # its card differs from what 0.1.0 would get now; only data counts
    hub.calls.clear()
    again = to_hub(releases["0.1.0"], hub)

    assert again.status == "identical" and again.commit == first.commit
    assert again.summary() == f"{REPO}: v0.1.0 already published, identical (commit {first.commit[:12]}); nothing done"
    assert hub.repos[REPO].branches["main"] == second.commit
    assert not [c for c in hub.calls if c.startswith("POST") and "/repos/create" not in c]


def test_a_failed_commit_says_what_failed_and_tags_nothing(releases, hub):
    hub.fail_commits(REPO, 500)
    with pytest.raises(CoigError, match=r"coig-org/coig-zh: uploading the release as one commit to main failed \(.*500.*\); "
                                        r"the Hub failed: nothing was tagged"):
        to_hub(releases["0.1.0"], hub)
    assert hub.repos[REPO].tags == {}
    assert set(hub.files(REPO, "main")) == {".gitattributes"}

    assert to_hub(releases["0.1.0"], hub).status == "published"  # once the Hub is back, the same call works


def test_the_token_appears_nowhere(releases, hub, monkeypatch, caplog, capsys):
    """The token comes from HF_TOKEN; a failing server echoes the request headers into its error."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    publish(releases["0.1.0"], REPO, endpoint=hub.url)

    def echo_headers(request):
        from loopback import Response

        body = json.dumps({"error": f"proxy failed on {request.headers}"}).encode()
        return Response(500, body, {"Content-Type": "application/json"})

    hub.server.serve(f"/api/datasets/{REPO}/commit/main", echo_headers)
    with pytest.raises(CoigError) as error:
        publish(releases["0.2.0"], REPO, endpoint=hub.url)

    sent = [v for r in hub.server.requests for k, v in r.headers.items() if k.lower() == "authorization"]
    assert f"Bearer {TOKEN}" in sent  # the token was really used
    assert "proxy failed" in str(error.value) and "Bearer ***" in str(error.value)
    out, err = capsys.readouterr()
    uploaded = b"".join(content for commit in hub.repos[REPO].commits.values() for content in commit.files.values())
    for place in (str(error.value), repr(error.value), caplog.text, out, err, uploaded.decode("latin-1")):
        assert TOKEN not in place and TOKEN[3:] not in place


def test_a_wrong_or_missing_token_is_a_clear_error(releases, hub):
    with pytest.raises(CoigError, match=r"creating the dataset repo failed .*401.*check that your token") as error:
        to_hub(releases["0.1.0"], hub, token="hf_wrongTOKEN999")
    assert "wrongTOKEN999" not in str(error.value)
    with pytest.raises(CoigError, match="check that your token"):
        publish(releases["0.1.0"], REPO, endpoint=hub.url)  # no argument, no HF_TOKEN, no login
    assert REPO not in hub.repos


def test_a_branch_gets_the_commit_and_main_stays(releases, hub):
    result = to_hub(releases["0.1.0"], hub, branch="releases", private=True, message="coig 0.1.0 from the nightly build")
    repo = hub.repos[REPO]
    assert repo.private and repo.branches["releases"] == result.commit == repo.tags["v0.1.0"]
    assert set(hub.files(REPO, "main")) == {".gitattributes"}
    assert repo.commits[result.commit].message == "coig 0.1.0 from the nightly build"


def test_researchers_load_each_version_by_its_tag(releases, hub, hf_env):
    to_hub(releases["0.1.0"], hub)
    to_hub(releases["0.2.0"], hub)
    hub.calls.clear()
    script = (
        "import datasets, json, sys\n"
        "out = {}\n"
        "for revision in ('v0.1.0', 'v0.2.0'):\n"
        "    for config in ('human_value_alignment_instructions', 'translated_instructions'):\n"
        f"        ds = datasets.load_dataset({REPO!r}, config, revision=revision)\n"
        "        out[f'{revision} {config}'] = {split: sorted(ds[split]['id']) for split in ds}\n"
        "json.dump(out, sys.stdout)\n"
    )
    env = {**os.environ, "HF_ENDPOINT": hub.url}  # a researcher: no token, a fresh cache (hf_env)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout)

    for version in ("0.1.0", "0.2.0"):
        for config in ("human_value_alignment_instructions", "translated_instructions"):
            got = loaded[f"v{version} {config}"]
            assert sorted(i for split in got.values() for i in split) == ids(releases[version], config)
    assert set(loaded["v0.1.0 translated_instructions"]) == {"train", "test"}
    assert set(loaded["v0.2.0 translated_instructions"]) == {"train"}
    assert loaded["v0.1.0 human_value_alignment_instructions"] != loaded["v0.2.0 human_value_alignment_instructions"]
    assert hub.unhandled == []
    assert set(hub.calls) <= {"GET /api/datasets/{repo}/revision/{rev}", "GET /api/datasets/{repo}/tree/{rev}/{path}",
                              "HEAD /datasets/{repo}/resolve/{rev}/{path}", "GET /datasets/{repo}/resolve/{rev}/{path}",
                              "GET /api/agent-harnesses"}
    assert TOKEN not in done.stdout + done.stderr


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_local_git_repo_gets_a_commit_and_a_tag_per_version(releases, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no git identity configured anywhere
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    folder = tmp_path / "published"
    first = publish(releases["0.1.0"], f"file://{folder}")
    second = publish(releases["0.2.0"], f"file://{folder}")

    assert git(folder, "rev-list", "HEAD").split() == [second.commit, first.commit]
    assert git(folder, "rev-parse", "v0.1.0^{commit}") == first.commit
    assert git(folder, "rev-parse", "v0.2.0^{commit}") == second.commit
    assert git(folder, "log", "-1", "--format=%an <%ae>|%s", "v0.1.0") == "coig <coig@localhost>|Publish coig 0.1.0"
    assert git(folder, "status", "--porcelain") == ""
    assert set(git(folder, "ls-tree", "-r", "--name-only", "v0.2.0").split("\n")) == set(release_files(releases["0.2.0"]))
    assert git(folder, "show", "v0.1.0:manifest.json") == (releases["0.1.0"] / "manifest.json").read_text().strip()
    assert "| `leetcode_instructions` | 0 | 2 | 4 |" in git(folder, "show", "v0.2.0:README.md")

    assert publish(releases["0.1.0"], f"file://{folder}").status == "identical"
    with pytest.raises(CoigError, match=r"v0\.1\.0 is already published .* with different data"):
        publish(releases["0.1.0-changed"], f"file://{folder}")
    assert git(folder, "rev-list", "HEAD").split() == [second.commit, first.commit]
    assert git(folder, "rev-parse", "v0.1.0^{commit}") == first.commit


def test_bad_arguments_are_refused_before_anything_happens(releases, tmp_path):
    with pytest.raises(CoigError, match="is not a release folder"):
        publish(tmp_path, "file:///nowhere")
    with pytest.raises(CoigError, match="give ORG/NAME for the Hugging Face Hub or file:///path"):
        publish(releases["0.1.0"], "just-a-name")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CoigError, match="is not a git repository and not empty"):
        publish(releases["0.1.0"], f"file://{tmp_path}")
    assert not (tmp_path / ".git").exists()
