"""The engine's log reader returns what the library's ``select_notifications`` returns, for
every shape of arguments, on SQLite and PostgreSQL (its own query on PostgreSQL)."""

import itertools
from typing import Any

from eventsourcing.persistence import Notification

from ledger.application import Ledger
from projections.log_reader import LogReader


def _write_some_events(ledger: Ledger) -> None:
    ledger.register_user("fan-1", "fan")
    ledger.register_user("star-1", "celebrity", verified=True)
    ledger.create_wallet("star-1", "NGN")
    request = ledger.create_request("fan-1", "star-1", 500_000, "NGN")
    ledger.record_payment(request.id, "ref-1")


def _rows(notifications: Any) -> list[tuple[int, Any, int, str, bytes]]:
    return [
        (n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state))
        for n in notifications
    ]


def test_log_reader_uses_its_own_query_on_postgres_only(ledger: Ledger, backend: str) -> None:
    assert (LogReader(ledger.recorder)._pg is not None) == (backend == "postgres")


def test_log_reader_from_no_start_returns_the_log_from_the_beginning(ledger: Ledger) -> None:
    _write_some_events(ledger)
    head = ledger.recorder.max_notification_id()
    assert head is not None
    assert head > 3
    selected = LogReader(ledger.recorder).select(None, 1_000)
    assert [n.id for n in selected] == list(range(1, head + 1))
    assert all(isinstance(n, Notification) for n in selected)


def test_log_reader_selects_what_the_library_selects(ledger: Ledger) -> None:
    _write_some_events(ledger)
    reader = LogReader(ledger.recorder)
    for start, stop, limit, inclusive_of_start in itertools.product(
        [None, 1, 2, 4, 1_000], [None, 3, 5], [1, 2, 100], [True, False]
    ):
        args: dict[str, Any] = {
            "start": start,
            "limit": limit,
            "stop": stop,
            "inclusive_of_start": inclusive_of_start,
        }
        expected = ledger.recorder.select_notifications(**args)
        assert _rows(reader.select(**args)) == _rows(expected), args


def test_log_reader_filters_by_topic_like_the_library(ledger: Ledger) -> None:
    _write_some_events(ledger)
    every = ledger.recorder.select_notifications(start=None, limit=1_000)
    topics = sorted({n.topic for n in every})[:2]
    reader = LogReader(ledger.recorder)
    for start in (None, 2):
        args: dict[str, Any] = {"start": start, "limit": 1_000, "topics": topics}
        expected = ledger.recorder.select_notifications(**args)
        assert expected
        assert _rows(reader.select(**args)) == _rows(expected)
