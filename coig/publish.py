"""Publish a release folder as one commit and an immutable version tag `v<version>`: to a dataset repo
on the Hugging Face Hub (`org/name`) or to a local git repository (`file:///path`).

A version is published once. Publishing it again is a no-op when its data files (the sha256 in
manifest.json) are those of the tagged commit, and is refused otherwise; a tag is never moved or
deleted. The uploaded card gets a changelog: records added and removed per config since the highest
earlier version in the repo. The commit holds exactly the release (plus the Hub's .gitattributes):
files an earlier version had and this one has not are deleted, so no stale shard matches a split.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from packaging.version import InvalidVersion, Version

from coig.errors import CoigError
from coig.sources import sha256_of

log = logging.getLogger("coig")
REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")
KEPT_ON_HUB = {".gitattributes"}
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "coig", "GIT_AUTHOR_EMAIL": "coig@localhost",
                "GIT_COMMITTER_NAME": "coig", "GIT_COMMITTER_EMAIL": "coig@localhost"}


@dataclass
class PublishResult:
    repo: str
    version: str
    tag: str
    commit: str
    status: str  # "published", or "identical": that version was already published with these data files
    previous: str | None  # the tag the changelog compares with
    changelog: str

    def summary(self) -> str:
        if self.status == "identical":
            return f"{self.repo}: {self.tag} already published, identical (commit {self.commit[:12]}); nothing done"
        since = f"changes since {self.previous}" if self.previous else "first release"
        return f"{self.repo}: published {self.tag} as commit {self.commit[:12]} ({since})"


def publish(
    release: Path,
    repo: str,
    *,
    private: bool = False,
    branch: str | None = None,
    message: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
) -> PublishResult:
    """Push `release` as one commit tagged v<version> to `repo`: ORG/NAME on the Hub, or file:///path."""
    release = Path(release)
    manifest = _read_release(release)
    version, name = manifest["version"], manifest["name"]
    tag = f"v{version}"
    if repo.startswith("file://"):
        target = _GitRepo(Path(repo.removeprefix("file://")).expanduser().resolve(), branch)
    elif REPO_ID.fullmatch(repo):
        target = _Hub(repo, private=private, branch=branch, token=token, endpoint=endpoint)
    else:
        raise CoigError(f"{repo!r} is not a repository: give ORG/NAME for the Hugging Face Hub "
                        "or file:///path for a local git repository")

    with target:
        tags = target.tags()
        if tag in tags:
            return _published_before(release, repo, manifest, tag, tags[tag], target)
        previous = _previous_tag(tags, version)
        changelog = _changelog(release, manifest, target, previous, tags)
        files: dict[str, Path | bytes] = {path: release / path for path in manifest["files"]}
        files["manifest.json"] = release / "manifest.json"
        card = (release / "README.md").read_text(encoding="utf-8").rstrip("\n")
        files["README.md"] = f"{card}\n\n{changelog}".encode()
        log.info("publishing %s %s to %s (%d files)", name, tag, repo, len(files))
        commit = target.commit(files, message or f"Publish {name} {version}")
        target.tag(tag, commit, f"{name} {version}")
    result = PublishResult(repo, version, tag, commit, "published", previous, changelog)
    log.info("%s", result.summary())
    return result


def _read_release(release: Path) -> dict:
    path = release / "manifest.json"
    if not path.is_file() or not (release / "README.md").is_file():
        raise CoigError(f"{release} is not a release folder (no manifest.json or README.md): give the folder `coig build` wrote")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["version"], manifest["name"], manifest["files"]
    except (ValueError, KeyError) as exc:
        raise CoigError(f"{path} is not a coig release manifest ({exc}): rebuild the release") from None
    for rel, entry in manifest["files"].items():
        if not (release / rel).is_file() or sha256_of(release / rel) != entry["sha256"]:
            raise CoigError(f"{release / rel} is missing or differs from its sha256 in manifest.json: rebuild the release")
    return manifest


