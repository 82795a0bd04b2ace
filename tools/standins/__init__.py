"""Local stand-ins for the hash-sharing exchanges Vigil fetches from, for tests and benchmarks on loopback.

Each stand-in is a small threaded HTTP server that answers a service's documented routes with the
documented shapes, written from the service's documentation and from the requests that
python-threatexchange's (pytx) clients send, never from Vigil's code:

- `threatexchange.py`: Meta's ThreatExchange Graph API (privacy groups, /threat_updates, descriptors,
  reactions), which is how GIFCT's hash-sharing database is reached.
- `tat.py`: Tech Against Terrorism's TCAP hash list (token login, /hash-list/v2 with offset paging
  and a checkpoint), able to serve 10,000,000 entries in little memory.

What this module holds is shared by both: the server base (binds 127.0.0.1 on a free port, runs in a
thread, usable as a context manager), the request log, and fault injection:

    with TATStandin() as tat:
        tat.faults.add("status", on=2, status=503, route="hash_list")   # 2nd hash-list request: 503
        tat.faults.add("delay", on=1, seconds=5)                        # 1st request of any route: slow
        tat.faults.add("malformed", on=3, mode="truncated")             # 3rd request: cut-off JSON
        tat.faults.add("expired_token", on=2, route="hash_list")        # 2nd page: token expired
        tat.faults.add("drop", on=1)                                    # close without answering

`on` counts requests to `route` (every request when route is None), from 1; `times` makes a rule
hold for that many consecutive requests; `faults.next(kind, route)` aims at the next request. Admin routes under `/_standin/` let a separate process
(a benchmark) load records and set faults over HTTP; they need no token and exist only here.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Fault", "Faults", "Request", "Response", "StandinServer", "json_response"]

FAULT_KINDS = ("status", "delay", "malformed", "expired_token", "drop")
MALFORMED_MODES = ("truncated", "not_json", "empty", "wrong_shape")


@dataclass
class Fault:
    """One injected fault: what to do to which request(s)."""

    kind: str
    on: int = 1  # the Nth request (1-based) to `route`
    times: int = 1  # ... and the (times - 1) requests after it
    route: str | None = None  # None: count every request
    status: int = 503
    body: Any = None  # for kind=status: the JSON body (the stand-in's error shape when None)
    seconds: float = 0.0  # for kind=delay
    mode: str = "truncated"  # for kind=malformed
    hits: int = 0  # how many requests this rule has hit

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {self.kind!r}")
        if self.kind == "malformed" and self.mode not in MALFORMED_MODES:
            raise ValueError(f"malformed mode must be one of {MALFORMED_MODES}, not {self.mode!r}")
        if self.on < 1 or self.times < 1:
            raise ValueError("on and times count from 1")


class Faults:
    """The fault rules of one server, and the per-route request counters they are matched against."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self.counts: Counter[str] = Counter()

    def add(self, kind: str, **kw: Any) -> Fault:
        rule = Fault(kind, **kw)
        with self._lock:
            self._rules.append(rule)
        return rule

    def next(self, kind: str, route: str | None = None, **kw: Any) -> Fault:
        """A rule for the next request to `route` (on = requests so far + 1)."""
        with self._lock:
            on = self.counts[route if route is not None else "*"] + 1
        return self.add(kind, on=on, route=route, **kw)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()

    def pick(self, route: str) -> list[Fault]:
        """Count one request to `route` and return the rules that hit it (at most one of each kind)."""
        with self._lock:
            self.counts[route] += 1
            self.counts["*"] += 1
            hit: dict[str, Fault] = {}
            for rule in self._rules:
                n = self.counts[rule.route if rule.route is not None else "*"]
                if rule.on <= n < rule.on + rule.times and rule.kind not in hit:
                    rule.hits += 1
                    hit[rule.kind] = rule
            return list(hit.values())


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    route: str = ""
    expired_token: bool = False  # set by an expired_token fault
    number: int = 0  # position in the server's request log

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query (or form body) parameter, as Django's QueryDict.get and PHP do."""
        value = default
        for k, v in self.query:
            if k == name:
                value = v
        return value

    def form(self) -> list[tuple[str, str]]:
        ctype = self.headers.get("content-type", "")
        if not self.body:
            return []
        if "json" in ctype:
            try:
                data = json.loads(self.body)
            except ValueError:
                return []
            return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()] if isinstance(data, dict) else []
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    wrong_shape: Callable[[], bytes] | None = None  # what a malformed(wrong_shape) fault sends instead


