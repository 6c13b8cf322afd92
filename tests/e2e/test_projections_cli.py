"""`ledger projections run | status | rebuild`, as processes and in-process.

A projection process killed with SIGKILL anywhere resumes to tables identical to a replay from
scratch; SIGTERM stops a follower cleanly; readers querying during a rebuild never see a
missing or partial table.
"""

import os
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from ledger.persistence import store_config
from projections.db import ReadDB
from projections.engine import read_position
from tests.e2e.cli_support import (
    LEDGER_SCRIPT,
    Store,
    assert_refused,
    isolated_env,
    seed,
    sqlite_store,
    store,
)

__all__ = ["isolated_env", "sqlite_store", "store"]  # fixtures, used by name

TABLES = ("users", "requests", "wallets", "wallet_transactions", "ledger_entries")


def _history(store: Store, requests: int) -> int:
    """A mixed history of ``requests`` requests; returns the number of events."""
    ledger = store.open()
    try:
        ledger.register_user("fan-1", "fan")
        ledger.register_user("star-1", "celebrity", verified=True)
        ledger.create_wallet("star-1", "NGN")
        for n in range(requests):
            request = ledger.create_request("fan-1", "star-1", 1000 + n, "NGN").id
            txn = ledger.record_payment(request, f"ref-{n}").id
            if n % 5 == 4:
                ledger.fail_payment(txn, reason="declined", provider_status="failed")
                continue
            ledger.confirm_payment(txn, amount=1000 + n, currency="NGN")
            if n % 3 == 0:
                ledger.complete_request(request)
                ledger.release_escrow(txn)
        return int(ledger.recorder.max_notification_id() or 0)
    finally:
        ledger.close()


def _db(store: Store) -> ReadDB:
    s = store.settings()
    return ReadDB(store_config(s.database_url, schema=s.postgres_schema))


def _snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    db = _db(store)
    try:
        order = {"ledger_entries": "position, line"}
        return {t: db.fetchall(f"SELECT * FROM {t} ORDER BY {order.get(t, 'id')}") for t in TABLES}
    finally:
        db.close()


def _spawn(store: Store, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **store.env}
    return subprocess.Popen(
        [str(LEDGER_SCRIPT), "projections", "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _position(store: Store) -> int:
    db = _db(store)
    try:
        if not db.table_exists("projection_tracking"):
            return 0
        return read_position(db, "ledger_tables")
    finally:
        db.close()


def test_run_once_then_status_shows_no_lag_and_rebuild_keeps_the_tables(store: Store) -> None:
    seed(store)
    store.ok("projections", "run", "--once")
    rows = store.json("projections", "status")
    assert rows[0]["projector"] == "ledger_tables"
    assert rows[0]["lag_events"] == 0
    assert rows[0]["position"] == rows[0]["head"] == store.head()
    before = _snapshot(store)
    result = store.run("projections", "rebuild", "--batch-size", "3")
    assert result.exit_code == 0, result.output
    assert "rebuilt ledger_tables" in result.stdout
    assert "event=rebuild_progress" in result.stderr  # not a terminal: log lines
    assert _snapshot(store) == before


def test_status_reports_lag_in_events_and_seconds_before_a_catch_up(store: Store) -> None:
    seed(store)
    rows = store.json("projections", "status")
    assert rows[0]["lag_events"] == store.head()
    assert rows[0]["lag_seconds"] >= 0


def test_rebuild_of_an_unknown_projector_exits_2(store: Store) -> None:
    assert_refused(store.run("projections", "rebuild", "nope"), 2, "unknown projector")


def test_sigterm_stops_a_following_process_with_exit_0(store: Store) -> None:
    process = _spawn(store, "--poll-interval", "0.2")
    try:
        events = _history(store, 5)
        deadline = time.monotonic() + 30
        while _position(store) < events and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _position(store) == events, "the follower caught up with new events"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("kill_at", [0.1, 0.5, 0.8])
def test_a_projection_killed_anywhere_resumes_to_tables_identical_to_a_replay(
    store: Store, kill_at: float
) -> None:
    events = _history(store, 150)
    process = _spawn(store, "--batch-size", "3", "--poll-interval", "0.2")
    try:
        deadline = time.monotonic() + 60
        while _position(store) < events * kill_at and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    killed_at = _position(store)
    assert 0 < killed_at < events, "killed part-way through the log"
    assert killed_at % 3 == 0, "only whole batches were committed"
    store.ok("projections", "run", "--once", "--batch-size", "3")
    assert _position(store) == events
    resumed = _snapshot(store)
    assert store.run("projections", "rebuild").exit_code == 0
    assert _snapshot(store) == resumed


def test_readers_during_a_rebuild_never_see_a_missing_or_partial_table(store: Store) -> None:
    _history(store, 60)
    store.ok("projections", "run", "--once")
    expected = len(_snapshot(store)["wallet_transactions"])
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        db = _db(store)
        try:
            while not done.is_set():
                row = db.fetchone("SELECT COUNT(*) AS n FROM wallet_transactions")
                assert row is not None
                seen.append(int(row["n"]))
        except BaseException as exc:  # recorded and asserted below
            errors.append(exc)
        finally:
            db.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(3):
            assert store.run("projections", "rebuild", "--batch-size", "5").exit_code == 0
    finally:
        done.set()
        thread.join(timeout=30)
    assert errors == []
    assert seen
    assert set(seen) == {expected}