def _published_before(release: Path, repo: str, manifest: dict, tag: str, commit: str, target) -> PublishResult:
    raw = target.read(commit, "manifest.json")
    theirs = {p: e["sha256"] for p, e in json.loads(raw)["files"].items()} if raw else None
    ours = {p: e["sha256"] for p, e in manifest["files"].items()}
    if theirs == ours:
        result = PublishResult(repo, manifest["version"], tag, commit, "identical", None, "")
        log.info("%s", result.summary())
        return result
    if theirs is None:
        detail = "and holds no manifest.json"
    else:
        differ = sorted(p for p in ours.keys() | theirs.keys() if ours.get(p) != theirs.get(p))
        detail = f"with different data: {len(differ)} file(s) differ, e.g. {', '.join(differ[:3])}"
    raise CoigError(
        f"{repo}: {tag} is already published (commit {commit[:12]}) {detail}. A published version is never changed "
        f"or moved: build this data as a new version (coig build --version ...) and publish that")


def _previous_tag(tags: dict[str, str], version: str) -> str | None:
    earlier = []
    for name in tags:
        try:
            if name.startswith("v") and Version(name[1:]) < Version(version):
                earlier.append((Version(name[1:]), name))
        except InvalidVersion:
            continue
    return max(earlier)[1] if earlier else None


def _ids(parquet: Path | bytes) -> list[str]:
    source = pa.BufferReader(parquet) if isinstance(parquet, bytes) else parquet
    return pq.read_table(source, columns=["id"]).column("id").to_pylist()


def _ids_by_config(paths: list[str], load) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    for path in paths:
        if "/" in path and path.endswith(".parquet"):
            ids.setdefault(path.split("/")[0], set()).update(_ids(load(path)))
    return ids


