"""Finding things from the CLI: ``requests list`` and ``payments list`` with their filters and
cursor, ids given as prefixes or references, ``audit history`` of a user's external id, the
one sort order, case-insensitive choices, time filters as durations, and the ``held_payments``
view, on SQLite and PostgreSQL."""

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.clock import FixedClock
from ledger.persistence import store_config
from projections.db import ReadDB
from tests.conftest import T0
from tests.e2e.cli_support import Store, assert_refused, isolated_env, sqlite_store, store
from tests.fakes import FakeProvider
from tests.finding_support import seed_payments, twin_ids

__all__ = ["isolated_env", "sqlite_store", "store"]  # fixtures used by name


@contextmanager
def old_ledger(store: Store) -> Iterator[tuple[Ledger, FixedClock]]:
    """A ledger on the store whose business clock is at T0 (long before the wall clock)."""
    clock = FixedClock(T0)
    ledger = Ledger.from_settings(store.settings(), clock=clock, provider=FakeProvider())
    try:
        yield ledger, clock
    finally:
        ledger.close()


def listed(store: Store, *args: str) -> list[dict[str, Any]]:
    rows = store.json(*args)
    assert isinstance(rows, list)
    return rows


def test_payments_list_finds_a_payment_by_reference_age_and_escrow_status(store: Store) -> None:
    with old_ledger(store) as (ledger, clock):
        seeded = seed_payments(ledger, clock, 6, held=2)
    fresh = store.open()
    try:
        fresh.register_user("fan-9", "fan")
        rid = fresh.create_request("fan-9", "star-1", 777, "NGN").id
        young = str(fresh.record_payment(rid, "young-1").id)
    finally:
        fresh.close()

    [by_reference] = listed(store, "payments", "list", "--reference", "find-3")
    assert by_reference["id"] == seeded.payments[3]
    old_pending = listed(
        store, "payments", "list", "--older-than", "24h", "--escrow-status", "pending"
    )
    assert {r["id"] for r in old_pending} == set(seeded.payments)
    assert young not in {r["id"] for r in old_pending}
    held = listed(store, "payments", "list", "--status", "completed", "--currency", "ngn")
    assert {r["id"] for r in held} == set(seeded.payments[:2])
    mine = listed(store, "payments", "list", "--fan", "fan-9")
    assert [r["id"] for r in mine] == [young]
    assert listed(store, "payments", "list", "--flagged") == []
    table = store.ok("payments", "list", "--celebrity", "star-1", "--limit", "3").stdout
    assert table.index("NGN 7.77") < table.index("NGN 10.0")  # major units, newest first
    assert f"more: --after {seeded.payments_in_order()[1]}" in table


def test_requests_list_filters_by_status_users_and_their_payment(sqlite_store: Store) -> None:
    with old_ledger(sqlite_store) as (ledger, clock):
        seeded = seed_payments(ledger, clock, 5, held=1)
        clock.advance(timedelta(minutes=5))
        extra = ledger.create_request("fan-1", "star-1", 999, "NGN").id  # no payment yet
    all_rows = listed(sqlite_store, "requests", "list")
    assert len(all_rows) == 6
    assert all_rows[0]["id"] == str(extra)
    assert all_rows[0]["transaction_id"] is None
    paid = listed(sqlite_store, "requests", "list", "--status", "in_progress")
    assert [r["id"] for r in paid] == [seeded.requests[0]]
    assert paid[0]["reference"] == "find-0"
    assert paid[0]["escrow_status"] == "PENDING"
    by_reference = listed(sqlite_store, "requests", "list", "--reference", "find-4")
    assert [r["id"] for r in by_reference] == [seeded.requests[4]]
    fan2 = listed(sqlite_store, "requests", "list", "--fan", "fan-2", "--oldest-first")
    mine = {seeded.requests[1], seeded.requests[3]}
    in_order = [r for r in seeded.requests_in_order(oldest_first=True) if r in mine]
    assert [r["id"] for r in fan2] == in_order
    out = sqlite_store.ok("requests", "list", "--format", "csv").stdout
    assert len(list(csv.DictReader(io.StringIO(out)))) == 6


