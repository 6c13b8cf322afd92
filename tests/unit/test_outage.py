"""Losing the database: which errors mean a lost connection (and which are answers), the
backoff's bounds, and the watch that logs each outage once when it starts and once, with its
duration, when it ends."""

import logging
import threading

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ConfigError, InvalidInput
from ledger.outage import Backoff, DatabaseWatch, describe, is_connection_error


def chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.InterfaceError("the connection is closed"),
        psycopg.errors.ConnectionFailure("connection failure"),
        chained(StoreOperationalError("x"), psycopg.errors.AdminShutdown("terminated")),
        chained(RuntimeError("wrapped"), psycopg.OperationalError("connection refused")),
        ConfigError("database unreachable: no connection within 10 s"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_lost_connection_is_recognised(error: Exception) -> None:
    assert is_connection_error(error)


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.LockNotAvailable("lock timeout"),
        psycopg.errors.QueryCanceled("statement timeout"),
        psycopg.errors.UniqueViolation("duplicate key"),
        chained(StoreIntegrityError("x"), psycopg.errors.UniqueViolation("dup")),
        ConfigError("invalid setting LEDGER_TIMEZONE: unknown IANA time zone"),
        InvalidInput("bad amount"),
        ValueError("a bug"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_answer_of_the_database_is_not_a_lost_connection(error: Exception) -> None:
    assert not is_connection_error(error)


def test_describe_names_the_driver_error_never_its_message() -> None:
    error = chained(
        StoreOperationalError("x"),
        psycopg.OperationalError('connection to "db.internal" user "ledger" failed'),
    )
    assert describe(error) == "OperationalError"
    assert "ledger" not in describe(error)


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0.5, max_value=60))
def test_backoff_grows_but_never_passes_its_cap_and_is_never_zero(
    attempts: int, cap: float
) -> None:
    backoff = Backoff(base=0.2, cap=cap)
    delays = [backoff.next() for _ in range(attempts + 1)]
    assert all(0 < d <= cap for d in delays)
    assert delays[-1] >= min(cap, 0.2 * 2.0 ** min(attempts, 32)) / 2


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_logged_once_when_it_starts_and_once_with_its_duration_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    changes: list[bool] = []
    log = logging.getLogger("ledger.test")
    watch = DatabaseWatch(lambda: None, log=log, clock=clock, on_change=changes.append)
    with caplog.at_level(logging.DEBUG, logger="ledger.test"):
        for _ in range(3):  # three threads meet the same outage
            watch.failed(psycopg.errors.AdminShutdown("terminated"))
        assert not watch.up
        clock.now += 12.5
        assert watch.down_for() == 12.5
        watch.ok()
        watch.ok()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "event=database_unavailable error=AdminShutdown/57P01",
        "event=database_available downtime_s=12.500",
    ]
    assert [r.levelname for r in caplog.records] == ["ERROR", "INFO"]
    assert changes == [False, True]
    assert watch.outages == 1


def test_wait_until_up_probes_until_the_database_answers() -> None:
    answers = [psycopg.OperationalError("refused")] * 3
    calls: list[int] = []

    def probe() -> None:
        calls.append(1)
        if answers:
            raise answers.pop()

    watch = DatabaseWatch(probe, log=logging.getLogger("ledger.test"), max_delay=0.01)
    watch.failed(psycopg.OperationalError("refused"))
    assert watch.wait_until_up(threading.Event())
    assert watch.up
    assert len(calls) == 4


def test_wait_until_up_gives_up_when_the_process_stops() -> None:
    def probe() -> None:
        raise psycopg.OperationalError("refused")

    watch = DatabaseWatch(probe, log=logging.getLogger("ledger.test"), max_delay=0.01)
    watch.failed(psycopg.OperationalError("refused"))
    stop = threading.Event()
    stop.set()
    assert not watch.wait_until_up(stop)
    assert not watch.up
