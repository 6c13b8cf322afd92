"""The outbox's own lookup tables: who a user is, a request's parties and price, a payment's
request, reference and refund. Derived from events like any read table (rebuildable), kept
by the outbox itself so it never waits on, or races, another projector.

A batch reads the rows it needs with one query per table (``prefetch``), changes them in
memory (``track``: one handler per event class), and writes the changed ones back with one
upsert per table (``flush``), in the batch's transaction. A row the prefetch missed is read
on demand.
"""

import functools
from collections.abc import Iterable
from typing import Any, ClassVar

from eventsourcing.domain import DomainEventProtocol

from ledger.domain import ids
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from projections.db import ReadDB
from projections.dispatch import Handlers
from projections.engine import Tables
from projections.schema import Table

Row = dict[str, Any]

COLUMNS: dict[str, tuple[str, ...]] = {
    "notification_users": ("id", "external_id"),
    "notification_requests": ("id", "fan_id", "celebrity_id", "amount", "currency"),
    "notification_payments": (
        "id",
        "request_id",
        "reference",
        "amount",
        "currency",
        "flagged_currency",
        "refund_amount",
        "refund_currency",
    ),
}
_TYPES = {"amount": "BIGINT NOT NULL", "refund_amount": "BIGINT"}
_REQUIRED = {"id", "external_id", "fan_id", "celebrity_id", "currency", "request_id"}
_OPTIONAL = {"flagged_currency", "refund_amount", "refund_currency"}  # set after creation

# Events about a payment whose message needs the payment's row.
_PAYMENT_EVENTS = (
    Transaction.PaymentVerified,
    Transaction.PaymentFlagged,
    Transaction.EscrowReleased,
    Transaction.EscrowRefunded,
    Transaction.RefundConfirmed,
    Transaction.ReviewResolved,
)


def _ddl(columns: tuple[str, ...]) -> str:
    parts = []
    for name in columns:
        kind = _TYPES.get(name, "TEXT NOT NULL" if name in _REQUIRED else "TEXT")
        parts.append(f"{name} {kind}{' PRIMARY KEY' if name == 'id' else ''}")
    return ", ".join(parts)


