"""A small HTTP server on 127.0.0.1 for tests: fixed answers per path, scripted faults, a request log.

    from loopback import Fault, LoopbackServer, Response

    with LoopbackServer({"/a.jsonl": b'{"x": 1}\\n'}) as server:
        server.fault("/a.jsonl", 500)                  # the first request gets a 500, the next the body
        server.fault("/b.jsonl", "cut", times=None)    # every request: full Content-Length, half the body
        server.fault("/c.jsonl", Fault(delay=2.0))     # wait 2 s before answering, once
        server.serve("/api/info", Response(headers={"Content-Type": "application/json"}, body=b"{}"))
        server.serve("/api/echo", lambda request: Response(body=request.body))   # computed answers
        httpx.get(server.url("/a.jsonl"))
        assert server.count("/a.jsonl") == 1

As a pytest fixture (the module sits next to the tests, so `import loopback` works)::

    @pytest.fixture
    def server():
        with LoopbackServer() as s:
            yield s

- Paths are matched without their query string; `Request.path` keeps it.
- A path with no answer gets a 404, unless `server.fallback` (a handler) is set: a fake service
  with patterned paths (e.g. a Hugging Face Hub API) can route in one function.
- Faults are consumed in the order they were added, one per request, before the normal answer;
  `times=None` repeats a fault for ever. A fault's status replaces the answer (short text body); a
  cut sends the answer's headers with its full Content-Length and half its body, then closes the
  connection; a delay waits before answering (stopping the server cuts the wait short).
- Every request is logged in `server.requests` (method, path, headers, body), faulty ones included.
- HEAD gets the headers of GET with no body; any method reaches the same handler.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Fault:
    status: int | None = None
    cut: bool = False
    delay: float = 0.0


Handler = Callable[[Request], Response]
Answer = bytes | Response | Handler


class LoopbackServer:
    def __init__(self, files: Mapping[str, bytes] | None = None):
        self._answers: dict[str, Answer] = dict(files or {})
        self._faults: dict[str, list[tuple[Fault, int | None]]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.fallback: Handler | None = None
        self.requests: list[Request] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, path: str, answer: Answer) -> None:
        """Answer requests to `path` with these bytes, this Response, or what this handler returns."""
        with self._lock:
            self._answers[path] = answer

    def fault(self, path: str, fault: Fault | int | str, *, times: int | None = 1) -> None:
        """Queue a fault for `path`: a Fault, a status code (500), or "cut"; times=None: every request."""
        if isinstance(fault, int):
            fault = Fault(status=fault)
        elif fault == "cut":
            fault = Fault(cut=True)
        elif not isinstance(fault, Fault):
            raise ValueError(f"unknown fault {fault!r}: use a Fault, a status code or 'cut'")
        with self._lock:
            self._faults.setdefault(path, []).append((fault, times))

    def url(self, path: str = "/") -> str:
        host, port = self.address
        return f"http://{host}:{port}{path}"

    @property
    def address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("the loopback server is not running")
        return self._httpd.server_address[:2]

    def count(self, path: str, method: str | None = None) -> int:
        """How many requests reached `path` (query string ignored), optionally of one method."""
        return sum(
            1
            for r in self.requests
            if urlsplit(r.path).path == path and (method is None or r.method == method)
        )

    def start(self) -> LoopbackServer:
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="loopback", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path)
            if not queue:
                return None
            fault, times = queue[0]
            if times is not None:
                if times <= 1:
                    queue.pop(0)
                else:
                    queue[0] = (fault, times - 1)
            return fault

    def _answer(self, request: Request) -> Response:
        with self._lock:
            answer = self._answers.get(urlsplit(request.path).path)
        if answer is None:
            return self.fallback(request) if self.fallback else Response(404, b"not found\n")
        if isinstance(answer, bytes):
            return Response(body=answer)
        if isinstance(answer, Response):
            return answer
        return answer(request)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that hangs up mid-exchange (timeouts, abandoned error bodies) is routine here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            with server._lock:
                server.requests.append(request)
            path = urlsplit(self.path).path
            fault = server._take_fault(path) or Fault()
            if fault.delay and server._stopping.wait(fault.delay):
                self.close_connection = True
                return
            if fault.status is not None:
                response = Response(fault.status, f"fault: status {fault.status}\n".encode())
            else:
                response = server._answer(request)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if fault.cut:
                self.wfile.write(response.body[: len(response.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(response.body)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            pass

    return _Handler
