"""The read-side queries (reports and the jobs' work lists) over a small known history, on
SQLite and PostgreSQL: every filter, the summary's figures, keyset pages, refused filters."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.clock import FixedClock
from ledger.domain import ids
from ledger.errors import InvalidInput
from projections import queries
from projections.db import ReadDB
from projections.report_filter import ReportFilter
from projections.wiring import read_side
from tests.conftest import T0

H = timedelta(hours=1)
NOW = T0 + 30 * H


@dataclass
class History:
    db: ReadDB
    ledger: Ledger
    txn: dict[str, UUID]
    req: dict[str, UUID]


def _pay(ledger: Ledger, fan: str, star: str, amount: int, currency: str, ref: str) -> UUID:
    request = ledger.create_request(fan, star, amount, currency)
    return ledger.record_payment(request.id, ref).id


def build_history(ledger: Ledger, clock: FixedClock) -> tuple[dict[str, UUID], dict[str, UUID]]:
    """One payment of each fate, an hour apart from T0 (fee 250 bps):

    T0    released  fan-1 -> star-1  NGN 2,000.00  released (fee 50.00)
    T0+1  held_done  fan-1 -> star-1  NGN 5,000.00  held, request COMPLETED (releasable)
    T0+2  held_ghs   fan-1 -> star-2  GHS 3,000.00  held, request IN_PROGRESS
    T0+3  flagged    fan-1 -> star-1  NGN 10.00     paid 9.00: flagged for review
    T0+4  failed     fan-2 -> star-1  NGN 70.00     failed, request DECLINED
    T0+5  pending    fan-1 -> star-2  NGN 400.00    recorded, not verified yet
    T0+6  (request)  fan-1 -> star-1  NGN 100.00    request only, no payment
    T0+7  refunded   fan-1 -> star-1  NGN 600.00    paid, then declined: refunded
    """
    ledger.register_user("fan-1", "fan", verified=True)
    ledger.register_user("fan-2", "fan")
    ledger.register_user("star-1", "celebrity", verified=True)
    ledger.register_user("star-2", "celebrity", verified=True)
    ledger.register_user("star-3", "celebrity")
    ledger.create_wallet("star-1", "NGN")
    ledger.create_wallet("star-2", "GHS")
    txn: dict[str, UUID] = {}
    txn["released"] = _pay(ledger, "fan-1", "star-1", 200_000, "NGN", "ref-released")
    ledger.confirm_payment(txn["released"], amount=200_000, currency="NGN")
    released = ledger.get_transaction(txn["released"])
    ledger.complete_request(released.request_id)
    ledger.release_escrow(txn["released"])
    clock.advance(H)
    txn["held_done"] = _pay(ledger, "fan-1", "star-1", 500_000, "NGN", "ref-held-done")
    ledger.confirm_payment(txn["held_done"], amount=500_000, currency="NGN")
    ledger.complete_request(ledger.get_transaction(txn["held_done"]).request_id)
    clock.advance(H)
    txn["held_ghs"] = _pay(ledger, "fan-1", "star-2", 300_000, "GHS", "ref-held-ghs")
    ledger.confirm_payment(txn["held_ghs"], amount=300_000, currency="GHS")
    clock.advance(H)
    txn["flagged"] = _pay(ledger, "fan-1", "star-1", 1_000, "NGN", "ref-flagged")
    ledger.confirm_payment(txn["flagged"], amount=900, currency="NGN")
    clock.advance(H)
    txn["failed"] = _pay(ledger, "fan-2", "star-1", 7_000, "NGN", "ref-failed")
    ledger.fail_payment(txn["failed"], reason="abandoned", provider_status="abandoned")
    clock.advance(H)
    txn["pending"] = _pay(ledger, "fan-1", "star-2", 40_000, "NGN", "ref-pending")
    clock.advance(H)
    no_payment = ledger.create_request("fan-1", "star-1", 10_000, "NGN").id
    clock.advance(H)
    txn["refunded"] = _pay(ledger, "fan-1", "star-1", 60_000, "NGN", "ref-refunded")
    ledger.confirm_payment(txn["refunded"], amount=60_000, currency="NGN")
    ledger.decline_request(ledger.get_transaction(txn["refunded"]).request_id)
    req = {name: ledger.get_transaction(tid).request_id for name, tid in txn.items()}
    req["no_payment"] = no_payment
    clock.set(NOW)
    return txn, req


@pytest.fixture
def history(make_ledger: Callable[..., Ledger], clock: FixedClock) -> Iterator[History]:
    ledger = make_ledger(LEDGER_PLATFORM_FEE_BPS="250")
    txn, req = build_history(ledger, clock)
    with read_side(ledger=ledger, catch_up=True) as side:
        yield History(side.db, ledger, txn, req)


def _ids(rows: list[object]) -> list[UUID]:
    return [row.id for row in rows]  # type: ignore[attr-defined]


# -- escrow ----------------------------------------------------------------------------------


def test_escrow_report_lists_held_payments_newest_first_with_their_age(history: History) -> None:
    rows = queries.escrow_report(history.db, now=NOW)
    assert _ids(rows) == [history.txn["held_ghs"], history.txn["held_done"]]
    oldest = queries.escrow_report(history.db, now=NOW, oldest_first=True)
    assert oldest == list(reversed(rows))
    ghs, done = rows
    assert (done.amount, done.currency, done.request_status) == (500_000, "NGN", "COMPLETED")
    assert (done.celebrity, done.fan) == ("star-1", "fan-1")
    assert done.created_at == T0 + H
    assert done.created_at.tzinfo is UTC
    assert done.age_seconds == 29 * 3600
    assert (ghs.currency, ghs.request_status, ghs.age_seconds) == ("GHS", "IN_PROGRESS", 28 * 3600)


def test_escrow_report_filters_by_currency_celebrity_request_status_and_window(
    history: History,
) -> None:
    db, txn = history.db, history.txn
    assert _ids(queries.escrow_report(db, ReportFilter(currency="GHS"), now=NOW)) == [
        txn["held_ghs"]
    ]
    assert _ids(queries.escrow_report(db, ReportFilter(celebrity="star-1"), now=NOW)) == [
        txn["held_done"]
    ]
    assert _ids(queries.escrow_report(db, ReportFilter(status="COMPLETED"), now=NOW)) == [
        txn["held_done"]
    ]
    assert _ids(queries.escrow_report(db, ReportFilter(since=T0 + 2 * H), now=NOW)) == [
        txn["held_ghs"]
    ]
    assert _ids(queries.escrow_report(db, ReportFilter(until=T0 + 2 * H), now=NOW)) == [
        txn["held_done"]
    ]
    assert queries.escrow_report(db, ReportFilter(celebrity="star-3"), now=NOW) == []


def test_times_with_another_offset_are_compared_as_the_same_instant_in_utc(
    history: History,
) -> None:
    lagos = timezone(timedelta(hours=1))
    since = (T0 + 2 * H).astimezone(lagos)  # 11:00+01:00 is 10:00 UTC
    rows = queries.escrow_report(history.db, ReportFilter(since=since), now=NOW.astimezone(lagos))
    assert _ids(rows) == [history.txn["held_ghs"]]
    assert rows[0].age_seconds == 28 * 3600
    assert rows[0].created_at.utcoffset() == timedelta(0)


# -- payments, review, wallets ---------------------------------------------------------------


def test_payments_report_lists_every_payment_with_its_statuses_newest_first(
    history: History,
) -> None:
    rows = queries.payments_report(history.db)
    order = ["refunded", "pending", "failed", "flagged", "held_ghs", "held_done", "released"]
    assert _ids(rows) == [history.txn[name] for name in order]
    oldest = queries.payments_report(history.db, oldest_first=True)
    assert oldest == list(reversed(rows))
    by_id = {row.id: row for row in rows}
    released = by_id[history.txn["released"]]
    assert (released.status, released.escrow_status) == ("COMPLETED", "RELEASED")
    assert (released.fee, released.payout) == (5_000, 195_000)
    assert released.released_at == T0
    failed = by_id[history.txn["failed"]]
    assert (failed.status, failed.escrow_status, failed.fan) == ("FAILED", "CANCELLED", "fan-2")
    assert by_id[history.txn["held_done"]].is_in_escrow is True
    assert by_id[history.txn["flagged"]].needs_review is True


def test_payments_report_filters_by_status_escrow_status_currency_celebrity_and_window(
    history: History,
) -> None:
    db, txn = history.db, history.txn
    assert _ids(queries.payments_report(db, ReportFilter(status="FAILED"))) == [txn["failed"]]
    assert _ids(queries.payments_report(db, ReportFilter(escrow_status="REFUNDED"))) == [
        txn["refunded"]
    ]
    assert _ids(queries.payments_report(db, ReportFilter(currency="GHS"))) == [txn["held_ghs"]]
    assert _ids(queries.payments_report(db, ReportFilter(celebrity="star-2"))) == [
        txn["pending"],
        txn["held_ghs"],
    ]
    window = queries.payments_report(db, ReportFilter(since=T0 + 3 * H, until=T0 + 5 * H))
    assert _ids(window) == [txn["failed"], txn["flagged"]]
    assert _ids(queries.payments_report(db, ReportFilter(status="pending", currency="ngn"))) == [
        txn["pending"],
        txn["flagged"],
    ]
    assert _ids(queries.payments_report(db, ReportFilter(fan="fan-2"))) == [txn["failed"]]
    assert _ids(queries.payments_report(db, ReportFilter(reference="ref-held-ghs"))) == [
        txn["held_ghs"]
    ]
    assert _ids(queries.payments_report(db, ReportFilter(flagged=True))) == [txn["flagged"]]
    assert txn["flagged"] not in _ids(queries.payments_report(db, ReportFilter(flagged=False)))


def test_review_report_lists_flagged_payments_with_what_arrived(history: History) -> None:
    (item,) = queries.review_report(history.db)
    assert item.id == history.txn["flagged"]
    assert (item.flag_reason, item.amount, item.flagged_amount) == ("amount_mismatch", 1_000, 900)
    assert (item.flagged_currency, item.status, item.celebrity) == ("NGN", "PENDING", "star-1")
    assert queries.review_report(history.db, ReportFilter(status="FAILED")) == []
    assert queries.review_report(history.db, ReportFilter(currency="GHS")) == []


def test_wallets_report_shows_balances_and_owners(history: History) -> None:
    rows = queries.wallets_report(history.db)  # both created at T0: then by id, newest first
    assert [w.id for w in rows] == sorted((w.id for w in rows), key=str, reverse=True)
    rows.sort(key=lambda w: str(w.owner))
    assert [(w.owner, w.currency, w.balance, w.credited, w.debited) for w in rows] == [
        ("star-1", "NGN", 195_000, 195_000, 0),
        ("star-2", "GHS", 0, 0, 0),
    ]
    assert rows[0].id == ids.wallet_id(ids.user_id("star-1"), "NGN")
    assert [w.owner for w in queries.wallets_report(history.db, ReportFilter(currency="GHS"))] == [
        "star-2"
    ]
    assert [
        w.owner for w in queries.wallets_report(history.db, ReportFilter(celebrity="star-1"))
    ] == ["star-1"]
    assert queries.wallets_report(history.db, ReportFilter(since=T0 + H)) == []


# -- summary ---------------------------------------------------------------------------------


def test_summary_gives_money_and_counts_per_currency(history: History) -> None:
    ghs, ngn = queries.summary(history.db, now=NOW)
    assert ngn.currency == "NGN"
    assert (ngn.held, ngn.released, ngn.platform_fees, ngn.refunded) == (
        500_000,
        200_000,
        5_000,
        60_000,
    )
    assert ngn.verified == ngn.held + ngn.released + ngn.refunded == 760_000
    assert (ngn.in_review_count, ngn.in_review_amount) == (1, 900)
    assert ngn.payments_by_status == {"PENDING": 2, "COMPLETED": 3, "FAILED": 1}
    assert ngn.escrow_by_status == {"PENDING": 3, "RELEASED": 1, "REFUNDED": 1, "CANCELLED": 1}
    assert ngn.requests_by_status == {
        "PENDING": 3,
        "IN_PROGRESS": 0,
        "COMPLETED": 2,
        "DECLINED": 2,
    }
    assert ngn.oldest_held_at == T0 + H
    assert ngn.oldest_held_age_seconds == 29 * 3600
    assert (ghs.currency, ghs.held, ghs.verified, ghs.released) == ("GHS", 300_000, 300_000, 0)
    assert ghs.requests_by_status["IN_PROGRESS"] == 1
    assert ghs.oldest_held_age_seconds == 28 * 3600


def test_summary_for_one_currency_celebrity_or_window(history: History) -> None:
    (ngn,) = queries.summary(history.db, ReportFilter(currency="NGN", celebrity="star-2"), now=NOW)
    assert (ngn.held, ngn.payments_by_status["PENDING"], ngn.oldest_held_at) == (0, 1, None)
    (late,) = queries.summary(history.db, ReportFilter(currency="NGN", since=T0 + 2 * H), now=NOW)
    assert (late.held, late.refunded, late.released) == (0, 60_000, 0)
    (empty,) = queries.summary(history.db, ReportFilter(currency="USD"), now=NOW)
    assert (empty.currency, empty.verified, empty.payments_by_status["COMPLETED"]) == (
        "USD",
        0,
        0,
    )


# -- the jobs' work lists --------------------------------------------------------------------


def test_pending_payments_due_exclude_flagged_and_younger_ones(history: History) -> None:
    due = queries.list_pending_payments(history.db, older_than=NOW - 24 * H)
    assert [(p.id, p.reference, p.amount) for p in due] == [
        (history.txn["pending"], "ref-pending", 40_000)
    ]
    at_cutoff = queries.list_pending_payments(history.db, older_than=T0 + 5 * H)
    assert _ids(at_cutoff) == [history.txn["pending"]]  # created at the cutoff: due
    assert queries.list_pending_payments(history.db, older_than=T0 + 5 * H - timedelta(1)) == []


def test_stale_requests_are_pending_ones_created_before_the_cutoff(history: History) -> None:
    stale = queries.list_stale_requests(history.db, older_than=T0 + 6 * H + timedelta(1))
    by_id = {r.id: r for r in stale}
    oldest_first = [history.req[name] for name in ("flagged", "pending", "no_payment")]
    assert [r.id for r in stale] == oldest_first
    assert by_id[history.req["flagged"]].needs_review is True
    assert by_id[history.req["pending"]].transaction_id == history.txn["pending"]
    assert by_id[history.req["pending"]].transaction_status == "PENDING"
    assert by_id[history.req["no_payment"]].transaction_id is None
    strictly_before = queries.list_stale_requests(history.db, older_than=T0 + 6 * H)
    assert history.req["no_payment"] not in _ids(strictly_before)


def test_releasable_payments_are_held_with_their_request_completed(history: History) -> None:
    (due,) = queries.list_releasable(history.db)
    assert (due.id, due.amount, due.currency) == (history.txn["held_done"], 500_000, "NGN")
    assert due.wallet_id == ids.wallet_id(ids.user_id("star-1"), "NGN")


def test_users_without_wallet_are_verified_users_missing_one_in_that_currency(
    history: History,
) -> None:
    ngn = queries.list_users_without_wallet(history.db, currency="NGN")
    assert sorted(u.external_id for u in ngn) == ["fan-1", "star-2"]
    assert [u.id for u in ngn] == sorted((u.id for u in ngn), key=str)
    ghs = queries.list_users_without_wallet(history.db, currency="GHS")
    assert sorted(u.external_id for u in ghs) == ["fan-1", "star-1"]


# -- keyset pages ----------------------------------------------------------------------------


def test_report_pages_follow_the_cursor_without_gaps_or_repeats(history: History) -> None:
    everything = queries.payments_report(history.db)
    first = queries.payments_report(history.db, limit=3)
    second = queries.payments_report(history.db, limit=3, after=first[-1].cursor)
    third = queries.payments_report(history.db, limit=3, after=second[-1].cursor)
    assert (len(first), len(second), len(third)) == (3, 3, 1)
    assert first + second + third == everything
    assert list(queries.each(queries.payments_report, history.db, limit=2)) == everything
    backwards = queries.each(queries.payments_report, history.db, limit=2, oldest_first=True)
    assert list(backwards) == list(reversed(everything))


def test_pages_break_ties_of_the_same_instant_by_id(ledger: Ledger) -> None:
    ledger.register_user("fan", "fan", verified=True)
    ledger.register_user("star", "celebrity", verified=True)
    made = {_pay(ledger, "fan", "star", 1_000 + i, "NGN", f"ref-{i}") for i in range(5)}
    with read_side(ledger=ledger, catch_up=True) as side:
        walked = list(queries.each(queries.payments_report, side.db, limit=2))
        assert len(walked) == 5
        assert {row.id for row in walked} == made
        page, seen = queries.list_pending_payments(side.db, older_than=T0, limit=2), []
        while page:
            seen.extend(page)
            page = queries.list_pending_payments(
                side.db, older_than=T0, limit=2, after_id=page[-1].id
            )
        assert [p.id for p in seen] == sorted(made, key=str)


def test_job_lists_page_after_the_last_id_they_returned(history: History) -> None:
    cutoff = T0 + 6 * H + timedelta(1)
    first = queries.list_stale_requests(history.db, older_than=cutoff, limit=2)
    rest = queries.list_stale_requests(history.db, older_than=cutoff, after_id=first[-1].id)
    assert _ids(first + rest) == _ids(queries.list_stale_requests(history.db, older_than=cutoff))
    assert len(rest) == 1
    done = queries.list_releasable(history.db, after_id=history.txn["held_done"])
    assert done == []
    with pytest.raises(InvalidInput, match="not a row"):
        queries.list_releasable(history.db, after_id=history.req["no_payment"])


def test_users_without_wallet_page_by_id(history: History) -> None:
    first = queries.list_users_without_wallet(history.db, currency="NGN", limit=1)
    rest = queries.list_users_without_wallet(
        history.db, currency="NGN", limit=5, after_id=first[0].id
    )
    assert len(first) == 1
    assert len(rest) == 1
    assert {first[0].external_id, rest[0].external_id} == {"fan-1", "star-2"}


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda db: queries.payments_report(db, ReportFilter(currency="EUR")),
            "unsupported currency",
        ),
        (
            lambda db: queries.payments_report(db, ReportFilter(status="DONE")),
            "unknown payment status",
        ),
        (
            lambda db: queries.payments_report(db, ReportFilter(escrow_status="HELD")),
            "unknown escrow status",
        ),
        (
            lambda db: queries.escrow_report(db, ReportFilter(status="PAID"), now=NOW),
            "unknown request status",
        ),
        (
            lambda db: queries.review_report(db, ReportFilter(since=datetime(2026, 1, 1))),
            "no UTC offset",
        ),
        (
            lambda db: queries.wallets_report(db, ReportFilter(since=NOW, until=NOW)),
            "must be before",
        ),
        (
            lambda db: queries.payments_report(db, ReportFilter(celebrity="not valid!")),
            "invalid user id",
        ),
        (lambda db: queries.payments_report(db, limit=0), "limit"),
        (
            lambda db: queries.escrow_report(db, ReportFilter(fan="fan-1"), now=NOW),
            "the escrow report has no fan filter",
        ),
        (
            lambda db: queries.payments_report(db, ReportFilter(reference="a b")),
            "invalid payment reference",
        ),
        (
            lambda db: queries.summary(db, ReportFilter(currency="eur"), now=NOW),
            "unsupported currency",
        ),
        (lambda db: queries.summary(db, now=datetime(2026, 1, 1)), "no UTC offset"),
        (lambda db: queries.list_users_without_wallet(db, currency="XXX"), "unsupported"),
        (lambda db: queries.list_pending_payments(db, older_than=NOW, after_id="x"), "after_id"),
    ],
)
def test_bad_filters_are_refused_with_invalid_input(
    ledger: Ledger, call: object, message: str
) -> None:
    assert callable(call)
    with (
        read_side(ledger=ledger, catch_up=True) as side,
        pytest.raises(InvalidInput, match=message),
    ):
        call(side.db)
