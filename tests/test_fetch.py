import hashlib
import os

import httpx
import pytest
from loopback import Fault, LoopbackServer

from coig import fetch as fetch_module
from coig.errors import SourceError
from coig.fetch import fetch, redact_url
from coig.sources import Source, SourceFile, verify

BODY = '{"instruction": "把下面的句子翻译成英文。", "input": "你好", "output": "Hello"}\n'.encode() * 50
BODY_SHA = hashlib.sha256(BODY).hexdigest()
OTHER = b'{"instruction": "other"}\n'
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()


@pytest.fixture
def server():
    with LoopbackServer({"/a.jsonl": BODY, "/b.jsonl": OTHER}) as s:
        yield s


def make_source(*files: SourceFile, name: str = "demo", optional: bool = False) -> Source:
    return Source(
        name=name,
        builder=None,
        reader="jsonl",
        license="mit",
        homepage="https://example.org",
        optional=optional,
        files=list(files),
    )


def a_file(server, sha256: str = BODY_SHA, path: str = "x/a.jsonl", url_path: str = "/a.jsonl") -> SourceFile:
    return SourceFile(path=path, url=server.url(url_path), sha256=sha256)


def quick_fetch(sources, root, **kwargs):
    kwargs.setdefault("backoff", 0)
    return fetch(sources, root, **kwargs)


def test_missing_file_is_downloaded_with_its_exact_bytes(server, tmp_path):
    source = make_source(a_file(server))
    lines = []

    report = quick_fetch([source], tmp_path, progress=lines.append)

    assert (tmp_path / "x/a.jsonl").read_bytes() == BODY
    verify(source, tmp_path)
    assert report.downloaded == ["x/a.jsonl"]
    assert report.bytes_downloaded == len(BODY)
    assert report.present == [] and report.skipped == []
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["a.jsonl"]
    assert server.count("/a.jsonl", "GET") == 1
    assert lines == [
        f"downloading x/a.jsonl from {server.url('/a.jsonl')}",
        f"downloaded x/a.jsonl ({len(BODY)} bytes, sha256 ok)",
    ]


def test_downloaded_file_honours_the_umask_not_owner_only(server, tmp_path):
    old = os.umask(0o022)
    try:
        quick_fetch([make_source(a_file(server))], tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "x/a.jsonl").stat().st_mode & 0o777 == 0o644


def test_checksum_mismatch_leaves_nothing_and_is_not_retried(server, tmp_path):
    source = make_source(a_file(server, sha256=OTHER_SHA))

    with pytest.raises(SourceError) as caught:
        quick_fetch([source], tmp_path)

    message = str(caught.value)
    assert "source demo: x/a.jsonl" in message
    assert server.url("/a.jsonl") in message
    assert f"the downloaded bytes have sha256 {BODY_SHA}, the manifest expects {OTHER_SHA}" in message
    assert "fix the url or the sha256" in message
    assert "Traceback" not in message
    assert list((tmp_path / "x").iterdir()) == []
    assert server.count("/a.jsonl") == 1


def test_connection_cut_mid_file_fails_clearly_and_leaves_nothing(server, tmp_path):
    server.fault("/a.jsonl", "cut", times=None)

    with pytest.raises(SourceError) as caught:
        quick_fetch([make_source(a_file(server))], tmp_path, retries=1)

    message = str(caught.value)
    assert "source demo: x/a.jsonl" in message
    assert "connection failed (RemoteProtocolError" in message
    assert "(after 2 attempts)" in message
    assert "check your network" in message and "put the file there by hand" in message
    assert list((tmp_path / "x").iterdir()) == []
    assert server.count("/a.jsonl") == 2


def test_cut_once_then_whole_file_on_retry(server, tmp_path):
    server.fault("/a.jsonl", "cut")

    report = quick_fetch([make_source(a_file(server))], tmp_path, retries=2)

    assert (tmp_path / "x/a.jsonl").read_bytes() == BODY
    assert report.downloaded == ["x/a.jsonl"]
    assert server.count("/a.jsonl") == 2
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["a.jsonl"]


