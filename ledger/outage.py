"""Losing the database and getting it back: which errors mean "the connection is gone", a
bounded exponential backoff with jitter, and a watch that logs each outage once.

Every long-running process (the API, the job runner, the projection follower, the
notification sender) keeps one ``DatabaseWatch``. Whoever meets a lost connection calls
``failed(exc)``: the first call of an outage logs ``event=database_unavailable`` (error), the
others are silent. Whoever next reaches the database calls ``ok()``: that logs
``event=database_available downtime_s=...`` once. ``wait_until_up`` probes with a fresh
connection, backing off exponentially with jitter up to ``max_delay`` (so a fleet of
processes does not reconnect in lockstep), until the database answers or the process stops.
``up`` is what ``/readyz`` and the ``ledger_database_up`` gauge report.

What counts as a lost connection (``is_connection_error``): psycopg's client-side failures
(refused, reset, closed, a pool with no connection to give), SQLSTATE class 08 and the
server's shutdown codes (57P01-57P03: ``pg_terminate_backend``, a restart), the same errors
as eventsourcing re-raises them, and our own ``ConfigError("database unreachable ...")``. A
lock timeout, a cancelled statement or a constraint violation is not one: those are answers.

What it deliberately does not do: retry anything itself. Callers retry their unit of work
from its start (a transaction is all or nothing, so a cut one left nothing behind), which is
the only retry that cannot apply something twice.
"""

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field

import psycopg
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from ledger.errors import ConfigError
from ledger.persistence import StoreConfig

_SHUTDOWN_STATES = frozenset({"57P01", "57P02", "57P03"})  # admin, crash, cannot connect now
UNREACHABLE = "database unreachable"


def _lost(exc: BaseException) -> bool:
    if isinstance(exc, psycopg.InterfaceError):
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        return state is None or state.startswith("08") or state in _SHUTDOWN_STATES
    if isinstance(exc, StoreInterfaceError | StoreOperationalError):
        return exc.__cause__ is None or _lost(exc.__cause__)
    return isinstance(exc, ConfigError) and str(exc).startswith(UNREACHABLE)


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) means the database connection is gone."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _lost(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(exc: BaseException) -> str:
    """A name for the failure safe to log: the innermost psycopg error class (and SQLSTATE),
    never its message (which names hosts and users)."""
    current: BaseException | None = exc
    name = type(exc).__name__
    while current is not None:
        if isinstance(current, psycopg.Error):
            state = f"/{current.sqlstate}" if current.sqlstate else ""
            name = f"{type(current).__name__}{state}"
        current = current.__cause__ or current.__context__
    return name


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": the n-th delay is drawn uniformly from
    [d/2, d] where d = min(cap, base * 2**n); never zero, never above ``cap``."""

    base: float = 0.2
    cap: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** min(self.attempt, 32))
        self.attempt += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def probe_database(config: StoreConfig, *, timeout: float = 3.0) -> None:
    """Connect afresh and run ``SELECT 1``; raise what the driver raises if that fails."""
    if config.kind == "sqlite":
        assert config.sqlite_path is not None
        with closing(sqlite3.connect(config.sqlite_path, timeout=timeout)) as conn:
            conn.execute("SELECT 1").fetchone()
        return
    assert config.conninfo is not None
    with psycopg.connect(
        config.conninfo, connect_timeout=max(int(timeout), 1), autocommit=True
    ) as conn:
        conn.execute("SELECT 1").fetchone()


class DatabaseWatch:
    """Whether this process can reach the database, with one log line per outage start and
    end. Thread-safe. ``probe`` raises when the database cannot be reached;
    ``on_change(up)`` is called on every transition (a metrics gauge)."""

    def __init__(
        self,
        probe: Callable[[], None],
        *,
        log: logging.Logger,
        max_delay: float = 10.0,
        on_change: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._log = log
        self.max_delay = max_delay
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._up = True
        self._since = 0.0
        self.outages = 0
        self._closed = threading.Event()
        self._prober: threading.Thread | None = None

    @property
    def up(self) -> bool:
        return self._up

    def down_for(self) -> float:
        """Seconds since the current outage began (0 when up)."""
        return 0.0 if self._up else max(self._clock() - self._since, 0.0)

    def failed(self, exc: BaseException) -> None:
        """A lost connection was met: the first call of an outage logs it."""
        with self._lock:
            if not self._up:
                return
            self._up = False
            self._since = self._clock()
            self.outages += 1
        self._log.error("event=database_unavailable error=%s", describe(exc))
        if self._on_change is not None:
            self._on_change(False)

    def ok(self) -> None:
        """The database answered: the first call after an outage logs how long it lasted."""
        if self._up:
            return
        with self._lock:
            if self._up:
                return
            self._up = True
            downtime = max(self._clock() - self._since, 0.0)
        self._log.info("event=database_available downtime_s=%.3f", downtime)
        if self._on_change is not None:
            self._on_change(True)

    def wait_until_up(self, stop: threading.Event) -> bool:
        """Probe with backoff and jitter until the database answers (True) or ``stop`` is set
        (False). Returns at once when it is already up."""
        backoff = Backoff(cap=self.max_delay)
        while not stop.is_set():
            if self._up:
                return True
            try:
                self._probe()
            except Exception as exc:  # any failure to connect: still down
                self._log.debug("event=database_probe_failed error=%s", describe(exc))
                stop.wait(backoff.next())
                continue
            self.ok()
            return True
        return False

    def recover_in_background(self) -> None:
        """Start a daemon thread that waits for the database (``wait_until_up``), unless
        one is running: for a process with no loop of its own to retry in (the API)."""
        with self._lock:
            if self._prober is not None and self._prober.is_alive():
                return
            self._prober = threading.Thread(
                target=self.wait_until_up, args=(self._closed,), name="db-watch", daemon=True
            )
            self._prober.start()

    def close(self) -> None:
        """Stop a background prober."""
        self._closed.set()


__all__ = [
    "UNREACHABLE",
    "Backoff",
    "DatabaseWatch",
    "describe",
    "is_connection_error",
    "probe_database",
]