def json_response(payload: Any, status: int = 200, **kw: Any) -> Response:
    return Response(status, json.dumps(payload).encode(), **kw)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small writes (headers, last chunk) must not wait on delayed ACKs
    server: StandinServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the server keeps its own log
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):  # the client gave up (e.g. its timeout ran out)
            pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        server = self.server
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(method, parts.path, parse_qsl(parts.query, keep_blank_values=True),
                      {k.lower(): v for k, v in self.headers.items()}, body)
        if parts.path.startswith("/_standin/"):
            self._send(server.admin(req))
            return
        req.route = server.route_of(req)
        req.number = server._record_request(req)
        faults = {f.kind: f for f in server.faults.pick(req.route)}
        if "delay" in faults:
            server._stopping.wait(faults["delay"].seconds)
        if "drop" in faults:
            self.close_connection = True
            return
        if "status" in faults:
            f = faults["status"]
            self._send(json_response(f.body if f.body is not None else server.error_body(f.status), f.status))
            return
        if "expired_token" in faults:
            req.expired_token = True
        try:
            resp = server.handle_request_obj(req)
        except Exception as exc:  # a bug in the stand-in: answer 500 rather than hang the client
            resp = json_response({"error": f"stand-in error: {exc!r}"}, 500)
        if "malformed" in faults:
            resp = _malform(resp, faults["malformed"].mode)
        self._send(resp)

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if isinstance(resp.body, (bytes, bytearray)):
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            return
        # A large page: stream it in chunks as it is generated, never holding it whole.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        buf: list[bytes] = []
        size = 0
        for piece in resp.body:
            buf.append(piece)
            size += len(piece)
            if size >= 65536:
                self._chunk(b"".join(buf))
                buf, size = [], 0
        self._chunk(b"".join(buf), last=True)

    def _chunk(self, data: bytes, last: bool = False) -> None:
        out = b"%x\r\n%s\r\n" % (len(data), data) if data else b""
        self.wfile.write(out + b"0\r\n\r\n" if last else out)


def _malform(resp: Response, mode: str) -> Response:
    if mode == "not_json":
        return Response(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    if mode == "empty":
        return Response(200, b"")
    if mode == "wrong_shape":
        return Response(200, resp.wrong_shape() if resp.wrong_shape else b'{"unexpected": true}')
    body = resp.body if isinstance(resp.body, (bytes, bytearray)) else b"".join(resp.body)
    return Response(200, bytes(body[: max(1, len(body) // 2)]), content_type=resp.content_type)


class StandinServer(ThreadingHTTPServer):
    """Base of the stand-ins: loopback HTTP server in a thread, request log, faults, context manager."""

    daemon_threads = True
    block_on_close = False  # a handler held by a delay fault must not hold up stop()
    allow_reuse_address = True
    LOG_MAX = 200_000

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.faults = Faults()
        self.requests: deque[Request] = deque(maxlen=self.LOG_MAX)
        self._counter = itertools.count(1)
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandinServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record_request(self, req: Request) -> int:
        with self._log_lock:
            n = next(self._counter)
            # Keep the log small for long benchmarks: the body is dropped for reads.
            self.requests.append(Request(req.method, req.path, req.query, {}, req.body if req.method != "GET" else b"",
                                         req.route, number=n))
            return n

    def requests_to(self, route: str) -> list[Request]:
        return [r for r in list(self.requests) if r.route == route]

    # -- to be given by each stand-in --
    def route_of(self, req: Request) -> str:
        raise NotImplementedError

    def handle_request_obj(self, req: Request) -> Response:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        return {"detail": f"injected fault: HTTP {status}"}

    def admin(self, req: Request) -> Response:
        """`/_standin/faults` (POST a Fault's fields as JSON; DELETE clears), `/_standin/stats`; more per stand-in."""
        if req.path == "/_standin/faults" and req.method == "POST":
            spec = req.json()
            rules = spec if isinstance(spec, list) else [spec]
            try:
                for r in rules:
                    self.faults.add(**r)
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
            return json_response({"ok": True, "rules": len(rules)})
        if req.path == "/_standin/faults" and req.method == "DELETE":
            self.faults.clear()
            return json_response({"ok": True})
        if req.path == "/_standin/stats":
            return json_response(self.stats())
        return json_response({"error": f"no admin route {req.method} {req.path}"}, 404)

    def stats(self) -> dict[str, Any]:
        return {"requests": dict(self.faults.counts)}


def serve_until_interrupted(server: StandinServer, announce: Callable[[str], None] = print) -> None:
    """Run a stand-in in the foreground (for `python tools/standins/X.py`) until SIGINT/SIGTERM."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    announce(server.url)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def now() -> float:
    return time.time()


def chunks(items: Iterator[bytes], sep: bytes = b",") -> Iterator[bytes]:
    """Join a stream of JSON fragments with `sep`, lazily."""
    first = True
    for item in items:
        if not first:
            yield sep
        first = False
        yield item