class Lookups:
    """The lookup rows of one batch (physical table names in ``tables``)."""

    TABLES = {logical: Table(_ddl(columns)) for logical, columns in COLUMNS.items()}

    def __init__(self, db: ReadDB, tables: Tables) -> None:
        self.db = db
        self.physical = {logical: tables[logical] for logical in COLUMNS}
        self.rows: dict[str, dict[str, Row | None]] = {logical: {} for logical in COLUMNS}
        self.changed: dict[str, set[str]] = {logical: set() for logical in COLUMNS}

    # -- reading -------------------------------------------------------------------------

    def _load(self, logical: str, keys: Iterable[str]) -> None:
        known = self.rows[logical]
        wanted = {key for key in keys if key not in known}
        if not wanted:
            return
        found = self.db.select_where_in(self.physical[logical], COLUMNS[logical], "id", wanted)
        for row in found:
            known[str(row["id"])] = dict(row)
        for key in wanted - {str(row["id"]) for row in found}:
            known[key] = None

    def prefetch(self, events: Iterable[DomainEventProtocol[Any]]) -> None:
        """Read every row the batch's events may need, one query per table."""
        payments: set[str] = set()
        requests: set[str] = set()
        users: set[str] = set()
        for event in events:
            if isinstance(event, _PAYMENT_EVENTS):
                payments.add(str(event.originator_id))
            elif isinstance(event, Request.RequestDeclined):
                requests.add(str(event.originator_id))
                payments.add(str(ids.transaction_id(event.originator_id)))
            elif isinstance(
                event, Transaction.PaymentInitiated | Transaction.FailedTransactionRecorded
            ):
                requests.add(str(event.request_id))
            elif isinstance(event, Request.RequestCreated):
                users.update((str(event.fan_id), str(event.celebrity_id)))
            elif isinstance(event, Wallet.WalletCreated):
                users.add(str(event.user_id))
        self._load("notification_payments", payments)
        for key in payments:
            row = self.rows["notification_payments"].get(key)
            if row is not None:
                requests.add(str(row["request_id"]))
        self._load("notification_requests", requests)
        for key in requests:
            row = self.rows["notification_requests"].get(key)
            if row is not None:
                users.update((str(row["fan_id"]), str(row["celebrity_id"])))
        self._load("notification_users", users)

    def get(self, logical: str, key: object) -> Row | None:
        text = str(key)
        if text not in self.rows[logical]:
            self._load(logical, [text])
        return self.rows[logical][text]

    def user_ref(self, user_id: object) -> str | None:
        row = self.get("notification_users", user_id)
        return str(row["external_id"]) if row is not None else None

    # -- changing ------------------------------------------------------------------------

    def _put(self, logical: str, key: object, **columns: Any) -> None:
        """Create the row (every column given) or, with only some columns, change an
        existing one (a row that is missing stays missing)."""
        text = str(key)
        creates = set(columns) | {"id"} == set(COLUMNS[logical]) - _OPTIONAL
        row = None if creates else self.get(logical, text)  # a Created event is the first
        if row is None:
            if not creates:
                return
            row = dict.fromkeys(COLUMNS[logical])
        row.update(columns, id=text)
        self.rows[logical][text] = row
        self.changed[logical].add(text)

    def track(self, event: DomainEventProtocol[Any]) -> None:
        """Fold ``event`` into the lookup rows (events that change none are ignored)."""
        handler = self.TRACKED.get(type(event))
        if handler is not None:
            handler(self, event)

    @functools.singledispatchmethod
    def _track(self, event: object) -> None:
        """Events that change no lookup row."""

    @_track.register
    def _user_registered(self, event: User.UserRegistered) -> None:
        self._put("notification_users", event.originator_id, external_id=event.external_id)

    @_track.register
    def _request_created(self, event: Request.RequestCreated) -> None:
        self._put(
            "notification_requests",
            event.originator_id,
            fan_id=str(event.fan_id),
            celebrity_id=str(event.celebrity_id),
            amount=event.amount,
            currency=event.currency,
        )

    @_track.register
    def _payment_initiated(self, event: Transaction.PaymentInitiated) -> None:
        self._payment(event, event.reference)

    @_track.register
    def _failed_recorded(self, event: Transaction.FailedTransactionRecorded) -> None:
        self._payment(event, None)

    def _payment(
        self,
        event: Transaction.PaymentInitiated | Transaction.FailedTransactionRecorded,
        reference: str | None,
    ) -> None:
        self._put(
            "notification_payments",
            event.originator_id,
            request_id=str(event.request_id),
            reference=reference,
            amount=event.amount,
            currency=event.currency,
        )

    @_track.register
    def _payment_flagged(self, event: Transaction.PaymentFlagged) -> None:
        self._put("notification_payments", event.originator_id, flagged_currency=event.currency)

    @_track.register
    def _escrow_refunded(self, event: Transaction.EscrowRefunded) -> None:
        row = self.get("notification_payments", event.originator_id) or {}
        currency = row.get("flagged_currency") or row.get("currency")
        self._put(
            "notification_payments",
            event.originator_id,
            refund_amount=event.amount,
            refund_currency=currency,
            flagged_currency=None,
        )

    @_track.register
    def _review_resolved(self, event: Transaction.ReviewResolved) -> None:
        self._put("notification_payments", event.originator_id, flagged_currency=None)

    TRACKED: ClassVar[Handlers[None]] = Handlers(_track)

    def flush(self) -> None:
        """Upsert every changed row, one statement per table."""
        for logical, keys in self.changed.items():
            if not keys:
                continue
            columns = COLUMNS[logical]
            names = ", ".join(columns)
            values = ", ".join(f"%({c})s" for c in columns)
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
            rows = [self.rows[logical][key] for key in sorted(keys)]
            self.db.executemany(
                f"INSERT INTO {self.physical[logical]} ({names}) VALUES ({values}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates}",
                [row for row in rows if row is not None],
            )
            keys.clear()


__all__ = ["COLUMNS", "Lookups"]