def test_lists_and_reports_are_newest_first_and_oldest_first_turns_them(
    sqlite_store: Store,
) -> None:
    with old_ledger(sqlite_store) as (ledger, clock):
        seeded = seed_payments(ledger, clock, 9, held=9, same_time=2)
    newest = [r["id"] for r in listed(sqlite_store, "payments", "list")]
    assert newest == seeded.payments_in_order()
    assert newest[-1] in seeded.payments[:2]  # the first minute's, by id within it
    oldest = [r["id"] for r in listed(sqlite_store, "payments", "list", "--oldest-first")]
    assert oldest == list(reversed(newest))
    report = [r["id"] for r in listed(sqlite_store, "report", "payments")]
    assert report == newest
    escrow = [r["id"] for r in listed(sqlite_store, "report", "escrow", "--oldest-first")]
    assert escrow == oldest
    requests = [r["id"] for r in listed(sqlite_store, "requests", "list")]
    assert requests == seeded.requests_in_order()


@pytest.mark.parametrize(("oldest_first", "count"), [(False, 1000), (True, 400)])
def test_paging_through_1000_payments_with_after_returns_each_exactly_once(
    store: Store, oldest_first: bool, count: int
) -> None:
    with old_ledger(store) as (ledger, clock):
        seeded = seed_payments(ledger, clock, count)
        order = ["--oldest-first"] if oldest_first else []
        seen: list[str] = []
        after: list[str] = []
        added: list[str] = []
        while True:
            page = listed(store, "payments", "list", "--limit", "150", *order, *after)
            seen.extend(r["id"] for r in page)
            if len(seen) == 150:  # a payment arriving while someone pages is the newest:
                clock.advance(timedelta(hours=1))  # before the cursor newest first, at the
                rid = ledger.create_request("fan-1", "star-1", 5, "NGN").id  # end oldest first
                added.append(str(ledger.record_payment(rid, "late-1").id))
            if len(page) < 150:
                break
            last = page[-1]["id"]
            after = ["--after", last[:8] if len(seen) == 300 else last]  # a prefix works too
    assert len(seen) == len(set(seen)) == count + len(added) * oldest_first
    expected = seeded.payments_in_order(oldest_first=oldest_first)
    assert seen == (expected + added if oldest_first else expected)


def test_a_request_is_found_by_an_8_character_prefix_everywhere(sqlite_store: Store) -> None:
    with old_ledger(sqlite_store) as (ledger, _clock):
        ledger.register_user("fan-1", "fan")
        ledger.register_user("star-1", "celebrity", verified=True)
        rid = ledger.create_request("fan-1", "star-1", 500000, "NGN").id
    short = str(rid)[:8]
    shown = sqlite_store.json("requests", "show", short)
    assert shown["id"] == str(rid)
    recorded = sqlite_store.json("payments", "record", short.upper(), "--reference", "ref-p")
    tid = recorded["id"]
    assert sqlite_store.json("payments", "show", tid[:8])["id"] == tid
    assert sqlite_store.json("payments", "show", "ref-p")["id"] == tid
    assert sqlite_store.json("payments", "show", tid.replace("-", ""))["id"] == tid
    marked = sqlite_store.json("admin", "mark-paid", "ref-p", "--reason", "bank statement")
    assert (marked["id"], marked["changed"]) == (tid, True)


def test_an_ambiguous_prefix_is_one_line_listing_the_matches(sqlite_store: Store) -> None:
    one, two = twin_ids()
    with old_ledger(sqlite_store) as (ledger, _clock):
        ledger.register_user("fan-1", "fan")
        ledger.register_user("star-1", "celebrity")
        for rid in (one, two):
            ledger.create_request("fan-1", "star-1", 500000, "NGN", rid)
    head = sqlite_store.head()
    line = assert_refused(sqlite_store.run("requests", "complete", "8ce098db"), 2, "ambiguous")
    assert str(one) in line
    assert str(two) in line
    assert "more characters" in line
    assert sqlite_store.head() == head
    assert sqlite_store.json("requests", "show", "8ce098db-1")["id"] == str(two)
    for bad, mentions in [("8ce098d", "at least 8"), ("0000dead", "no request")]:
        assert_refused(sqlite_store.run("requests", "show", bad), 2, mentions)
    assert_refused(sqlite_store.run("payments", "show", "nope-ref"), 2, "no payment")


def test_audit_history_takes_a_users_external_id_and_prints_csv(sqlite_store: Store) -> None:
    sqlite_store.ok("users", "register", "star-1", "--role", "CELEBRITY", "--verified")
    rows = list(
        csv.DictReader(
            io.StringIO(sqlite_store.ok("audit", "history", "star-1", "--format", "csv").stdout)
        )
    )
    assert [r["event"] for r in rows] == ["UserRegistered", "UserVerified"]
    assert json.loads(rows[0]["fields"])["external_id"] == "star-1"
    history = sqlite_store.json("audit", "history", "star-1")
    assert history["type"] == "User"
    at = sqlite_store.json("audit", "history", "star-1", "--as-of", "1000d")
    assert at["state"] is None
    assert_refused(sqlite_store.run("audit", "history", "ghost-1"), 2, "no aggregate")


