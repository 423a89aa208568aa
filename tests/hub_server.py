"""A fake Hugging Face Hub on 127.0.0.1 for tests: dataset repos with commits, branches and tags, and
only the endpoints that huggingface_hub 2.4 (create_repo, create_commit, create_branch, create_tag,
list_repo_refs, list_repo_files, hf_hub_download) and datasets 5.2 (load_dataset with a revision)
were seen to call in the request log: see ROUTES. It is built on loopback.LoopbackServer (its
`fallback` routes every path), so `hub.server.fault(...)`, `.serve(...)` and `.requests` work too.

    with FakeHub(token="hf_test") as hub:
        publish(release, "org/name", token="hf_test", endpoint=hub.url)
        hub.files("org/name", "v0.1.0")          # {path: bytes} at a branch, tag or commit
        hub.fail_commits("org/name", 500)        # the next commit to main answers 500
        hub.calls                                # ["POST /api/repos/create", "GET /api/datasets/{repo}/refs", ...]

Only dataset repos, regular (non-LFS) files sent inline in the commit, one page per listing. Requests
carrying a wrong token get a 401; writes, and reads of a private repo, need the right one. A request
no route handles gets a 404 and is listed in `hub.unhandled`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from loopback import LoopbackServer, Request, Response

INITIAL_FILES = {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
REPO = r"(?P<repo>[^/]+/[^/]+)"
REV = r"(?P<rev>[^/]+)"
ROUTES = [
    ("POST", re.compile(r"/api/repos/create"), "create_repo"),
    ("POST", re.compile(r"/api/validate-yaml"), "validate_yaml"),
    ("GET", re.compile(rf"/api/datasets/{REPO}/refs"), "refs"),
    ("GET", re.compile(rf"/api/datasets/{REPO}/revision/{REV}"), "revision"),
    ("GET", re.compile(rf"/api/datasets/{REPO}/tree/{REV}(?:/(?P<path>.*))?"), "tree"),
    ("POST", re.compile(rf"/api/datasets/{REPO}/preupload/{REV}"), "preupload"),
    ("POST", re.compile(rf"/api/datasets/{REPO}/commit/{REV}"), "commit"),
    ("POST", re.compile(rf"/api/datasets/{REPO}/tag/{REV}"), "tag"),
    ("POST", re.compile(rf"/api/datasets/{REPO}/branch/{REV}"), "branch"),
    ("GET", re.compile(rf"/datasets/{REPO}/resolve/{REV}/(?P<path>.+)"), "resolve"),
    ("GET", re.compile(r"/api/agent-harnesses"), "agent_harnesses"),
]
WRITES = {"create_repo", "preupload", "commit", "tag", "branch"}


def blob_oid(content: bytes) -> str:
    """The git blob id the Hub reports for a regular file."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    sha: str
    parent: str | None
    message: str
    files: dict[str, bytes]


