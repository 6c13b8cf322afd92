"""``ledger serve``: the HTTP API and Paystack's webhooks, served by uvicorn.

Settings are checked before the server starts (a bad one is one ``error:`` line, exit 2), and
so is the operational tables' schema: older than this release needs is one line naming
``ledger db upgrade``, exit 2 (an empty store is initialised).
SIGTERM or SIGINT shut it down gracefully: it stops accepting connections, lets requests in
flight finish (at most ``--graceful-timeout`` seconds), closes the ledger and exits 0. Logs are
one line per event on stderr in the one format of ``ledger.logs`` (logfmt, or JSON with
``LEDGER_LOG_FORMAT=json``), the access log included (``ledger.api.access``: method, path,
status, duration; never headers, so no token or signature). With ``--workers N`` each worker
process builds its own app from the environment: use PostgreSQL then (SQLite serialises
writers); their metrics are merged (``metrics_directory``), so ``/metrics`` shows them all.
"""

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from types import FrameType
from typing import Any

import click
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ledger.cli.context import app_context
from ledger.config import Settings
from ledger.errors import ConfigError, SchemaError
from ledger.logs import configure_logging, uvicorn_log_config
from ledger.metrics import MULTIPROC_ENV
from ledger.persistence import store_config
from ledger.schema import ensure_schema

log = logging.getLogger("ledger.api")


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with ``TCP_NODELAY`` on every connection.

    With ``--workers N`` uvicorn binds the socket itself (protocol number 0), and asyncio then
    leaves Nagle's algorithm on for the accepted connections: a response written in two parts
    (headers, body) waits for the client's delayed ACK, ~40 ms per request. Setting it here
    makes every worker count answer promptly."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]


def check_schema_at_start(settings: Settings) -> None:
    """Refuse to start (``SchemaError``, exit 2) on operational tables older than this
    release needs; initialise them on an empty store. A database that cannot be reached is
    only logged: requests that need it answer 503 until it is back (and check it then)."""
    config = store_config(settings.database_url, schema=settings.postgres_schema)
    try:
        ensure_schema(config)
    except SchemaError:
        raise
    except ConfigError as exc:
        log.warning("event=schema_unchecked detail=%s", " ".join(str(exc).split()))


@contextlib.contextmanager
def metrics_directory(workers: int) -> Iterator[None]:
    """With several workers: a fresh ``PROMETHEUS_MULTIPROC_DIR`` for this run (each worker
    writes its metrics there; ``/metrics`` merges them), removed at the end. The workers are
    new processes, so they see it when they first import prometheus_client."""
    if workers <= 1:
        yield
        return
    path = tempfile.mkdtemp(prefix="ledger-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    """The signal after uvicorn's graceful shutdown: nothing left to do."""


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes."
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    metavar="ADDRS",
    help="Proxies trusted for X-Forwarded-For (comma-separated; default: uvicorn's, "
    "127.0.0.1). The webhook allowlist then sees the original client address.",
)
@click.option(
    "--graceful-timeout",
    type=click.IntRange(1, 3600),
    default=30,
    show_default=True,
    help="Seconds requests in flight get to finish after SIGTERM.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default=None,
    help="Default: LEDGER_LOG_LEVEL (info).",
)
def serve(
    host: str,
    port: int,
    workers: int,
    forwarded_allow_ips: str | None,
    graceful_timeout: int,
    log_level: str | None,
) -> None:
    """Serve the HTTP API (commands, queries, reports) and POST /webhooks/paystack.

    Authentication: LEDGER_API_TOKENS (bearer tokens); webhooks by Paystack's signature
    (PAYSTACK_SECRET_KEY). /healthz, /readyz and /metrics are open. See docs/api.md."""
    settings = app_context().settings()  # fail fast on a bad setting
    level = log_level or settings.log_level
    configure_logging(level, settings.log_format)
    check_schema_at_start(settings)
    if settings.api_tokens is None:
        log.warning("event=api_unconfigured detail=no LEDGER_API_TOKENS: the API answers 503")
    if settings.paystack_secret_key is None:
        log.warning("event=webhooks_unconfigured detail=no PAYSTACK_SECRET_KEY: webhooks get 401")
    if workers > 1 and settings.database_url.startswith("sqlite"):
        log.warning("event=sqlite_workers detail=several workers on SQLite serialise writes")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to whatever
    # handler was there before it; with this one the re-raise is a no-op and we exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    options: dict[str, Any] = {}
    if forwarded_allow_ips is not None:
        options["forwarded_allow_ips"] = forwarded_allow_ips
    with metrics_directory(workers):
        uvicorn.run(
            "ledger.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_config=uvicorn_log_config(level, settings.log_format),
            timeout_graceful_shutdown=graceful_timeout,
            proxy_headers=True,
            http="ledger.cli.serve:NoDelayH11Protocol",
            server_header=False,
            **options,
        )
    log.info("event=server_stopped")


__all__ = ["check_schema_at_start", "metrics_directory", "serve"]
