"""A Flutterwave v4 simulator on loopback for payouts: the OAuth2 token endpoint, account
resolution, recipients, transfers (create, fetch, list) and signed transfer webhooks.

It answers in the shapes of tests/fixtures/flutterwave (Flutterwave's v4 reference), so the
ledger's payouts run end to end without the internet: point ``FLUTTERWAVE_URL`` at ``url`` and
``FLUTTERWAVE_TOKEN_URL`` at ``token_url``; nothing in the product treats it specially.

Behaviour: a created transfer answers ``NEW`` and settles ``settle_after_ms`` later (default at
once, on a timer) to its scripted ``outcome`` (``SUCCESSFUL`` unless scripted ``FAILED`` or
``PENDING``: stays until ``settle``), then, with a ``webhook_url``, a signed
``transfer.disburse`` is POSTed there; ``reverse_after_ms`` reverses it later (``FAILED`` with a
``reversal`` block, another webhook). One transfer per ``X-Idempotency-Key`` (the same key
gets the same transfer, never a second) and per reference (another key: 409).

Scripting, as JSON (``--script`` or ``POST /_sim/script``) or ``FlutterwaveSimulator.script``::

    {"references": {"ref-1": {"outcome": "FAILED", "settle_after_ms": 200,
                              "reverse_after_ms": 500, "webhook": false, "faults": [...]}},
     "faults": [...], "accounts": {"044:0690000040": "Alex James", "058:1234567890": null},
     "webhook_url": "http://127.0.0.1:8000/webhooks/flutterwave", "latency_ms": 50,
     "settle_after_ms": 0, "token_ttl": 600, "revoke_tokens": true}

A fault applies to the next call of its ``route`` (``token``, ``resolve``, ``recipient``,
``create_transfer``, ``get_transfer``, ``list_transfers``; any when absent), per reference first:
``{"http": 503}``, ``{"http": 429, "retry_after": 1}``, ``{"http": 401}``, ``{"http": 403}``,
``{"html": true}``, ``{"malformed": true}``, ``{"timeout": 2.0}`` (sleep, then answer),
``{"drip": 0.2}`` (answer one byte every 0.2 s), ``{"lost_answer": true}`` (create the
transfer, then answer 504), ``{"invalid": "unknown_status" | "other_reference" |
"fractional_amount" | "missing_field"}``. Control over HTTP: ``POST /_sim/settle``,
``/_sim/reverse``, ``/_sim/plant``, ``/_sim/webhook``, ``/_sim/reset``; ``GET /_sim/state``.
"""

import threading
from collections.abc import Mapping
from decimal import Decimal
from http.server import ThreadingHTTPServer
from typing import Any

from ledger.simulator.flutterwave_handler import TOKEN_PATH, Handler, snapshot
from ledger.simulator.flutterwave_state import FwState

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: FwState) -> None:
        super().__init__(address, Handler)
        self.state = state


class FlutterwaveSimulator:
    """The simulator as an object: ``start()`` serves in a thread; ``url`` is the API's base
    URL and ``token_url`` the token endpoint. The Python methods do what ``/_sim/*`` does."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        webhook_secret: str,
        webhook_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError("the simulator listens on loopback only")
        self.state = FwState(
            client_id=client_id,
            client_secret=client_secret,
            webhook_secret=webhook_secret,
            webhook_url=webhook_url,
        )
        self._server = _Server((host, port), self.state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    def script(self, script: Mapping[str, Any]) -> None:
        self.state.apply_script(dict(script))

    def settle(self, reference: str, status: str = "SUCCESSFUL", *, webhook: bool = True) -> None:
        """Give the transfer with ``reference`` its final ``status`` now (and its webhook)."""
        self.state.settle(reference, status, webhook=webhook)

    def reverse(self, reference: str, *, webhook: bool = True) -> None:
        """Reverse the transfer with ``reference`` now (and send its webhook)."""
        self.state.reverse(reference, webhook=webhook)

    def plant_transfer(
        self,
        reference: str,
        amount: Decimal | str,
        *,
        currency: str = "NGN",
        status: str = "SUCCESSFUL",
    ) -> str:
        """A transfer the ledger never made, ``amount`` in major units; returns its id."""
        return str(self.state.plant(reference, Decimal(amount), currency, status.upper())["id"])

    def transfer(self, reference: str) -> dict[str, Any]:
        """The simulator's record of the transfer with ``reference`` (a copy)."""
        with self.state.lock:
            return dict(self.state.by_reference(reference))

    def send_webhook(self, reference: str, **options: Any) -> tuple[int, str]:
        """Deliver the transfer's webhook now (``url``, ``signature``, ``unsigned``, ``raw``)."""
        return self.state.send_webhook(reference, **options)

    def snapshot(self) -> dict[str, Any]:
        """What ``GET /_sim/state`` answers: transfers, recipients, calls, deliveries."""
        return snapshot(self.state)

    def start(self) -> "FlutterwaveSimulator":
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        with self.state.lock:
            for timer in self.state.timers:
                timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FlutterwaveSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["TOKEN_PATH", "FlutterwaveSimulator"]