@dataclass
class Repo:
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class FakeHub:
    def __init__(self, token: str):
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.calls: list[str] = []  # "METHOD route" of every handled request, in order
        self.unhandled: list[str] = []
        self.server = LoopbackServer()
        self.server.fallback = self._route
        self._counter = itertools.count()

    def __enter__(self) -> FakeHub:
        self.server.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url("").rstrip("/")

    def fail_commits(self, repo: str, status: int = 500, *, branch: str = "main", times: int | None = 1) -> None:
        self.server.fault(f"/api/datasets/{repo}/commit/{branch}", status, times=times)

    def resolve(self, repo: str, rev: str) -> str:
        found = self.repos[repo]
        sha = found.branches.get(rev) or found.tags.get(rev) or (rev if rev in found.commits else None)
        if sha is None:
            raise KeyError(f"{repo}: no revision {rev}")
        return sha

    def files(self, repo: str, rev: str) -> dict[str, bytes]:
        return dict(self.repos[repo].commits[self.resolve(repo, rev)].files)

    # --- routing -----------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        url = urlsplit(request.path)
        method = "GET" if request.method == "HEAD" else request.method
        for route_method, pattern, name in ROUTES:
            match = pattern.fullmatch(url.path)
            if match and method == route_method:
                break
        else:
            self.unhandled.append(f"{request.method} {url.path}")
            return _error(HubError(404, f"no such endpoint: {url.path}"))
        self.calls.append(f"{request.method} {_template(pattern)}")
        args = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
        try:
            self._authorize(request, name, args.get("repo"))
            return getattr(self, f"_{name}")(request, parse_qs(url.query), **args)
        except HubError as exc:
            return _error(exc)

    def _authorize(self, request: Request, name: str, repo: str | None) -> None:
        header = {k.lower(): v for k, v in request.headers.items()}.get("authorization")
        if header is not None and header != f"Bearer {self.token}":
            raise HubError(401, "Invalid credentials in Authorization header")
        if header is None and (name in WRITES or (repo in self.repos and self.repos[repo].private)):
            raise HubError(401, "Authorization header is required")

    def _repo(self, repo: str) -> Repo:
        if repo not in self.repos:
            raise HubError(404, f"Repository {repo} not found", "RepoNotFound")
        return self.repos[repo]

    def _commit_at(self, repo: str, rev: str) -> Commit:
        found = self._repo(repo)
        try:
            return found.commits[self.resolve(repo, rev)]
        except KeyError:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound") from None

    def _new_commit(self, repo: Repo, parent: str | None, message: str, files: dict[str, bytes]) -> str:
        digest = hashlib.sha1(f"{parent}\n{message}\n{next(self._counter)}".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{blob_oid(files[path])}\n".encode())
        sha = digest.hexdigest()
        repo.commits[sha] = Commit(sha, parent, message, files)
        return sha

    # --- endpoints -----------------------------------------------------------------------------

    def _create_repo(self, request: Request, query) -> Response:
        body = json.loads(request.body)
        if body.get("type") != "dataset":
            raise HubError(400, "this fake Hub holds dataset repos only")
        repo_id = f"{body['organization']}/{body['name']}"
        url = f"{self.url}/datasets/{repo_id}"
        if repo_id in self.repos:
            return _json({"error": "You already created this dataset repo", "url": url}, 409)
        repo = Repo(private=body.get("visibility") == "private" or bool(body.get("private")))
        repo.branches["main"] = self._new_commit(repo, None, "initial commit", dict(INITIAL_FILES))
        self.repos[repo_id] = repo
        return _json({"url": url, "name": repo_id})

    def _validate_yaml(self, request: Request, query) -> Response:
        return _json({"errors": [], "warnings": []})

    def _refs(self, request: Request, query, repo: str) -> Response:
        found = self._repo(repo)

        def refs(kind: str, names: dict[str, str]) -> list[dict]:
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": sha} for n, sha in sorted(names.items())]

        answer = {"branches": refs("heads", found.branches), "converts": [], "tags": refs("tags", found.tags)}
        if query.get("include_prs"):
            answer["pullRequests"] = []
        return _json(answer)

    def _revision(self, request: Request, query, repo: str, rev: str) -> Response:
        commit = self._commit_at(repo, rev)
        return _json({
            "id": repo, "sha": commit.sha, "private": self.repos[repo].private, "disabled": False, "gated": False,
            "siblings": [{"rfilename": path} for path in sorted(commit.files)],
        })

    def _tree(self, request: Request, query, repo: str, rev: str, path: str = "") -> Response:
        files = self._commit_at(repo, rev).files
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        if prefix and not any(p.startswith(prefix) for p in files):
            raise HubError(404, f"{path} does not exist at {rev}", "EntryNotFound")
        recursive = query.get("recursive", ["False"])[0].lower() in ("1", "true")
        entries: dict[str, dict] = {}
        for file in sorted(files):
            if not file.startswith(prefix):
                continue
            parts = file[len(prefix):].split("/")
            for depth in range(1, len(parts)):  # the folders on the way
                if depth > 1 and not recursive:
                    break
                folder = prefix + "/".join(parts[:depth])
                entries.setdefault(folder, _entry(folder, files))
            if len(parts) == 1 or recursive:
                entries[file] = _entry(file, files)
        return _json(list(entries.values()))

    def _resolve(self, request: Request, query, repo: str, rev: str, path: str) -> Response:
        commit = self._commit_at(repo, rev)
        if path not in commit.files:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        content = commit.files[path]
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{blob_oid(content)}"', "Content-Type": "application/octet-stream"}
        return Response(200, content, headers)

    def _agent_harnesses(self, request: Request, query) -> Response:
        raise HubError(404, "no agent harnesses here")  # the real Hub's answer does not matter to the clients

    def _preupload(self, request: Request, query, repo: str, rev: str) -> Response:
        self._commit_at(repo, rev)
        files = json.loads(request.body)["files"]
        return _json({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})

    def _commit(self, request: Request, query, repo: str, rev: str) -> Response:
        found = self._repo(repo)
        if rev not in found.branches:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
        header = lines[0]["value"]
        head = found.branches[rev]
        if header.get("parentCommit") not in (None, head):
            raise HubError(412, f"A commit has happened since {header['parentCommit']}: {rev} is at {head}")
        files = dict(found.commits[head].files)
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file" and value.get("encoding") == "base64":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                folder = value["path"].rstrip("/") + "/"
                files = {p: c for p, c in files.items() if not p.startswith(folder)}
            else:
                raise HubError(400, f"this fake Hub does not take {key} operations")
        message = header["summary"] + ("\n\n" + header["description"] if header.get("description") else "")
        sha = self._new_commit(found, head, message, files)
        found.branches[rev] = sha
        return _json({"commitUrl": f"{self.url}/datasets/{repo}/commit/{sha}", "commitOid": sha,
                      "success": True, "pullRequestUrl": None})

    def _tag(self, request: Request, query, repo: str, rev: str) -> Response:
        sha = self._commit_at(repo, rev).sha
        name = json.loads(request.body)["tag"]
        if name in self.repos[repo].tags:
            raise HubError(409, f"Tag {name} already exists")
        self.repos[repo].tags[name] = sha
        return _json({})

    def _branch(self, request: Request, query, repo: str, rev: str) -> Response:
        found = self._repo(repo)
        body = json.loads(request.body or b"{}")
        if rev in found.branches:
            raise HubError(409, f"Branch {rev} already exists")
        found.branches[rev] = self._commit_at(repo, body.get("startingPoint") or "main").sha
        return _json({})


def _entry(path: str, files: dict[str, bytes]) -> dict:
    if path in files:
        return {"type": "file", "path": path, "size": len(files[path]), "oid": blob_oid(files[path])}
    return {"type": "directory", "path": path, "size": 0, "oid": hashlib.sha1(path.encode()).hexdigest()}


def _template(pattern: re.Pattern) -> str:
    """The route as text, e.g. /api/datasets/{repo}/tree/{rev}/{path}."""
    text = re.sub(r"\(\?:/\(\?P<(\w+)>[^)]*\)\)\?", r"/{\1}", pattern.pattern)
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)


def _json(value, status: int = 200) -> Response:
    return Response(status, json.dumps(value).encode(), {"Content-Type": "application/json"})


def _error(exc: HubError) -> Response:
    response = _json({"error": exc.message}, exc.status)
    response.headers["X-Error-Message"] = exc.message
    if exc.code:
        response.headers["X-Error-Code"] = exc.code
    return response
