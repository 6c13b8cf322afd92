"""Helpers for tests that drive the Paystack simulator through the real ``PaystackClient`` over
loopback: a webhook receiver that keeps each delivery's raw bytes and signature, and a wait for
something the simulator does in its own thread."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Delivery:
    raw: bytes
    signature: str | None

    @property
    def body(self) -> Any:
        return json.loads(self.raw)

    @property
    def event(self) -> str:
        return str(self.body["event"])


@dataclass
class Receiver:
    """The deliveries a webhook endpoint received, in order."""

    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self, reference: str | None = None) -> list[str]:
        with self.lock:
            return [
                d.event
                for d in self.deliveries
                if reference is None or d.body["data"].get("transaction_reference") == reference
            ]

    def of(self, reference: str) -> list[Delivery]:
        with self.lock:
            return [
                d
                for d in self.deliveries
                if d.body["data"].get("transaction_reference") == reference
            ]

    def wait_for(self, count: int, reference: str | None = None) -> list[str]:
        """The events (of ``reference``) once at least ``count`` have arrived."""
        wait_until(lambda: len(self.events(reference)) >= count, what=f"{count} webhooks")
        return self.events(reference)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A loopback endpoint answering 200 to every POST, recording what came."""
    received: list[Delivery] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                received.append(Delivery(raw, self.headers.get("x-paystack-signature")))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield Receiver(
            f"http://127.0.0.1:{server.server_address[1]}/webhooks/paystack", received, lock
        )
    finally:
        server.shutdown()
        server.server_close()


def wait_until(check: Callable[[], bool], *, what: str, within: float = 20.0) -> None:
    """Return once ``check()`` holds; fail naming ``what`` if it never does (a generous bound:
    this waits for the simulator's own thread, it does not measure it)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"waited for {what} in vain"
        time.sleep(0.01)


def control(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    """A call to the simulator's control API."""
    return httpx.post(f"{url}/_sim/{path}", json=body, timeout=15)
