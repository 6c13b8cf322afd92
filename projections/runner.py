"""Following the event log: catch up, wait for news, repeat, until asked to stop.

On PostgreSQL the wait is a ``LISTEN`` on the events table's channel (the event store NOTIFYs
on every insert), with a timeout as a safety net; on SQLite, which has no notifications, it
polls. A stop request (SIGTERM/SIGINT through ``install_signal_handlers``) ends the loop after
the batch in hand: every batch commits its rows and position together, so stopping anywhere
loses nothing and a restart resumes from the tracking position.

What it deliberately does not do: retry forever on a broken database. A failure propagates
to the caller (the process supervisor restarts it; the tracking position makes that safe).
"""

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import psycopg
from psycopg import sql

from ledger.persistence import store_config
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
        self._conn = psycopg.connect(conninfo, autocommit=True)
        self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def wait(self, timeout: float) -> None:
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            break

    def close(self) -> None:
        self._conn.close()


def follow(
    engine: ProjectionEngine,
    stop: threading.Event,
    *,
    poll_interval: float = 0.5,
    on_caught_up: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """Keep every projector of ``engine`` caught up until ``stop`` is set."""
    listener: _Listener | None = None
    if engine.db.kind == "postgres":
        s = engine.ledger.settings
        config = store_config(s.database_url, schema=s.postgres_schema)
        assert config.conninfo is not None
        channel = str(getattr(engine.ledger.recorder, "channel_name", "ledger_events"))
        listener = _Listener(config.conninfo, channel)
    try:
        while not stop.is_set():
            applied = engine.catch_up()
            if on_caught_up is not None:
                on_caught_up(applied)
            if any(applied.values()):
                continue  # more may have arrived meanwhile
            if listener is not None:
                listener.wait(poll_interval)
            else:
                stop.wait(poll_interval)
    finally:
        if listener is not None:
            listener.close()


__all__ = ["follow", "install_signal_handlers"]
