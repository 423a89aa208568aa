"""Download the files a manifest names that are missing from the data root, checked against their sha256.

A file is written only whole and verified: the download streams into a temporary file next to its
destination, which is fsynced, checked, then renamed into place; any failure removes it. Files
already present are checked, never overwritten. Connection errors, timeouts, 429 and 5xx are retried
with a doubling backoff; other statuses and checksum mismatches are not. All failures are gathered
and raised as one SourceError that lists each file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from coig.errors import SourceError
from coig.sources import Source, SourceFile, resolve_data_root, sha256_of

CHUNK_SIZE = 1 << 16
HINTS = {
    "network": "check your network and run `coig sources fetch` again, or put the file there by hand at {dest}",
    "busy": "the server may be busy or down: try again later, or put the file there by hand at {dest}",
    "status": "check the url in {manifest}, or put the file there by hand at {dest}",
    "checksum": "upstream changed or the url is not pinned to a commit: fix the url or the sha256 in {manifest}",
    "url": "fix the url in {manifest}",
    "disk": "check that the data root is writable and has free space",
}
RETRYABLE = {"network", "busy"}
MAX_LISTED = 20


@dataclass
class FetchReport:
    """Paths below the data root, by what happened to them."""

    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # missing, no upstream address, optional source
    bytes_downloaded: int = 0

    def summary(self) -> str:
        text = f"{len(self.downloaded)} downloaded ({self.bytes_downloaded} bytes), {len(self.present)} already present"
        if self.skipped:
            text += f", {len(self.skipped)} skipped (optional, no upstream address): {', '.join(self.skipped)}"
        return text


class _Failed(Exception):
    def __init__(self, problem: str, kind: str):
        super().__init__(problem)
        self.problem, self.kind = problem, kind


def redact_url(url: str) -> str:
    """The url without user:password@, for messages."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def fetch(
    sources: Iterable[Source],
    data_root: str | os.PathLike | None,
    *,
    client: httpx.Client | None = None,
    retries: int = 2,
    backoff: float = 1.0,
    timeout: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> FetchReport:
    """Download every missing file of `sources` into the data root and check every present one.

    `data_root` goes through resolve_data_root (None: $COIG_DATA_ROOT, else the user cache).
    `client` is used as given (its timeouts apply); without one, a client with `timeout` seconds
    per read is made and closed. `retries` extra attempts follow retryable failures after
    backoff, 2*backoff, ... seconds. `progress` receives one line per event.
    """
    root = resolve_data_root(data_root)
    report = FetchReport()
    failures: list[str] = []
    say = progress or (lambda _line: None)
    own_client = client is None
    if own_client:
        client = httpx.Client(follow_redirects=True, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
    unreachable: set[str] = set()  # hosts that failed after retries: later files there are not tried
    try:
        for source in sources:
            for entry in source.files:
                failure = _fetch_file(source, entry, root, client, retries, backoff, report, say, unreachable)
                if failure:
                    failures.append(failure)
    finally:
        if own_client:
            client.close()
    if failures:
        shown = failures[:MAX_LISTED]
        if len(failures) > MAX_LISTED:
            shown.append(f"... and {len(failures) - MAX_LISTED} more")
        lines = "\n".join(f"  - {failure}" for failure in shown)
        raise SourceError(f"{len(failures)} source file(s) could not be made ready in the data root {root}:\n{lines}")
    return report


def _fetch_file(
    source: Source,
    entry: SourceFile,
    root: Path,
    client: httpx.Client,
    retries: int,
    backoff: float,
    report: FetchReport,
    say: Callable[[str], None],
    unreachable: set[str],
) -> str | None:
    """Make one file ready; return a failure line, or None."""
    dest = root / entry.path
    where = f"source {source.name}: {entry.path}"
    manifest = source.manifest_path or f"the manifest of source {source.name}"
    if not dest.resolve().is_relative_to(root.resolve()):
        return f"{where}: the path leads out of the data root; fix {manifest}"
    if dest.is_file():
        actual = sha256_of(dest)
        if actual == entry.sha256:
            report.present.append(entry.path)
            return None
        return (
            f"{where}: {dest} has sha256 {actual}, {manifest} expects {entry.sha256}; "
            "delete the file to download it again, or fix the manifest if upstream changed"
        )
    if entry.url is None:
        if source.optional:
            report.skipped.append(entry.path)
            say(f"skipped {entry.path}: missing, and optional source {source.name} has no upstream address for it")
            return None
        return f"{where} is missing and has no upstream address; put the file there by hand at {dest}"

    shown_url = redact_url(entry.url)
    host = urlsplit(shown_url).netloc
    if host in unreachable:
        hint = HINTS["network"].format(manifest=manifest, dest=dest)
        return f"{where} from {shown_url}: not tried, {host} could not be reached for an earlier file; {hint}"
    attempt = 0
    while True:
        attempt += 1
        say(f"downloading {entry.path} from {shown_url}")
        try:
            size = _download(client, entry.url, dest, entry.sha256)
            break
        except _Failed as failed:
            problem = failed.problem.replace(entry.url, shown_url)
            if failed.kind not in RETRYABLE or attempt > retries:
                if failed.kind == "network":
                    unreachable.add(host)
                attempts = f" (after {attempt} attempts)" if attempt > 1 else ""
                hint = HINTS[failed.kind].format(manifest=manifest, dest=dest)
                return f"{where} from {shown_url}: {problem}{attempts}; {hint}"
            wait = backoff * 2 ** (attempt - 1)
            say(f"{entry.path}: {problem}; retrying in {wait:g} s")
            time.sleep(wait)
    report.downloaded.append(entry.path)
    report.bytes_downloaded += size
    say(f"downloaded {entry.path} ({size} bytes, sha256 ok)")
    return None


def _download(client: httpx.Client, url: str, dest: Path, sha256: str) -> int:
    """Stream `url` into a temporary file beside `dest`, check it, rename it into place; return its size."""
    tmp: Path | None = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.part"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # os.open with 0o666 honours the umask; mkstemp would leave the data file readable by its owner only
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _Failed(f"cannot write into {dest.parent}: {exc.strerror or exc}", "disk") from None
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            with client.stream("GET", url) as response:
                if response.status_code != 200:
                    status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                    busy = response.status_code == 429 or response.status_code >= 500
                    raise _Failed(status, "busy" if busy else "status")
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise _Failed(f"the downloaded bytes have sha256 {digest.hexdigest()}, the manifest expects {sha256}", "checksum")
        os.replace(tmp, dest)
        tmp = None
        return size
    except httpx.TimeoutException as exc:
        raise _Failed(f"timed out ({type(exc).__name__})", "network") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise _Failed(f"unusable url ({exc})", "url") from None
    except httpx.TransportError as exc:
        raise _Failed(f"connection failed ({type(exc).__name__}: {exc})", "network") from None
    except httpx.HTTPError as exc:
        raise _Failed(f"download failed ({type(exc).__name__}: {exc})", "status") from None
    except OSError as exc:
        raise _Failed(f"cannot write {dest}: {exc.strerror or exc}", "disk") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
