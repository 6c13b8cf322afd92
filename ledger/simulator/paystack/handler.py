"""The simulator's HTTP plumbing: one handler per connection (HTTP/1.1, keep-alive), the route
table, and the faults that shape or replace an answer.

A Paystack route first calls ``answered_early`` (record the call; apply latency and the next
scripted fault for that call; refuse a wrong bearer secret with 401) and answers only when it
returns False. Faults that replace the answer (``http``, ``html``, ``malformed``, ``drop:
"before"``) are sent there; faults that shape it (``timeout``, ``drip``, ``answer``,
``delay_answer``, ``drop: "after"``) are remembered for this request and applied by ``send``:
``drop: "after"`` lets the route do its work (a refund is created) and then closes the
connection without a byte of answer, the "Paystack accepted it but the client never heard"
case. Control routes (``/_sim/...``) take no faults and no secret.
"""

import contextlib
import hmac
import json
import logging
import socket
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ledger.simulator.answers import error_body, html_page, now
from ledger.simulator.paystack.state import SimState

if TYPE_CHECKING:
    from ledger.simulator.paystack.lifecycle import Lifecycle

log = logging.getLogger("ledger.simulator")

Route = Callable[["Handler"], None]


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        state: SimState,
        lifecycle: "Lifecycle",
        routes: Mapping[tuple[str, str], Route],
        prefixes: Mapping[tuple[str, str], Route],
    ) -> None:
        super().__init__(address, Handler)
        self.state = state
        self.lifecycle = lifecycle
        self.routes = routes
        self.prefixes = prefixes


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    # Set per request (one handler serves every request of a connection):
    path_only: str = ""
    query: dict[str, str] = {}
    body: dict[str, Any] = {}
    shape: dict[str, Any] = {}  # answer-shaping keys of an ``answer`` fault
    _drip: float = 0.0  # seconds between two bytes of this answer
    _delay: float = 0.0  # seconds to wait before answering (after the route's work)
    _drop: bool = False  # close without answering

    @property
    def state(self) -> SimState:
        return self.server.state

    @property
    def lifecycle(self) -> "Lifecycle":
        return self.server.lifecycle

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator %s", format % args)

    # -- dispatch --------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.path_only = parts.path
        self.query = dict(parse_qsl(parts.query))
        self.body = self._read_body() if method == "POST" else {}
        self.shape, self._drip, self._delay, self._drop = {}, 0.0, 0.0, False
        route = self.server.routes.get((method, self.path_only))
        if route is None:
            route = next(
                (
                    r
                    for (m, prefix), r in self.server.prefixes.items()
                    if m == method and self.path_only.startswith(prefix)
                ),
                None,
            )
        if route is None:
            self.send(404, {"status": False, "message": "Not found"})
            return
        route(self)

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    # -- faults, the secret, the record of calls ------------------------------------------------

    def answered_early(self, call: str, reference: str | None) -> bool:
        """Record the call, then serve its scripted fault or a 401 for a wrong key; True
        when that answer was sent (or the connection dropped) and the route must stop."""
        with self.state.lock:
            self.state.calls.append(
                {"method": self.command, "path": self.path_only, "call": call, "at": now()}
            )
        if self.state.latency_ms:
            time.sleep(self.state.latency_ms / 1000)
        fault = self.state.take_fault(reference, call=call)
        if fault is not None and self._apply(fault):
            return True
        expected = f"Bearer {self.state.secret}"
        if not hmac.compare_digest(self.headers.get("Authorization", ""), expected):
            self.send(401, error_body(401))
            return True
        return False

    def _apply(self, fault: Mapping[str, Any]) -> bool:
        """Apply one fault; True when it answered (or dropped) in place of the route."""
        if "timeout" in fault:
            time.sleep(float(fault["timeout"]))
        if "drip" in fault:
            self._drip = float(fault["drip"])
        if "answer" in fault:
            self.shape = dict(fault["answer"])
        if "delay_answer" in fault:
            self._delay = float(fault["delay_answer"])
        if fault.get("drop") == "before":
            self._hang_up()
            return True
        if fault.get("drop") == "after":
            self._drop = True
        if fault.get("malformed"):
            self.send(200, b'{"status": true, "data": {')
            return True
        if "html" in fault:
            self.send(int(fault["html"]), html_page(int(fault["html"])), content_type="text/html")
            return True
        if "http" in fault:
            status = int(fault["http"])
            headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
            self.send(status, error_body(status), headers=headers)
            return True
        return False

    # -- answering ---------------------------------------------------------------------------

    def send(
        self,
        status: int,
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Answer (as shaped by this request's faults)."""
        if self._delay:
            time.sleep(self._delay)
        if self._drop:
            log.info("simulator dropped the connection after %s %s", self.command, self.path_only)
            self._hang_up()
            return
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if self._drip:
            self._send_dripping(status, raw, headers or {}, content_type)
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _hang_up(self) -> None:
        """Close the connection without a byte of answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_dripping(
        self, status: int, raw: bytes, headers: Mapping[str, str], content_type: str
    ) -> None:
        """The whole answer, status line first, one byte every ``self._drip`` seconds, until
        it is sent or the client hangs up (then the connection is closed)."""
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(raw)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        answer = ("\r\n".join(lines) + "\r\n\r\n").encode() + raw
        self.close_connection = True
        for offset in range(len(answer)):
            try:
                self.wfile.write(answer[offset : offset + 1])
            except OSError:  # the client gave up: what the drip is for
                log.info("simulator drip cut off by the client after %d bytes", offset)
                return
            time.sleep(self._drip)

    def refuse(self, status: int, message: str, **extra: Any) -> None:
        """Paystack's error shape: ``{"status": false, "message": ..., ...}``."""
        self.send(status, {"status": False, "message": message, **extra})


__all__ = ["Handler", "Route", "Server"]