def _changelog(release: Path, manifest: dict, target, previous: str | None, tags: dict[str, str]) -> str:
    head = f"## Changelog\n\n### {manifest['version']}\n\n"
    if previous is None:
        return head + "First release in this repository.\n"
    commit = tags[previous]
    raw = target.read(commit, "manifest.json")
    if raw is None:
        return head + f"The previous version, {previous}, has no manifest.json: no record counts to compare with.\n"
    before = _ids_by_config(list(json.loads(raw)["files"]), lambda p: target.read(commit, p))
    now = _ids_by_config(list(manifest["files"]), lambda p: release / p)
    rows = [
        f"| `{config}` | {len(now.get(config, set()) - before.get(config, set()))} "
        f"| {len(before.get(config, set()) - now.get(config, set()))} | {len(now.get(config, set()))} |"
        for config in sorted(before.keys() | now.keys())
    ]
    return head + (
        f"Records added and removed since {previous} (commit {commit[:12]}), by record id:\n\n"
        "| config | added | removed | records now |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


class _Hub:
    """A dataset repo on the Hub, through huggingface_hub's HfApi."""

    def __init__(self, repo: str, *, private: bool, branch: str | None, token: str | None, endpoint: str | None):
        from huggingface_hub import HfApi, get_token

        self.repo, self.private, self.branch = repo, private, branch or "main"
        self.api = HfApi(endpoint=endpoint, token=token)
        self._secret = token or get_token()  # only to scrub it from error messages
        self._heads: dict[str, str] = {}
        self._cache: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> _Hub:
        self._cache = tempfile.TemporaryDirectory(prefix="coig-publish-")
        return self

    def __exit__(self, *exc_info) -> None:
        self._cache.cleanup()

    def tags(self) -> dict[str, str]:
        # private=None, not False: a new repo then follows its organization's default visibility
        self._call("creating the dataset repo", self.api.create_repo, self.repo, repo_type="dataset",
                   private=self.private or None, exist_ok=True)
        refs = self._call("listing the repo's tags", self.api.list_repo_refs, self.repo, repo_type="dataset")
        self._heads = {b.name: b.target_commit for b in refs.branches}
        return {t.name: t.target_commit for t in refs.tags}

    def read(self, commit: str, path: str) -> bytes | None:
        from huggingface_hub.errors import EntryNotFoundError

        try:
            local = self.api.hf_hub_download(self.repo, path, repo_type="dataset", revision=commit,
                                             cache_dir=self._cache.name)
        except EntryNotFoundError:
            return None
        except Exception as exc:
            raise self._error(f"downloading {path} at {commit[:12]}", exc) from None
        return Path(local).read_bytes()

    def commit(self, files: dict[str, Path | bytes], message: str) -> str:
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        parent = self._heads.get(self.branch)
        if parent is None:
            self._call(f"creating branch {self.branch}", self.api.create_branch, self.repo, branch=self.branch,
                       repo_type="dataset")
            parent = self._call("listing the repo's branches", self.api.list_repo_refs, self.repo, repo_type="dataset")
            parent = {b.name: b.target_commit for b in parent.branches}[self.branch]
        present = self._call("listing the files on " + self.branch, self.api.list_repo_files, self.repo,
                             repo_type="dataset", revision=parent)
        operations = [CommitOperationAdd(p, str(src) if isinstance(src, Path) else src) for p, src in sorted(files.items())]
        operations += [CommitOperationDelete(p) for p in sorted(present) if p not in files and p not in KEPT_ON_HUB]
        info = self._call(f"uploading the release as one commit to {self.branch}", self.api.create_commit, self.repo,
                          operations, commit_message=message, repo_type="dataset", revision=self.branch,
                          parent_commit=parent)
        return info.oid

    def tag(self, name: str, commit: str, message: str) -> None:
        self._call(f"tagging commit {commit[:12]} as {name} (the commit is on {self.branch}, untagged)",
                   self.api.create_tag, self.repo, tag=name, revision=commit, tag_message=message, repo_type="dataset")

    def _call(self, what: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            raise self._error(what, exc) from None

    def _error(self, what: str, exc: Exception) -> CoigError:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            hint = "check that your token (HF_TOKEN, or `hf auth login`) may write to this repo"
        elif status is not None and status >= 500:
            hint = "the Hub failed: nothing was tagged; try again later"
        else:
            hint = "nothing was tagged; check the repo name and your network, then try again"
        text = re.sub(r"For more information check: \S+", "", f"{type(exc).__name__}: {exc}")
        text = re.sub(r"\s+", " ", text).strip()
        if self._secret:
            text = text.replace(self._secret, "***")
        text = re.sub(r"(Bearer\s+)[^\s'\",;]+", r"\1***", re.sub(r"hf_[A-Za-z0-9]{6,}", "hf_***", text))
        return CoigError(f"{self.repo}: {what} failed ({text}); {hint}")


class _GitRepo:
    """A local git repository (a working tree), driven with the git command line."""

    def __init__(self, path: Path, branch: str | None):
        self.path, self.branch = path, branch

    def __enter__(self) -> _GitRepo:
        if not (self.path / ".git").exists():
            if self.path.exists() and any(self.path.iterdir()):
                raise CoigError(f"{self.path} is not a git repository and not empty: "
                                "give an empty or new folder, or a git repository")
            self.path.mkdir(parents=True, exist_ok=True)
            self._git("init", "-q")
            self._git("symbolic-ref", "HEAD", f"refs/heads/{self.branch or 'main'}")
        if self._git("status", "--porcelain", "--untracked-files=all").strip():
            raise CoigError(f"{self.path} has uncommitted changes: commit or remove them, then publish again")
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def tags(self) -> dict[str, str]:
        lines = self._git("for-each-ref", "--format=%(refname:strip=2) %(objectname) %(*objectname)", "refs/tags").decode()
        tags = {}
        for line in lines.splitlines():
            name, target, *dereferenced = line.split()
            tags[name] = dereferenced[0] if dereferenced else target  # an annotated tag points at its commit
        return tags

    def read(self, commit: str, path: str) -> bytes | None:
        done = subprocess.run(["git", "-C", str(self.path), "cat-file", "blob", f"{commit}:{path}"], capture_output=True)
        return done.stdout if done.returncode == 0 else None

    def commit(self, files: dict[str, Path | bytes], message: str) -> str:
        current = self._git("symbolic-ref", "--short", "HEAD").decode().strip()
        if self.branch and self.branch != current:
            exists = subprocess.run(["git", "-C", str(self.path), "rev-parse", "-q", "--verify",
                                     f"refs/heads/{self.branch}"], capture_output=True).returncode == 0
            self._git("checkout", "-q", *([] if exists else ["-b"]), self.branch)
        self._git("rm", "-r", "-q", "--ignore-unmatch", "--", ".")
        for rel, source in files.items():
            destination = self.path / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, Path):
                shutil.copyfile(source, destination)
            else:
                destination.write_bytes(source)
        self._git("add", "-A")
        self._git("commit", "-q", "-m", message)
        return self._git("rev-parse", "HEAD").decode().strip()

    def tag(self, name: str, commit: str, message: str) -> None:
        self._git("tag", "-a", name, "-m", message, commit)

    def _git(self, *args: str) -> bytes:
        command = ["git", "-C", str(self.path), "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args]
        done = subprocess.run(command, capture_output=True, env={**os.environ, **GIT_IDENTITY})
        if done.returncode != 0:
            raise CoigError(f"{self.path}: git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout
