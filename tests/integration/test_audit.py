"""Audit on SQLite and PostgreSQL: history and as-of state, replay-and-compare verification,
the books, and tamper evidence (the hash chain, seals, and the first changed position).

Tampering is done the way an intruder with database access would: straight SQL on the read
tables or on the events table (SQLite: ``stored_events``, keyed by rowid; PostgreSQL:
``ledger_events``, keyed by originator id and version, ``notification_id`` the position).
"""

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from ledger.application import Ledger
from ledger.clock import FixedClock
from ledger.errors import InvalidInput, NotFound
from projections.audit import (
    GENESIS,
    ChainBreak,
    Difference,
    Seal,
    history,
    parse_seal,
    seal,
    verify,
    verify_seal,
)
from projections.audit_chain import link
from projections.wiring import ReadSide, read_side

# -- a history with money in every state -------------------------------------------------------


@dataclass
class Story:
    held: UUID
    released: UUID
    released_request: UUID
    flagged: UUID
    wallet: UUID


def tell(ledger: Ledger, clock: FixedClock) -> Story:
    ledger.register_user("fan-1", "fan")
    ledger.register_user("star-1", "celebrity", verified=True)
    wallet = ledger.create_wallet("star-1", "NGN").id
    held = ledger.create_request("fan-1", "star-1", 500_000, "NGN")
    held_tx = ledger.record_payment(held.id, "ref-held")
    ledger.confirm_payment(held_tx.id, amount=500_000, currency="NGN")
    released = ledger.create_request("fan-1", "star-1", 200_000, "NGN")
    released_tx = ledger.record_payment(released.id, "ref-released")
    clock.advance(timedelta(hours=1))
    ledger.admin_mark_paid(released_tx.id, operator="ops-alice", reason="bank statement")
    clock.advance(timedelta(hours=1))
    ledger.complete_request(released.id)
    ledger.admin_release(released_tx.id, operator="ops-bob", reason="delivered")
    flagged = ledger.create_request("fan-1", "star-1", 1_000, "NGN")
    flagged_tx = ledger.record_payment(flagged.id, "ref-flagged")
    ledger.confirm_payment(flagged_tx.id, amount=900, currency="NGN")
    return Story(held_tx.id, released_tx.id, released.id, flagged_tx.id, wallet)


@pytest.fixture
def side(ledger: Ledger) -> Iterator[ReadSide]:
    with read_side(ledger=ledger) as opened:
        yield opened


def head(ledger: Ledger) -> int:
    return int(ledger.recorder.max_notification_id() or 0)


# -- raw access to the store, as an intruder would have it -------------------------------------


