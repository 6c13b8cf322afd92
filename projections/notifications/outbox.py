"""The notifications outbox: a projector that turns events into messages, exactly once.

Messages are rows of ``notifications``, written by the engine in the same transaction as the
outbox's tracking position, so a message is enqueued exactly once however the engine crashes
and resumes. Each message goes out on two channels (``email`` and ``webhook``), one row each;
a row's ``id`` is its idempotency key, ``sha256(event id : event version : template :
recipient : channel)``, stable across rebuilds and stores. Which address or URL a row goes to
is looked up when it is delivered (``jobs.notifications``), never stored here.

Events -> messages (recipient in brackets):

    PaymentVerified                        payment_received   (fan)
    RequestDeclined payment_failed         payment_failed     (fan)
    RequestDeclined payment_timed_out      payment_timed_out  (fan)
    RequestDeclined request_timed_out      request_timed_out  (fan)
    RequestDeclined celebrity_declined     request_declined   (fan)
    EscrowReleased                         escrow_released    (celebrity: amount, fee, payout)
    EscrowRefunded                         refund_issued      (fan)
    RefundConfirmed                        refund_confirmed   (fan)
    PaymentFlagged                         payment_flagged    (operators)
    WalletCreated                          wallet_created     (the wallet's owner)

To address and word them it keeps three small lookup tables of its own (users, requests,
payments), so it never depends on another projector's progress.

Rebuilds: ``notifications`` holds delivery state, so it is not one of the projector's
swappable ``tables``: a rebuild (or ``audit verify``'s replay) rebuilds the lookup tables
only. While replaying into tables that are not the live ones, messages are enqueued only for
events after the live outbox's position (the live outbox already enqueued the others, and
may have sent them), and always with ``INSERT ... ON CONFLICT (id) DO NOTHING``: a rebuild
never enqueues a message twice and never touches a row's delivery state.
"""

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification

from ledger.domain.base import LedgerAggregate
from projections import schema
from projections.db import ReadDB
from projections.engine import Projector, Tables, read_position
from projections.notifications.lookups import Lookups
from projections.notifications.messages import Message
from projections.notifications.wording import WORDED
from projections.schema import Index, Table

NOTIFICATIONS = "notifications"
NOTIFICATIONS_TABLE = Table(
    "id TEXT PRIMARY KEY, position BIGINT NOT NULL, event_id TEXT NOT NULL, "
    "event_version BIGINT NOT NULL, template TEXT NOT NULL, channel TEXT NOT NULL, "
    "recipient TEXT NOT NULL, recipient_ref TEXT, subject TEXT NOT NULL, "
    "body_text TEXT NOT NULL, body_html TEXT NOT NULL, data TEXT NOT NULL, "
    "status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TIMESTAMPTZ NOT NULL, "
    "last_error TEXT, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, "
    "sent_at TIMESTAMPTZ",
    (
        Index("due", "status, channel, next_attempt_at"),  # the delivery job's claim
        Index("position", "position"),
        Index("created", "created_at, id"),  # ledger notifications list
    ),
)
CHANNELS = ("email", "webhook")
_INSERT = (
    f"INSERT INTO {NOTIFICATIONS} (id, position, event_id, event_version, template, channel, "
    "recipient, recipient_ref, subject, body_text, body_html, data, status, attempts, "
    "next_attempt_at, created_at, updated_at) VALUES (%(id)s, %(position)s, %(event_id)s, "
    "%(event_version)s, %(template)s, %(channel)s, %(recipient)s, %(recipient_ref)s, "
    "%(subject)s, %(body_text)s, %(body_html)s, %(data)s, 'PENDING', 0, %(at)s, %(at)s, "
    "%(at)s) ON CONFLICT (id) DO NOTHING"
)


def idempotency_key(
    event_id: object, version: int, template: str, recipient: str, channel: str
) -> str:
    """The stable key of one message on one channel (hex sha256)."""
    text = f"{event_id}:{version}:{template}:{recipient}:{channel}"
    return hashlib.sha256(text.encode()).hexdigest()


class _Unit:
    """One batch: lookups read up front, messages and lookup rows written at the end."""

    def __init__(self, db: ReadDB, tables: Tables, floor: int | None) -> None:
        self.db = db
        self.tables = dict(tables)
        self.lookups = Lookups(db, tables)
        self.floor = floor  # replaying: enqueue only after this position (the live outbox's)
        self.rows: list[dict[str, Any]] = []

    def wants(self, stored: Notification) -> bool:
        """Whether messages of this event are enqueued (not when replaying what the live
        outbox already passed)."""
        return self.floor is None or stored.id > self.floor

    def enqueue(self, event: LedgerAggregate.Event, stored: Notification, message: Message) -> None:
        data = json.dumps(message.data, sort_keys=True, separators=(",", ":"))
        for channel in CHANNELS:
            self.rows.append(
                {
                    "id": idempotency_key(
                        event.originator_id,
                        event.originator_version,
                        message.template,
                        message.recipient,
                        channel,
                    ),
                    "position": stored.id,
                    "event_id": str(event.originator_id),
                    "event_version": event.originator_version,
                    "template": message.template,
                    "channel": channel,
                    "recipient": message.recipient,
                    "recipient_ref": message.recipient_ref,
                    "subject": message.rendered.subject,
                    "body_text": message.rendered.text,
                    "body_html": message.rendered.html,
                    "data": data,
                    "at": event.timestamp,
                }
            )

    def flush(self) -> None:
        self.lookups.flush()
        self.db.executemany(_INSERT, self.rows)


class Outbox(Projector):
    """Keeps ``notifications`` (never swapped) and its lookup tables (rebuildable)."""

    name = "notifications"
    tables = Lookups.TABLES

    def __init__(self) -> None:
        self._unit: _Unit | None = None

    def create_tables(self, db: ReadDB, physical: Tables) -> None:
        super().create_tables(db, physical)
        schema.create(db, NOTIFICATIONS, NOTIFICATIONS_TABLE)

    def _open(self, db: ReadDB, tables: Tables) -> _Unit:
        replaying = dict(tables) != self.live_tables()
        return _Unit(db, tables, read_position(db, self.name) if replaying else None)

    @contextmanager
    def batch(
        self, db: ReadDB, tables: Tables, events: Sequence[DomainEventProtocol[Any]]
    ) -> Iterator[None]:
        unit = self._open(db, tables)
        unit.lookups.prefetch(events)
        outer, self._unit = self._unit, unit
        try:
            yield
        finally:
            self._unit = outer
        unit.flush()  # only when every event applied: an error leaves nothing to write

    def handles(self, event_class: type) -> bool:
        return Lookups.TRACKED.handles(event_class) or WORDED.handles(event_class)

    def apply(
        self, event: DomainEventProtocol[Any], db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        kind = type(event)
        word = WORDED.get(kind)
        if word is None and not Lookups.TRACKED.handles(kind):
            return
        unit = self._unit
        single = unit is None or unit.db is not db or unit.tables != dict(tables)
        if single:
            unit = self._open(db, tables)
            unit.lookups.prefetch([event])
        assert unit is not None
        unit.lookups.track(event)
        if word is not None and unit.wants(stored):
            assert isinstance(event, LedgerAggregate.Event)  # what messages are worded for
            for message in word(event, unit.lookups):
                unit.enqueue(event, stored, message)
        if single:
            unit.flush()


__all__ = ["CHANNELS", "NOTIFICATIONS", "NOTIFICATIONS_TABLE", "Outbox", "idempotency_key"]
