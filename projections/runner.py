"""Following the event log: catch up, wait for news, repeat, until asked to stop.

On PostgreSQL the wait is a ``LISTEN`` on the events table's channel (the event store NOTIFYs
on every insert), with a timeout as a safety net; on SQLite, which has no notifications, it
polls. A stop request (SIGTERM/SIGINT through ``install_signal_handlers``) ends the loop after
the batch in hand: every batch commits its rows and position together, so stopping anywhere
loses nothing and a restart resumes from the tracking position.

The database going away is waited out, not fatal (``follow``): one log line when it goes,
one when it is back, and the loop carries on from the tracking positions. Any other failure
propagates to the caller (the process supervisor restarts it; the tracking position makes
that safe).
"""

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from types import FrameType

import psycopg
from psycopg import sql

from ledger.outage import DatabaseWatch, is_connection_error, probe_database
from ledger.persistence import store_config
from ledger.schema.dialect import CONNECT_TIMEOUT
from projections.engine import ProjectionEngine

log = logging.getLogger("ledger.projections")


@contextmanager
def install_signal_handlers(stop: threading.Event) -> Iterator[None]:
    """Make SIGTERM and SIGINT set ``stop`` (in the main thread), restoring them afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("event=stop_requested signal=%s", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Listener:
    """Waits for NOTIFYs on the event store's channel (PostgreSQL)."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self._conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def wait(self, timeout: float) -> None:
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            break

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._conn.close()


def follow(
    engine: ProjectionEngine,
    stop: threading.Event,
    *,
    poll_interval: float = 0.5,
    on_caught_up: Callable[[dict[str, int]], None] | None = None,
    names: Sequence[str] | None = None,
    watch: DatabaseWatch | None = None,
) -> None:
    """Keep the projectors of ``engine`` (``names``, default all) caught up until ``stop``.

    A lost database connection never ends it: ``watch`` logs the outage once, the loop waits
    for the database (backoff with jitter), reconnects the read connection and the listener
    and catches up from the committed tracking positions. A batch cut mid-way was rolled back
    whole, and one whose commit landed unacknowledged is found by its moved position, so
    nothing is applied twice."""
    s = engine.ledger.settings
    config = store_config(s.database_url, schema=s.postgres_schema)
    if watch is None:
        watch = DatabaseWatch(
            partial(probe_database, config),
            log=log,
            max_delay=s.reconnect_max_delay.total_seconds(),
        )
    channel = str(getattr(engine.ledger.recorder, "channel_name", "ledger_events"))
    listener: _Listener | None = None
    reconnect = False
    try:
        while not stop.is_set():
            try:
                if reconnect:
                    engine.db.reconnect()
                    reconnect = False
                if listener is None and engine.db.kind == "postgres":
                    assert config.conninfo is not None
                    listener = _Listener(config.conninfo, channel)  # before catching up
                applied = engine.catch_up(names)
                watch.ok()
                if on_caught_up is not None:
                    on_caught_up(applied)
                if any(applied.values()):
                    continue  # more may have arrived meanwhile
                if listener is not None:
                    listener.wait(poll_interval)
                else:
                    stop.wait(poll_interval)
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                watch.failed(exc)
                if listener is not None:
                    listener.close()
                    listener = None
                reconnect = True
                if not watch.wait_until_up(stop):
                    return
    finally:
        if listener is not None:
            listener.close()


__all__ = ["follow", "install_signal_handlers"]
