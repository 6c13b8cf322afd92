"""The outbox enqueues each message exactly once: across catch-ups, a crash between batches,
a rebuild of itself or of another projector, and audit verify's replay; SQLite and PostgreSQL."""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import Notification

from ledger.application import Ledger
from ledger.persistence import store_config
from projections.audit import verify
from projections.db import ReadDB
from projections.engine import ProjectionEngine
from projections.ledger_tables import LedgerTables
from projections.notifications import Outbox
from projections.wiring import read_side
from tests.notify_support import STORY_COUNT, STORY_MESSAGES, story


@pytest.fixture
def db(ledger: Ledger) -> Iterator[ReadDB]:
    s = ledger.settings
    read = ReadDB(store_config(s.database_url, schema=s.postgres_schema))
    yield read
    read.close()


def _messages(db: ReadDB) -> Counter[tuple[str, str, str]]:
    rows = db.fetchall(
        "SELECT template, COALESCE(recipient_ref, recipient) AS who, channel FROM notifications"
    )
    return Counter((r["template"], r["who"], r["channel"]) for r in rows)


def _expected() -> Counter[tuple[str, str, str]]:
    expected: Counter[tuple[str, str, str]] = Counter()
    for template, who in STORY_MESSAGES:
        for channel in ("email", "webhook"):
            expected[(template, who, channel)] += 1
    return expected


def test_every_event_gives_its_messages_once_on_each_channel(ledger: Ledger, db: ReadDB) -> None:
    story(ledger)
    engine = ProjectionEngine(ledger, db, [Outbox()], batch_size=7)
    engine.catch_up()
    engine.catch_up()
    messages = _messages(db)
    assert messages == _expected()
    assert sum(messages.values()) == 2 * STORY_COUNT
    rows = db.fetchall("SELECT id, status, attempts, subject, body_text FROM notifications")
    assert {r["status"] for r in rows} == {"PENDING"}
    assert {r["attempts"] for r in rows} == {0}
    assert all(len(r["id"]) == 64 for r in rows)


def test_messages_say_amounts_for_people_and_hold_no_internal_ids_for_users(
    ledger: Ledger, db: ReadDB
) -> None:
    story(ledger)
    ProjectionEngine(ledger, db, [Outbox()]).catch_up()
    released = db.fetchone(
        "SELECT subject, body_text, body_html, data FROM notifications "
        "WHERE template = 'escrow_released' AND channel = 'email'"
    )
    assert released is not None
    assert released["subject"] == "Payment released to your wallet: NGN 5,000.00"
    assert "Platform fee:    NGN 0.00" in released["body_text"]
    assert "<strong>NGN 5,000.00</strong>" in released["body_html"]
    assert '"amount":500000' in released["data"]  # the machine form, in minor units
    for row in db.fetchall("SELECT body_text FROM notifications WHERE recipient <> 'operators'"):
        assert "-" * 4 not in row["body_text"]  # no full UUIDs for fans and celebrities
        assert "sk_" not in row["body_text"]
    flagged = db.fetchone("SELECT body_text FROM notifications WHERE template = 'payment_flagged'")
    assert flagged is not None
    assert "Expected:     NGN 5,000.00" in flagged["body_text"]
    assert "Received:     NGN 1,000.00" in flagged["body_text"]
    assert "ledger admin refund" in flagged["body_text"]


class _CrashOnce(Outbox):
    """Fails applying one event the first time (a crash between batches)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.crashed = at, False

    def apply(self, event: Any, db: ReadDB, tables: Any, stored: Notification) -> None:
        if stored.id == self.at and not self.crashed:
            self.crashed = True
            raise RuntimeError("crash")
        super().apply(event, db, tables, stored)


def test_a_crash_between_batches_neither_loses_nor_repeats_a_message(
    ledger: Ledger, db: ReadDB
) -> None:
    story(ledger)
    head = int(ledger.recorder.max_notification_id() or 0)
    crashing = _CrashOnce(at=head - 3)
    with pytest.raises(RuntimeError):
        ProjectionEngine(ledger, db, [crashing], batch_size=5).catch_up()
    before = sum(_messages(db).values())
    assert 0 < before < 2 * STORY_COUNT  # the batches before the crash are committed
    ProjectionEngine(ledger, db, [crashing], batch_size=5).catch_up()
    assert _messages(db) == _expected()


def test_rebuilds_and_verify_never_enqueue_again_nor_touch_delivery_state(
    ledger: Ledger, db: ReadDB
) -> None:
    story(ledger)
    with read_side(ledger=ledger, catch_up=True, batch_size=6) as side:
        with side.db.transaction():
            side.db.execute("UPDATE notifications SET status = 'SENT', attempts = 1")
        side.engine.rebuild("notifications")
        side.engine.rebuild(LedgerTables.name)
        report = verify(side)
        assert report.ok, report.differences[:3]
        assert _messages(side.db) == _expected()
        rows = side.db.fetchall("SELECT status, attempts FROM notifications")
        assert {(r["status"], r["attempts"]) for r in rows} == {("SENT", 1)}


def test_a_rebuild_enqueues_what_happened_after_the_live_outbox_exactly_once(
    ledger: Ledger, db: ReadDB
) -> None:
    ledger.register_user("celeb-1", "celebrity", verified=True)
    with read_side(ledger=ledger, catch_up=True) as side:
        ledger.create_wallet("celeb-1", "NGN")  # after the live outbox's position
        side.engine.rebuild("notifications")
        side.engine.catch_up()
        assert _messages(side.db) == Counter(
            {("wallet_created", "celeb-1", "email"): 1, ("wallet_created", "celeb-1", "webhook"): 1}
        )


def test_deleted_rows_are_not_brought_back_by_a_rebuild(ledger: Ledger, db: ReadDB) -> None:
    story(ledger)
    with read_side(ledger=ledger, catch_up=True) as side:
        with side.db.transaction():
            side.db.execute("DELETE FROM notifications WHERE status = 'PENDING'")
        side.engine.rebuild("notifications")
        assert sum(_messages(side.db).values()) == 0
