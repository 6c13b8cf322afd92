"""The Paystack simulator as an object: a threaded HTTP server on loopback and the refund
lifecycle's thread, started and stopped together.

``PaystackSimulator(secret)`` serves on a free port of 127.0.0.1 (``url``); ``webhook_url``
(or a script's ``webhook_url``) is where refund events go. Use it as a context manager, or
``start()``/``stop()``; ``serve_forever()`` serves in the calling thread (the CLI).
"""

import threading
from collections.abc import Mapping
from typing import Any

from ledger.simulator.paystack.control import PREFIXES, ROUTES
from ledger.simulator.paystack.handler import Server
from ledger.simulator.paystack.lifecycle import Lifecycle
from ledger.simulator.paystack.state import SimState


class PaystackSimulator:
    """The simulator: ``start()`` serves in a thread; ``url`` is its base URL."""

    def __init__(
        self,
        secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator listens on loopback only")
        self.state = SimState(secret=secret, webhook_url=webhook_url)
        self.lifecycle = Lifecycle(self.state)
        self._server = Server((host, port), self.state, self.lifecycle, ROUTES, PREFIXES)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, script: Mapping[str, Any]) -> None:
        self.state.apply_script(script)

    def start(self) -> "PaystackSimulator":
        self.lifecycle.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.lifecycle.start()
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.lifecycle.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "PaystackSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["PaystackSimulator"]