def test_choices_and_currencies_take_any_case(sqlite_store: Store) -> None:
    sqlite_store.ok("users", "register", "fan-1", "--role", "Fan")
    sqlite_store.ok("users", "register", "star-1", "--role", "celebrity", "--verified")
    sqlite_store.ok("wallets", "create", "star-1", "--currency", "ngn")
    created = sqlite_store.json(
        "requests", "create", "--fan", "fan-1", "--celebrity", "star-1", "--amount", "5000",
        "--currency", "ngn",
    )  # fmt: skip
    assert sqlite_store.json("requests", "show", created["id"])["currency"] == "NGN"
    assert sqlite_store.json("wallets", "show", "star-1", "--currency", "Ngn")["currency"] == "NGN"
    assert listed(sqlite_store, "report", "payments", "--status", "completed") == []
    assert listed(sqlite_store, "report", "escrow", "--currency", "ngn") == []
    assert listed(sqlite_store, "requests", "list", "--status", "pending", "--format", "JSON")
    sqlite_store.ok("notifications", "list", "--status", "failed", "--channel", "EMAIL")
    assert_refused(sqlite_store.run("payments", "list", "--status", "paid"), 2, "PENDING")


def test_time_filters_take_iso_8601_or_a_duration(sqlite_store: Store) -> None:
    with old_ledger(sqlite_store) as (ledger, clock):
        seeded = seed_payments(ledger, clock, 3)
    assert listed(sqlite_store, "report", "payments", "--since", "24h") == []
    assert len(listed(sqlite_store, "report", "payments", "--until", "24h")) == 3
    since = (T0 - timedelta(minutes=1)).isoformat()
    assert len(listed(sqlite_store, "payments", "list", "--since", since)) == 3
    assert len(listed(sqlite_store, "requests", "list", "--since", "P400D")) == 3
    assert [r["id"] for r in listed(sqlite_store, "payments", "list", "--older-than", "7d")] == (
        seeded.payments_in_order()
    )
    for args, mentions in [
        (("report", "payments", "--since", "yesterday"), "duration ago"),
        (("payments", "list", "--older-than", "24"), "duration"),
        (("payments", "list", "--older-than", "1h", "--until", "2h"), "not both"),
        (("report", "payments", "--since", "2026-01-05T10:00:00"), "no UTC offset"),
    ]:
        assert_refused(sqlite_store.run(*args), 2, mentions)


def test_the_held_payments_view_names_people_formats_amounts_and_survives_a_rebuild(
    store: Store,
) -> None:
    with old_ledger(store) as (ledger, clock):
        seed_payments(ledger, clock, 3, held=2)
        clock.advance(timedelta(hours=1))
        rid = ledger.create_request("fan-2", "star-1", 123456789, "NGN").id
        big = ledger.record_payment(rid, "big-1").id
        ledger.confirm_payment(big, amount=123456789, currency="NGN")
    store.ok("report", "summary")  # creates and catches up the read tables
    rebuilt = store.run("projections", "rebuild", "ledger_tables")  # drops, remakes the view
    assert rebuilt.exit_code == 0, rebuilt.output
    settings = store.settings()
    db = ReadDB(store_config(settings.database_url, schema=settings.postgres_schema))
    try:
        rows = db.fetchall(
            "SELECT * FROM held_payments ORDER BY created_at DESC, amount_minor DESC"
        )
    finally:
        db.close()
    assert [(r["fan"], r["celebrity"], r["amount"], r["currency"]) for r in rows] == [
        ("fan-2", "star-1", "1,234,567.89", "NGN"),
        ("fan-2", "star-1", "10.01", "NGN"),
        ("fan-1", "star-1", "10.00", "NGN"),
    ]
    assert [r["reference"] for r in rows] == ["big-1", "find-1", "find-0"]
    assert all(int(r["age_seconds"]) > 86400 for r in rows)
    assert all(r["age"] for r in rows)


def test_jobs_run_refuses_a_now_in_the_future_unless_allowed(sqlite_store: Store) -> None:
    later = "2999-01-01T00:00:00+00:00"
    line = assert_refused(sqlite_store.run("jobs", "run", "--once", "--now", later), 2, "future")
    assert "--allow-future" in line
    assert sqlite_store.head() == 0
