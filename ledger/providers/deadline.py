"""An overall deadline per HTTP exchange: connect to last byte, not each read.

httpx's timeouts bound each phase, so a server that sends one byte every half second never
trips a 3 s read timeout and can hold a call (and the job waiting on it) for minutes. Here the
sockets themselves know the deadline: ``deadline_transport()`` is an ``httpx.HTTPTransport``
whose connections clamp every connect, TLS handshake, read and write to the time left before
the deadline of the exchange in progress in that thread, and refuse to start one once it has
passed. The exchange then fails with httpx's ``ConnectTimeout``/``ReadTimeout``/
``WriteTimeout`` (a ``TransportError``, so the caller's retry policy sees a timeout), and
httpcore closes the connection it could not finish: the server sees it closed.

``within(seconds)`` sets the deadline for the calls made inside it, in this thread (a
``ContextVar``; sync httpx does its I/O in the calling thread, so a thread pool of callers
gives each call its own deadline). Outside ``within`` the transport behaves as httpx's own.

What it deliberately does not do: bound time spent waiting for a free connection in the pool
(httpx's pool timeout does, and the connect that follows sees the deadline already spent), or
apply to a transport it did not build (an injected ``httpx.MockTransport`` has no socket).
"""

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_deadline: ContextVar[float | None] = ContextVar("ledger_http_deadline", default=None)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Calls made inside must end (last byte read) within ``seconds`` from now, or fail with a
    timeout. None: no overall deadline (each phase keeps httpx's own timeout)."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _left(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` clamped to what is left of the deadline; ``error`` when nothing is."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the overall deadline of the exchange has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A connection whose every operation ends by the deadline of the current exchange."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's sync backend, its streams bounded by the deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(*, limits: httpx.Limits | None = None) -> httpx.HTTPTransport:
    """httpx's default transport (TLS verified, HTTP/1.1, ``limits``) whose connections
    honour ``within``. It connects directly: proxy environment variables are not used."""
    limits = limits or httpx.Limits()
    transport = httpx.HTTPTransport(limits=limits)
    # httpx builds its pool without a way to choose the network backend; rebuild it with the
    # same settings and ours. ``_pool`` is what ``HTTPTransport.handle_request`` sends through
    # (httpx 0.27 and 0.28); tests/unit/test_provider_deadline.py fails if that changes.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_Backend(),
    )
    return transport


__all__ = ["deadline_transport", "within"]