class Raw:
    """Straight SQL on the database of ``ledger``'s store."""

    def __init__(self, ledger: Ledger) -> None:
        s = ledger.settings
        self.postgres = s.database_url.startswith("postgres")
        self.schema = s.postgres_schema
        # SQLite: ``stored_events``; PostgreSQL: ``ledger_events`` (the library's names).
        self.table = str(ledger.recorder.events_table_name).split(".")[-1].strip('"')
        if self.postgres:
            self.pg = psycopg.connect(s.database_url, autocommit=True)
            self.pg.execute(f'SET search_path TO "{self.schema}"')
        else:
            self.lite = sqlite3.connect(s.database_url.removeprefix("sqlite:///"), timeout=10)
            self.lite.isolation_level = None

    def close(self) -> None:
        (self.pg if self.postgres else self.lite).close()

    def run(self, statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
        if self.postgres:
            cursor = self.pg.execute(statement.encode(), params)
            return cursor.fetchall() if cursor.description else []
        return self.lite.execute(statement.replace("%s", "?"), params).fetchall()

    def event(self, position: int) -> tuple[str, int, str, bytes]:
        where = "notification_id" if self.postgres else "rowid"
        rows = self.run(
            f"SELECT originator_id, originator_version, topic, state FROM {self.table} "
            f"WHERE {where} = %s",
            [position],
        )
        originator_id, version, topic, state = rows[0]
        return str(originator_id), int(version), str(topic), bytes(state)

    def edit_state(self, position: int, old: bytes, new: bytes) -> None:
        originator_id, version, _, state = self.event(position)
        assert old in state
        changed = state.replace(old, new)
        if self.postgres:
            self.run(
                f"UPDATE {self.table} SET state = %s "
                "WHERE originator_id = %s AND originator_version = %s",
                [changed, originator_id, version],
            )
        else:
            self.run(f"UPDATE {self.table} SET state = %s WHERE rowid = %s", [changed, position])

    def delete(self, position: int) -> None:
        where = "notification_id" if self.postgres else "rowid"
        self.run(f"DELETE FROM {self.table} WHERE {where} = %s", [position])

    def insert(self, position: int | None, topic: str, state: bytes) -> None:
        if position is None:
            self.run(
                f"INSERT INTO {self.table} (originator_id, originator_version, topic, state) "
                "VALUES (%s, 1, %s, %s)",
                [str(uuid4()), topic, state],
            )
            return
        where = "notification_id" if self.postgres else "rowid"
        self.run(
            f"INSERT INTO {self.table} ({where}, originator_id, originator_version, topic, "
            "state) VALUES (%s, %s, 1, %s, %s)",
            [position, str(uuid4()), topic, state],
        )


@pytest.fixture
def raw(ledger: Ledger) -> Iterator[Raw]:
    opened = Raw(ledger)
    yield opened
    opened.close()


# -- history -----------------------------------------------------------------------------------


def test_history_lists_every_event_with_times_operator_and_reason(
    ledger: Ledger, clock: FixedClock
) -> None:
    story = tell(ledger, clock)
    timeline, state = history(ledger, story.released)
    assert [e.event for e in timeline] == ["PaymentInitiated", "PaymentVerified", "EscrowReleased"]
    assert [e.version for e in timeline] == [1, 2, 3]
    initiated, verified, released = timeline
    assert initiated.fields["reference"] == "ref-released"
    assert initiated.fields["amount"] == 200_000
    assert (verified.operator, verified.note) == ("ops-alice", "bank statement")
    assert (released.operator, released.note) == ("ops-bob", "delivered")
    assert released.fields["trigger"] == "admin"
    assert released.timestamp - initiated.timestamp == timedelta(hours=2)
    assert all(e.recorded_at is not None for e in timeline)
    assert state is not None
    assert (state["status"], state["escrow_status"], state["payout"]) == (
        "COMPLETED",
        "RELEASED",
        200_000,
    )


def test_history_as_of_a_time_replays_only_the_events_up_to_it(
    ledger: Ledger, clock: FixedClock
) -> None:
    start = clock()
    story = tell(ledger, clock)
    before = history(ledger, story.released, start - timedelta(seconds=1))
    assert before.state is None  # did not exist yet
    assert len(before.timeline) == 3  # the timeline is always complete
    pending = history(ledger, story.released, start + timedelta(minutes=30)).state
    assert pending is not None
    assert (pending["status"], pending["escrow_status"], pending["version"]) == (
        "PENDING",
        "PENDING",
        1,
    )
    held = history(ledger, story.released, start + timedelta(hours=1, minutes=30)).state
    assert held is not None
    assert (held["status"], held["held"]) == ("COMPLETED", True)
    request = history(ledger, story.released_request, start + timedelta(hours=1)).state
    assert request is not None
    assert request["status"] == "IN_PROGRESS"


def test_history_of_an_unknown_id_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        history(ledger, uuid4())


# -- verify: replay and compare, and the books -------------------------------------------------


def test_verify_passes_on_a_consistent_store_and_says_what_it_checked(
    ledger: Ledger, clock: FixedClock, side: ReadSide
) -> None:
    tell(ledger, clock)
    report = verify(side)
    assert report.ok, report.view()
    assert report.events_replayed == head(ledger) == report.position
    assert report.rows_compared == {
        "users": 2,
        "requests": 3,
        "wallets": 1,
        "wallet_transactions": 3,
        "ledger_entries": 8,
        # the notifications outbox's lookup tables (its messages hold delivery state: not
        # replayed, see projections.notifications.outbox)
        "notification_users": 2,
        "notification_requests": 3,
        "notification_payments": 3,
    }
    assert report.currencies == ["NGN"]
    assert {c.name for c in report.checks} >= {
        "entries_balance",
        "escrow_is_held",
        "suspense_is_flagged",
        "verified_conserved",
        "released_paid_out",
        "wallet_balance",
    }
    assert report.chain_events == head(ledger)
    assert not side.db.table_exists("wallet_transactions__verify")  # scratch tables dropped


def test_verify_passes_after_refunds_resolutions_fees_and_payouts(
    make_ledger: Callable[..., Ledger], clock: FixedClock
) -> None:
    ledger = make_ledger(LEDGER_PLATFORM_FEE_BPS="1000")
    story = tell(ledger, clock)
    ledger.decline_request(ledger.get_transaction(story.held).request_id, note="cannot do it")
    for reference, settle in (("ref-late-1", "refund"), ("ref-late-2", "resolve")):
        request = ledger.create_request("fan-1", "star-1", 3_000, "NGN")
        txn = ledger.record_payment(request.id, reference)
        ledger.confirm_payment(txn.id, amount=2_500, currency="NGN")
        if settle == "refund":
            ledger.admin_refund(txn.id, operator="ops-alice", reason="fan asked")
        else:
            ledger.admin_resolve(txn.id, operator="ops-alice", reason="settled by bank")
    fee_paid = ledger.create_request("fan-1", "star-1", 10_000, "NGN")
    fee_txn = ledger.record_payment(fee_paid.id, "ref-fee")
    ledger.confirm_payment(fee_txn.id, amount=10_000, currency="NGN")
    ledger.complete_request(fee_paid.id)
    ledger.release_escrow(fee_txn.id)
    ledger.debit_wallet("star-1", "NGN", 50_000, "payout-1")
    with read_side(ledger=ledger) as side:
        report = verify(side)
        assert report.ok, report.view()
        assert {c.name for c in report.checks} >= {"flagged_accounted", "released_paid_out"}
        side.db.execute("UPDATE wallet_transactions SET fee = 0 WHERE id = %s", [str(fee_txn.id)])
        failed = {c.name for c in verify(side).failed_checks()}
    assert failed == {"released_paid_out"}


def test_verify_pages_through_tables_and_log_in_small_batches(
    ledger: Ledger, clock: FixedClock, raw: Raw
) -> None:
    tell(ledger, clock)
    with read_side(ledger=ledger, batch_size=2) as small:
        sealed = seal(small)
        assert verify(small, seal=sealed).ok
        small.db.execute(
            "UPDATE ledger_entries SET credit = 7 WHERE position = %s AND line = 1",
            [sealed.position],
        )
        small.db.execute("UPDATE users SET verified = false WHERE externalId = 'star-1'")
        raw.edit_state(7, b"ref-held", b"ref-hold")
        report = verify(small, seal=sealed)
    diffs = {(d.table, d.column, d.live, d.replayed) for d in report.differences}
    assert diffs == {
        ("ledger_entries", "credit", "7", "900"),
        ("users", "verified", "false", "true"),
    }
    assert report.chain_break == ChainBreak(7, "edited")
    assert report.seal is not None
    assert report.seal.first_break == ChainBreak(7, "edited")
    assert report.rows_compared["wallet_transactions"] == 3


def test_verify_of_an_empty_store_passes(side: ReadSide) -> None:
    report = verify(side)
    assert report.ok
    assert report.events_replayed == 0


def test_a_manual_update_fails_verify_naming_row_and_column_until_a_rebuild(
    ledger: Ledger, clock: FixedClock, side: ReadSide
) -> None:
    story = tell(ledger, clock)
    verify(side)
    side.db.execute(
        "UPDATE wallet_transactions SET escrowStatus = 'RELEASED', isInEscrow = false "
        "WHERE id = %s",
        [str(story.held)],
    )
    report = verify(side)
    assert not report.ok
    key = f"id={story.held}"
    assert report.differences == [
        Difference("wallet_transactions", key, "isInEscrow", "false", "true"),
        Difference("wallet_transactions", key, "escrowStatus", "RELEASED", "PENDING"),
    ]
    failed = {(c.name, c.scope) for c in report.failed_checks()}
    assert ("escrow_is_held", "NGN") in failed
    side.engine.rebuild("ledger_tables")
    assert verify(side).ok


def test_a_changed_amount_and_a_deleted_row_are_both_listed(
    ledger: Ledger, clock: FixedClock, side: ReadSide
) -> None:
    story = tell(ledger, clock)
    side.engine.catch_up()
    side.db.execute("UPDATE wallets SET balance = balance + 1 WHERE id = %s", [str(story.wallet)])
    side.db.execute("DELETE FROM ledger_entries WHERE position = 1 OR account = 'suspense'")
    report = verify(side)
    assert Difference("wallets", f"id={story.wallet}", "balance", "200001", "200000") in (
        report.differences
    )
    missing = [d for d in report.differences if d.table == "ledger_entries"]
    assert len(missing) == 1
    assert (missing[0].column, missing[0].live, missing[0].replayed) == (
        "(row)",
        None,
        "present",
    )
    failed = {c.name for c in report.failed_checks()}
    assert {"wallet_balance", "entries_balance", "suspense_is_flagged"} <= failed


# -- the hash chain and seals ------------------------------------------------------------------


def make_gap(ledger: Ledger, raw: Raw) -> int:
    """Leave an unused position in the log (as a rolled-back insert does); return it."""
    _, _, topic, state = raw.event(1)
    raw.insert(None, topic, state)  # takes the next position; removed below
    gap = head(ledger)
    ledger.register_user("fan-2", "fan")
    raw.delete(gap)
    return gap


def recomputed_chain(ledger: Ledger) -> list[tuple[int, str]]:
    previous, chain = GENESIS, []
    for notification in ledger.recorder.select_notifications(start=1, limit=1000):
        previous = link(previous, notification.id, notification)
        chain.append((notification.id, previous))
    return chain


@pytest.mark.parametrize("batch_size", [1000, 2])
def test_the_chain_table_holds_one_hash_per_event_linked_from_genesis_across_gaps(
    ledger: Ledger, clock: FixedClock, raw: Raw, batch_size: int
) -> None:
    tell(ledger, clock)
    gap = make_gap(ledger, raw)
    with read_side(ledger=ledger, batch_size=batch_size) as side:
        side.engine.catch_up()
        side.engine.catch_up()
        rows = side.db.fetchall("SELECT position, hash FROM audit_chain ORDER BY position")
        chain = [(int(r["position"]), r["hash"]) for r in rows]
        assert chain == recomputed_chain(ledger)
        assert gap not in [position for position, _ in chain]
        side.engine.rebuild("audit_chain")
        again = side.db.fetchall("SELECT position, hash FROM audit_chain ORDER BY position")
        assert again == rows
        assert verify(side, seal=seal(side)).ok


def test_a_seal_still_verifies_after_more_events_are_appended(
    ledger: Ledger, clock: FixedClock, side: ReadSide
) -> None:
    story = tell(ledger, clock)
    sealed = seal(side)
    assert sealed.position == head(ledger)
    assert parse_seal(str(sealed)) == sealed
    ledger.complete_request(ledger.get_transaction(story.held).request_id)
    ledger.release_escrow(story.held)
    assert seal(side).position == head(ledger) > (sealed.position or 0)
    check = verify_seal(ledger, str(sealed))
    assert check.ok, check.message
    assert check.recomputed == sealed.hash
    assert verify_seal(ledger, sealed.hash).ok  # a bare hash finds its position
    assert verify(side, seal=sealed).ok


def test_changing_one_stored_events_bytes_is_reported_at_its_position(
    ledger: Ledger, clock: FixedClock, side: ReadSide, raw: Raw
) -> None:
    tell(ledger, clock)
    side.engine.catch_up()
    sealed = seal(side)
    flagged_at = head(ledger)  # the last event: PaymentFlagged with amount 900
    raw.edit_state(flagged_at, b'"amount":900', b'"amount":90')
    check = verify_seal(ledger, str(sealed))
    assert not check.ok
    assert check.first_break == ChainBreak(flagged_at, "edited")
    assert f"position {flagged_at}" in check.message
    report = verify(side, seal=sealed)
    assert not report.ok
    assert report.chain_break == ChainBreak(flagged_at, "edited")
    assert report.seal is not None
    assert report.seal.first_break == ChainBreak(flagged_at, "edited")
    # The replay of the changed event disagrees with what was projected from the original.
    assert any(d.column == "flaggedAmount" for d in report.differences)


@pytest.mark.parametrize("projected", [True, False], ids=["projected", "not-yet-projected"])
def test_an_event_that_no_longer_decodes_fails_verify_without_crashing(
    ledger: Ledger, clock: FixedClock, side: ReadSide, raw: Raw, projected: bool
) -> None:
    tell(ledger, clock)
    if projected:
        side.engine.catch_up()
    damaged = head(ledger)
    raw.edit_state(damaged, b'"amount":900', b'"amount":')
    report = verify(side)
    assert not report.ok
    assert report.errors
    assert report.chain_break == (ChainBreak(damaged, "edited") if projected else None)


def test_an_edit_in_the_middle_is_found_at_its_position_not_later(
    ledger: Ledger, clock: FixedClock, side: ReadSide, raw: Raw
) -> None:
    tell(ledger, clock)
    sealed = seal(side)
    raw.edit_state(2, b'"role":"celebrity"', b'"role":"fan"')
    check = verify_seal(ledger, sealed)
    assert check.first_break == ChainBreak(2, "edited")


def test_deleting_an_event_is_reported_at_its_position(
    ledger: Ledger, clock: FixedClock, side: ReadSide, raw: Raw
) -> None:
    tell(ledger, clock)
    sealed = seal(side)
    raw.delete(5)
    check = verify_seal(ledger, sealed)
    assert not check.ok
    assert check.first_break == ChainBreak(5, "deleted")


def test_inserting_an_event_is_reported_at_its_position(
    ledger: Ledger, clock: FixedClock, side: ReadSide, raw: Raw
) -> None:
    tell(ledger, clock)
    gap = make_gap(ledger, raw)
    sealed = seal(side)
    assert sealed.position == gap + 1
    _, _, topic, state = raw.event(1)
    raw.insert(gap, topic, state)
    check = verify_seal(ledger, sealed)
    assert not check.ok
    assert check.first_break == ChainBreak(gap, "inserted")


def test_rewriting_the_chain_table_too_cannot_hide_a_change_from_the_seal(
    ledger: Ledger, clock: FixedClock, side: ReadSide, raw: Raw
) -> None:
    tell(ledger, clock)
    sealed = seal(side)
    raw.edit_state(2, b'"role":"celebrity"', b'"role":"fan"')
    side.engine.rebuild("audit_chain")  # the intruder recomputes the table
    check = verify_seal(ledger, sealed)
    assert not check.ok
    assert check.first_break is None
    assert "cannot be located" in check.message
    assert not verify_seal(ledger, sealed.hash).ok  # its hash is nowhere now


def test_a_seal_of_the_empty_log_is_genesis(side: ReadSide, ledger: Ledger) -> None:
    sealed = seal(side)
    assert sealed == Seal(0, GENESIS)
    assert verify_seal(ledger, sealed).ok


def test_a_seal_beyond_the_head_or_malformed_is_refused(
    ledger: Ledger, clock: FixedClock, side: ReadSide
) -> None:
    tell(ledger, clock)
    sealed = seal(side)
    beyond = verify_seal(ledger, Seal((sealed.position or 0) + 5, sealed.hash))
    assert not beyond.ok
    assert "beyond the head" in beyond.message
    for text in ("", "12:abc", "xyz", "12:" + "g" * 64, "-1:" + "0" * 64):
        with pytest.raises(InvalidInput):
            parse_seal(text)