def test_404_fails_without_retry(server, tmp_path):
    source = make_source(a_file(server, url_path="/gone.jsonl"))

    with pytest.raises(SourceError) as caught:
        quick_fetch([source], tmp_path, retries=3)

    message = str(caught.value)
    assert f"source demo: x/a.jsonl from {server.url('/gone.jsonl')}: HTTP 404 Not Found;" in message
    assert "check the url in the manifest of source demo" in message
    assert "attempts" not in message
    assert server.count("/gone.jsonl") == 1
    assert not (tmp_path / "x/a.jsonl").exists()


def test_500_then_200_succeeds_after_one_retry(server, tmp_path):
    server.fault("/a.jsonl", 500)

    report = quick_fetch([make_source(a_file(server))], tmp_path)

    assert (tmp_path / "x/a.jsonl").read_bytes() == BODY
    assert report.downloaded == ["x/a.jsonl"]
    assert server.count("/a.jsonl") == 2


def test_server_errors_retry_with_doubling_backoff_then_give_up(server, tmp_path, monkeypatch):
    waits = []
    monkeypatch.setattr(fetch_module.time, "sleep", waits.append)
    server.fault("/a.jsonl", 503, times=None)

    with pytest.raises(SourceError) as caught:
        fetch([make_source(a_file(server))], tmp_path, retries=2, backoff=0.5)

    assert "HTTP 503 Service Unavailable (after 3 attempts); the server may be busy" in str(caught.value)
    assert waits == [0.5, 1.0]
    assert server.count("/a.jsonl") == 3


def test_429_is_retried(server, tmp_path):
    server.fault("/a.jsonl", 429)

    quick_fetch([make_source(a_file(server))], tmp_path)

    assert server.count("/a.jsonl") == 2
    assert (tmp_path / "x/a.jsonl").read_bytes() == BODY


def test_timeout_is_reported_and_leaves_nothing(server, tmp_path):
    server.fault("/a.jsonl", Fault(delay=5.0))

    with pytest.raises(SourceError) as caught:
        quick_fetch([make_source(a_file(server))], tmp_path, retries=0, timeout=0.2)

    assert "timed out (ReadTimeout)" in str(caught.value)
    assert list((tmp_path / "x").iterdir()) == []


