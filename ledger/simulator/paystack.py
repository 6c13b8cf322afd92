"""A Paystack simulator on loopback: initialize, verify, refund, and signed webhooks.

It answers in the shapes of Paystack's API reference (the repository's tests/fixtures/paystack)
so the product can be exercised end to end without the internet: ``ledger demo`` and the e2e
tests point ``PAYSTACK_URL`` at it, and nothing in the product treats it specially.

Scripting (docs/simulator.md). Each reference can be given an outcome and a shape of its
answers (``ledger.simulator.answers``: any ``data.status``, another amount or currency,
customer-borne fees, ``paidAt`` only, an amount as a string, a body about another reference,
``data`` null, fields left out, or ``unknown`` for a reference Paystack never saw) and a queue
of faults consumed one per request; global faults apply to any call, and a fault with
``"repeat": true`` stays for every call. Faults: ``{"http": 401}`` (or any status, with
``retry_after``), ``{"html": 404}`` (an HTML page, as a wrong base URL gives),
``{"malformed": true}``, ``{"timeout": 3.0}`` (sleep, then answer), ``{"drip": 0.5}`` (the
answer one byte every 0.5 s), ``{"answer": {...}}`` (this verify answer shaped so). Global
``latency_ms`` applies to every call. Script it from a JSON file (``--script``) or over HTTP:

    POST /_sim/script      {"references": {"ref-1": {"status": "failed"}}, "faults": [...],
                            "latency_ms": 50}
    POST /_sim/webhook     {"event": "charge.success", "reference": "ref-1", "url": "http://..",
                            "signature": "forged" (optional), "raw": "not json" (optional)}
    GET  /_sim/state       what it knows: transactions, refunds, calls made
    POST /_sim/reset

A reference initialised through the simulator verifies as ``success`` with its own amount and
currency unless scripted otherwise; a reference never initialised and not scripted is unknown.
What it deliberately does not do: charge cards, or check anything beyond the bearer secret.
"""

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

from ledger.simulator.answers import error_body, html_page, now, transaction_data

log = logging.getLogger("ledger.simulator")


@dataclass
class SimState:
    """Everything the simulator knows; guarded by ``lock``."""

    secret: str
    latency_ms: int = 0
    scripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 4_099_260_000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply_script(self, script: Mapping[str, Any]) -> None:
        with self.lock:
            for reference, outcome in dict(script.get("references", {})).items():
                entry = self.scripts.setdefault(reference, {})
                entry.update({k: v for k, v in outcome.items() if k != "faults"})
                entry.setdefault("faults", []).extend(outcome.get("faults", []))
            self.faults.extend(script.get("faults", []))
            if "latency_ms" in script:
                self.latency_ms = int(script["latency_ms"])

    def reset(self) -> None:
        with self.lock:
            self.scripts.clear()
            self.faults.clear()
            self.transactions.clear()
            self.refunds.clear()
            self.calls.clear()
            self.latency_ms = 0

    def take_fault(self, reference: str | None, *, verify: bool) -> dict[str, Any] | None:
        """The next fault for a call about ``reference``: the reference's own first, then
        the global ones. An ``answer`` fault waits for a verify call; a ``repeat`` fault
        is never used up."""
        with self.lock:
            queues = [self.scripts.get(reference, {}).get("faults", []) if reference else []]
            queues.append(self.faults)
            for queue in queues:
                for index, fault in enumerate(queue):
                    if "answer" in fault and not verify:
                        continue
                    if not fault.get("repeat"):
                        queue.pop(index)
                    return dict(fault)
            return None

    def new_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id


def sign(body: bytes, secret: str) -> str:
    """Paystack's ``x-paystack-signature``: hex HMAC-SHA512 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    _drip: float = 0.0  # seconds between two bytes of this answer (a drip fault)
    _shape: dict[str, Any] = {}  # answer-shaping keys of an answer fault, set per request

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator %s", format % args)

    # -- plumbing ------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
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

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _authorised(self) -> bool:
        expected = f"Bearer {self.server.state.secret}"
        return hmac.compare_digest(self.headers.get("Authorization", ""), expected)

    def _fault(self, reference: str | None, *, verify: bool) -> bool:
        """Apply latency and the next scripted fault; True when the answer was sent. A
        ``drip`` or an ``answer`` fault shapes the answer the route sends next."""
        state = self.server.state
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        fault = state.take_fault(reference, verify=verify)
        if fault is None:
            return False
        if "timeout" in fault:
            time.sleep(float(fault["timeout"]))
            return False
        if "drip" in fault:
            self._drip = float(fault["drip"])
            return False
        if "answer" in fault:
            self._shape = dict(fault["answer"])
            return False
        if fault.get("malformed"):
            self._send(200, b'{"status": true, "data": {')
            return True
        if "html" in fault:
            self._send(int(fault["html"]), html_page(int(fault["html"])), content_type="text/html")
            return True
        status = int(fault.get("http", 500))
        headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
        self._send(status, error_body(status), headers=headers)
        return True

    def _answered_early(
        self, method: str, path: str, reference: str | None, *, verify: bool = False
    ) -> bool:
        """Record the call, then serve its scripted fault or a 401 for a wrong key; True
        when that answer was sent and the route must not answer again."""
        self._drip, self._shape = 0.0, {}  # one handler serves every request of a connection
        self._record(method, path)
        if self._fault(reference, verify=verify):
            return True
        if not self._authorised():
            self._send(401, error_body(401))
            return True
        return False

    def _record(self, method: str, path: str) -> None:
        with self.server.state.lock:
            self.server.state.calls.append({"method": method, "path": path, "at": now()})

    # -- routes ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/_sim/state":
            state = self.server.state
            with state.lock:
                snapshot = {
                    "transactions": state.transactions,
                    "refunds": state.refunds,
                    "calls": state.calls,
                    "scripts": state.scripts,
                }
                self._send(200, json.loads(json.dumps(snapshot)))
            return
        if path.startswith("/transaction/verify/"):
            self._verify(path.removeprefix("/transaction/verify/"))
            return
        self._send(404, {"status": False, "message": "Not found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        routes = {
            "/transaction/initialize": self._initialize,
            "/refund": self._refund,
            "/_sim/script": self._script,
            "/_sim/webhook": self._webhook,
            "/_sim/reset": self._reset,
        }
        route = routes.get(path)
        if route is None:
            self._send(404, {"status": False, "message": "Not found"})
            return
        route(body)

    def _initialize(self, body: dict[str, Any]) -> None:
        reference = str(body.get("reference") or f"sim_{self.server.state.new_id()}")
        if self._answered_early("POST", "/transaction/initialize", reference):
            return
        state = self.server.state
        with state.lock:
            if reference in state.transactions:
                self._send(400, {"status": False, "message": "Duplicate Transaction Reference"})
                return
        try:
            amount = int(body["amount"])
        except (KeyError, TypeError, ValueError):
            self._send(400, {"status": False, "message": "Invalid amount"})
            return
        code = f"ac{state.new_id()}"
        with state.lock:
            state.transactions[reference] = {
                "id": state.next_id,
                "amount": amount,
                "currency": str(body.get("currency") or "NGN"),
                "email": body.get("email"),
                "metadata": body.get("metadata"),
                "created_at": now(),
            }
        self._send(
            200,
            {
                "status": True,
                "message": "Authorization URL created",
                "data": {
                    "authorization_url": f"https://checkout.paystack.test/{code}",
                    "access_code": code,
                    "reference": reference,
                },
            },
        )

    def _verify(self, reference: str) -> None:
        path = f"/transaction/verify/{reference}"
        if self._answered_early("GET", path, reference, verify=True):
            return
        state = self.server.state
        with state.lock:
            script = {**state.scripts.get(reference, {}), **self._shape}
            txn = state.transactions.get(reference)
            if txn is None and script and not script.get("unknown"):
                txn = {
                    "id": state.next_id + 1,
                    "amount": int(script.get("amount", 0)),
                    "currency": str(script.get("currency", "NGN")),
                    "created_at": now(),
                }
                state.next_id += 1
                state.transactions[reference] = txn
        if txn is None or script.get("unknown"):
            self._send(
                400,
                {
                    "status": False,
                    "message": "Transaction reference not found",
                    "type": "validation_error",
                    "code": "transaction_not_found",
                },
            )
            return
        data = None if script.get("data_null") else transaction_data(reference, txn, script)
        self._send(200, {"status": True, "message": "Verification successful", "data": data})

    def _refund(self, body: dict[str, Any]) -> None:
        reference = str(body.get("transaction") or "")
        if self._answered_early("POST", "/refund", reference):
            return
        state = self.server.state
        with state.lock:
            txn = state.transactions.get(reference)
        if txn is None:
            self._send(404, {"status": False, "message": "Transaction not found"})
            return
        amount = int(body.get("amount") or txn["amount"])
        refund = {
            "id": state.new_id(),
            "reference": reference,
            "amount": amount,
            "currency": txn["currency"],
            "status": "pending",
        }
        with state.lock:
            state.refunds.append(refund)
        self._send(
            200,
            {
                "status": True,
                "message": "Refund has been queued for processing",
                "data": {
                    "transaction": {"id": txn["id"], "reference": reference},
                    "status": "pending",
                    "currency": txn["currency"],
                    "amount": amount,
                    "id": refund["id"],
                    "createdAt": now(),
                },
            },
        )

    def _script(self, body: dict[str, Any]) -> None:
        self.server.state.apply_script(body)
        self._send(200, {"status": True, "message": "scripted"})

    def _reset(self, _body: dict[str, Any]) -> None:
        self.server.state.reset()
        self._send(200, {"status": True, "message": "reset"})

    def _webhook(self, body: dict[str, Any]) -> None:
        try:
            status, answer = deliver_webhook(self.server.state, body)
        except (KeyError, ValueError) as exc:
            self._send(400, {"status": False, "message": f"bad webhook request: {exc}"})
            return
        except httpx.HTTPError as exc:
            self._send(502, {"status": False, "message": f"delivery failed: {type(exc).__name__}"})
            return
        self._send(200, {"status": True, "delivered_status": status, "answer": answer})


def webhook_body(state: SimState, event: str, reference: str) -> dict[str, Any]:
    """The body Paystack would send for ``event`` about ``reference``."""
    with state.lock:
        txn = state.transactions.get(reference)
        script = dict(state.scripts.get(reference, {}))
        refund = next((r for r in reversed(state.refunds) if r["reference"] == reference), None)
    if txn is None:
        raise KeyError(f"unknown reference {reference}")
    if event == "charge.success":
        data = transaction_data(reference, txn, {**script, "status": "success"})
        return {"event": event, "data": data}
    if event == "refund.processed":
        amount = refund["amount"] if refund else txn["amount"]
        return {
            "event": event,
            "data": {
                "status": "processed",
                "transaction_reference": reference,
                "refund_reference": str(refund["id"] if refund else txn["id"]),
                "amount": str(amount),
                "currency": txn["currency"],
            },
        }
    return {"event": event, "data": {"reference": reference}}


def deliver_webhook(state: SimState, request: Mapping[str, Any]) -> tuple[int, str]:
    """POST a signed webhook to ``request["url"]``; return the receiver's status and body."""
    url = str(request["url"])
    if "raw" in request:
        raw = str(request["raw"]).encode()
    else:
        body = webhook_body(state, str(request["event"]), str(request["reference"]))
        raw = json.dumps(body, separators=(",", ":")).encode()
    signature = str(request.get("signature") or sign(raw, state.secret))
    headers = {"Content-Type": "application/json", "x-paystack-signature": signature}
    if request.get("unsigned"):
        del headers["x-paystack-signature"]
    response = httpx.post(url, content=raw, headers=headers, timeout=10)
    return response.status_code, response.text[:1000]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: SimState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class PaystackSimulator:
    """The simulator as an object: ``start()`` serves in a thread; ``url`` is its base URL."""

    def __init__(self, secret: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator listens on loopback only")
        self.state = SimState(secret=secret)
        self._server = _Server((host, port), self.state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, script: Mapping[str, Any]) -> None:
        self.state.apply_script(script)

    def start(self) -> "PaystackSimulator":
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "PaystackSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["PaystackSimulator", "SimState", "deliver_webhook", "sign", "webhook_body"]