def test_present_file_with_right_checksum_is_not_downloaded(server, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x/a.jsonl").write_bytes(BODY)

    report = quick_fetch([make_source(a_file(server))], tmp_path)

    assert report.present == ["x/a.jsonl"]
    assert report.downloaded == []
    assert server.requests == []


def test_present_file_with_wrong_checksum_is_an_error_and_left_alone(server, tmp_path):
    (tmp_path / "x").mkdir()
    target = tmp_path / "x/a.jsonl"
    local = b"local edit\n"
    target.write_bytes(local)
    before = target.stat().st_mtime_ns

    with pytest.raises(SourceError) as caught:
        quick_fetch([make_source(a_file(server))], tmp_path)

    message = str(caught.value)
    assert f"source demo: x/a.jsonl: {target} has sha256 {hashlib.sha256(local).hexdigest()}" in message
    assert "delete the file to download it again, or fix the manifest" in message
    assert target.read_bytes() == local
    assert target.stat().st_mtime_ns == before
    assert server.requests == []


def test_optional_source_without_url_is_skipped_and_reported(server, tmp_path):
    source = make_source(
        SourceFile(path="opt/held_back.jsonl", url=None, sha256=OTHER_SHA), name="extra", optional=True
    )
    lines = []

    report = quick_fetch([source], tmp_path, progress=lines.append)

    assert report.skipped == ["opt/held_back.jsonl"]
    assert report.downloaded == [] and report.present == []
    assert "1 skipped (optional, no upstream address): opt/held_back.jsonl" in report.summary()
    assert lines == ["skipped opt/held_back.jsonl: missing, and optional source extra has no upstream address for it"]
    assert not (tmp_path / "opt").exists()


def test_required_source_without_url_is_an_error(tmp_path):
    source = make_source(SourceFile(path="req/held_back.jsonl", url=None, sha256=OTHER_SHA), name="needed")

    with pytest.raises(SourceError) as caught:
        quick_fetch([source], tmp_path)

    assert (
        f"source needed: req/held_back.jsonl is missing and has no upstream address; "
        f"put the file there by hand at {tmp_path / 'req/held_back.jsonl'}"
    ) in str(caught.value)


def test_every_failure_is_listed_and_good_files_are_kept(server, tmp_path):
    broken = make_source(
        a_file(server, path="one/a.jsonl", url_path="/missing.jsonl"),
        a_file(server, path="one/b.jsonl", url_path="/b.jsonl", sha256=OTHER_SHA),
        name="one",
    )
    wrong = make_source(a_file(server, path="two/a.jsonl", sha256=OTHER_SHA), name="two")

    with pytest.raises(SourceError) as caught:
        quick_fetch([broken, wrong], tmp_path)

    lines = str(caught.value).splitlines()
    assert lines[0] == f"2 source file(s) could not be made ready in the data root {tmp_path}:"
    assert lines[1].startswith("  - source one: one/a.jsonl from ") and "HTTP 404" in lines[1]
    assert lines[2].startswith("  - source two: two/a.jsonl from ") and "sha256" in lines[2]
    assert len(lines) == 3
    assert (tmp_path / "one/b.jsonl").read_bytes() == OTHER


def test_credentials_in_url_never_reach_the_message(server, tmp_path):
    host, port = server.address
    url = f"http://reader:s3cr3t@{host}:{port}/missing.jsonl"
    source = make_source(SourceFile(path="x/a.jsonl", url=url, sha256=BODY_SHA))
    lines = []

    with pytest.raises(SourceError) as caught:
        quick_fetch([source], tmp_path, progress=lines.append)

    assert "s3cr3t" not in str(caught.value)
    assert f"from http://{host}:{port}/missing.jsonl:" in str(caught.value)
    assert not any("s3cr3t" in line for line in lines)


def test_redact_url_strips_only_userinfo():
    assert redact_url("https://u:p@example.org:8443/a/b.json?ref=main") == "https://example.org:8443/a/b.json?ref=main"
    assert redact_url("https://raw.githubusercontent.com/o/r/abc/f.json") == "https://raw.githubusercontent.com/o/r/abc/f.json"


def test_path_leaving_the_data_root_is_refused(server, tmp_path):
    root = tmp_path / "root"
    source = make_source(a_file(server, path="../escape.jsonl"))

    with pytest.raises(SourceError, match="the path leads out of the data root"):
        quick_fetch([source], root)

    assert not (tmp_path / "escape.jsonl").exists()
    assert server.requests == []


def test_given_client_is_used_and_left_open(server, tmp_path):
    with httpx.Client(headers={"User-Agent": "coig-test"}) as client:
        quick_fetch([make_source(a_file(server))], tmp_path, client=client)
        assert not client.is_closed
    assert server.requests[0].headers["User-Agent"] == "coig-test"


def test_after_a_host_cannot_be_reached_its_other_files_are_not_tried(server, tmp_path):
    server.fault("/a.jsonl", "cut", times=None)
    source = make_source(a_file(server), SourceFile(path="x/b.jsonl", url=server.url("/b.jsonl"), sha256=OTHER_SHA))
    with pytest.raises(SourceError) as error:
        quick_fetch([source], tmp_path, retries=1)
    message = str(error.value)
    assert "x/a.jsonl" in message and "(after 2 attempts)" in message
    assert f"x/b.jsonl from {server.url('/b.jsonl')}: not tried, 127.0.0.1:{server.address[1]} could not be reached" in message
    assert server.count("/b.jsonl") == 0
