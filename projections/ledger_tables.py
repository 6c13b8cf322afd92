"""The core read tables: users, requests, wallets, wallet_transactions and ledger_entries.

One projector keeps all five, so they are always consistent with each other at one position.
``wallet_transactions`` has the original system's columns (``id``, ``walletId``, ``requestId``,
``amount``, ``currency``, ``reference``, ``status``, ``isInEscrow``, ``escrowStatus``,
``createdAt``, ``updatedAt``) plus what reporting needs. Identifiers are unquoted: in psql
``SELECT * FROM wallet_transactions WHERE isInEscrow = true AND escrowStatus = 'PENDING';``
runs as written. ``isInEscrow`` is true exactly while money is held (COMPLETED and PENDING).

Double entry (docs/design.md): every money movement posts balanced lines per currency into
``ledger_entries`` (``debit`` and ``credit`` are non-negative minor units):

    payment verified   debit provider:paystack   credit escrow
    payment flagged    debit provider:paystack   credit suspense
    release            debit escrow              credit wallet:<user>, platform:fees
    refund (held)      debit escrow              credit provider:paystack
    refund (flagged)   debit suspense            credit provider:paystack
    review resolved    debit suspense            credit external:settled
    wallet debit       debit wallet:<user>       credit external:payouts

So per currency the debits equal the credits, ``escrow``'s balance (credits - debits) is the
money held and ``suspense``'s the flagged money not yet refunded or resolved.

Writing: the engine applies a batch of events inside ``LedgerTables.batch``, a ``UnitOfWork``
that reads the rows the batch touches with one query per table, folds the events into them in
memory and writes the result with a few bulk statements (``COPY`` and one ``executemany`` per
table on PostgreSQL), in the batch's transaction. The tables end up exactly as if each event's
SQL ran on its own (the per-event ``apply`` outside a batch is a unit of one event).
"""

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification

from ledger.domain import ids
from ledger.domain.base import LedgerAggregate
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from projections.db import ReadDB
from projections.dispatch import Handlers
from projections.engine import Folded, Projector, Tables
from projections.held_payments import held_payments
from projections.schema import Index, Table, Views, column_types

TABLES = {
    "users": Table(
        "id TEXT PRIMARY KEY, externalId TEXT NOT NULL, role TEXT NOT NULL, "
        "verified BOOLEAN NOT NULL, createdAt TIMESTAMPTZ NOT NULL, "
        "updatedAt TIMESTAMPTZ NOT NULL",
        (Index("verified", "verified, role"),),
    ),
    "requests": Table(
        "id TEXT PRIMARY KEY, fanId TEXT NOT NULL, celebrityId TEXT NOT NULL, "
        "amount BIGINT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL, "
        "declineReason TEXT, createdAt TIMESTAMPTZ NOT NULL, updatedAt TIMESTAMPTZ NOT NULL",
        (
            Index("status_created", "status, createdAt"),
            Index("celebrity", "celebrityId, status"),
            Index("currency_status", "currency, status, createdAt"),  # summary
            Index("created", "createdAt, id"),  # requests list pages (keyset on createdAt, id)
            Index("fan_created", "fanId, createdAt"),  # requests list --fan
            Index("celebrity_created", "celebrityId, createdAt"),  # requests list --celebrity
        ),
    ),
    "wallets": Table(
        "id TEXT PRIMARY KEY, userId TEXT NOT NULL, currency TEXT NOT NULL, "
        "balance BIGINT NOT NULL, credited BIGINT NOT NULL, debited BIGINT NOT NULL, "
        "createdAt TIMESTAMPTZ NOT NULL, updatedAt TIMESTAMPTZ NOT NULL",
        (
            Index("user_currency", "userId, currency", unique=True),
            Index("created", "createdAt, id"),  # wallets report pages
        ),
    ),
    "wallet_transactions": Table(
        "id TEXT PRIMARY KEY, walletId TEXT NOT NULL, requestId TEXT NOT NULL, "
        "amount BIGINT NOT NULL, currency TEXT NOT NULL, reference TEXT, "
        "status TEXT NOT NULL, isInEscrow BOOLEAN NOT NULL, escrowStatus TEXT NOT NULL, "
        "createdAt TIMESTAMPTZ NOT NULL, updatedAt TIMESTAMPTZ NOT NULL, "
        "fanId TEXT NOT NULL, celebrityId TEXT NOT NULL, "
        "needsReview BOOLEAN NOT NULL, flagReason TEXT, flaggedAmount BIGINT, "
        "flaggedCurrency TEXT, providerTransactionId TEXT, paidAt TIMESTAMPTZ, "
        "failureReason TEXT, releasedAt TIMESTAMPTZ, fee BIGINT, payout BIGINT, "
        "refundedAt TIMESTAMPTZ, refundedAmount BIGINT, refundReference TEXT, "
        "refundConfirmed BOOLEAN NOT NULL, version BIGINT NOT NULL",
        (
            # The runbook query uses the prefix; createdAt, id give held payments in age order.
            Index("escrow", "isInEscrow, escrowStatus, createdAt, id"),
            Index("pending", "status, escrowStatus, createdAt"),
            Index("request", "requestId"),
            Index("reference", "reference"),
            Index("review", "needsReview, createdAt, id"),
            Index("celebrity", "celebrityId, createdAt"),
            Index("fan", "fanId, createdAt"),  # payments list --fan
            Index("currency_created", "currency, createdAt"),
            Index("created", "createdAt, id"),  # report pages (keyset on createdAt, id)
            # Covers the summary's GROUP BY (an index-only scan, no table reads).
            Index("summary", "currency, status, escrowStatus, createdAt, amount, fee"),
        ),
    ),
    "ledger_entries": Table(
        "position BIGINT NOT NULL, line INTEGER NOT NULL, transactionId TEXT, "
        "account TEXT NOT NULL, currency TEXT NOT NULL, debit BIGINT NOT NULL, "
        "credit BIGINT NOT NULL, postedAt TIMESTAMPTZ NOT NULL, PRIMARY KEY (position, line)",
        (Index("account", "account, currency"),),
    ),
}


# Columns the handlers write, per table (lower case: unquoted identifiers fold to it on
# PostgreSQL and are case-insensitive on SQLite). The key comes first. A column added to
# TABLES and not listed here keeps its default on insert and is never rewritten.
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "externalid", "role", "verified", "createdat", "updatedat"),
    "requests": (
        "id",
        "fanid",
        "celebrityid",
        "amount",
        "currency",
        "status",
        "declinereason",
        "createdat",
        "updatedat",
    ),
    "wallets": (
        "id",
        "userid",
        "currency",
        "balance",
        "credited",
        "debited",
        "createdat",
        "updatedat",
    ),
    "wallet_transactions": (
        "id",
        "walletid",
        "requestid",
        "amount",
        "currency",
        "reference",
        "status",
        "isinescrow",
        "escrowstatus",
        "createdat",
        "updatedat",
        "fanid",
        "celebrityid",
        "needsreview",
        "flagreason",
        "flaggedamount",
        "flaggedcurrency",
        "providertransactionid",
        "paidat",
        "failurereason",
        "releasedat",
        "fee",
        "payout",
        "refundedat",
        "refundedamount",
        "refundreference",
        "refundconfirmed",
        "version",
    ),
}
ENTRY_COLUMNS = (
    "position",
    "line",
    "transactionid",
    "account",
    "currency",
    "debit",
    "credit",
    "postedat",
)

# Columns the handlers read back, per table (a batch reads only these, and only for the
# events whose handler reads).
READ_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "requests": ("id", "fanid", "celebrityid"),
    "wallets": ("id", "userid", "currency", "balance", "credited", "debited"),
    "wallet_transactions": (
        "id",
        "currency",
        "celebrityid",
        "status",
        "needsreview",
        "flaggedamount",
        "flaggedcurrency",
    ),
}

Row = dict[str, Any]
# The SQL types of the written columns, in the same order (for binary COPY).
_TYPES = {logical: column_types(TABLES[logical]) for logical in (*COLUMNS, "ledger_entries")}
COLUMN_TYPES = {
    logical: tuple(_TYPES[logical][c] for c in columns) for logical, columns in COLUMNS.items()
}
ENTRY_TYPES = tuple(_TYPES["ledger_entries"][c] for c in ENTRY_COLUMNS)


@lru_cache(maxsize=1 << 12)  # a celebrity's wallet id comes back payment after payment
def _wallet_id(celebrity: str, currency: str) -> str:
    return str(ids.wallet_id(UUID(celebrity), currency))


class _Rows:
    """What a unit of work knows and will write of one table, by row id."""

    def __init__(
        self, logical: str, physical: str, columns: tuple[str, ...], read: tuple[str, ...]
    ) -> None:
        self.logical = logical
        self.physical = physical
        self.columns = columns  # written by an insert
        self.read = read  # read back from the database
        self.known: dict[str, Row] = {}  # rows read (``read`` columns) or inserted (all)
        self.absent: set[str] = set()  # known not to exist before this unit's inserts
        self.inserted: dict[str, None] = {}  # ids to INSERT, in order
        self.assigned: dict[str, Row] = {}  # id -> column -> value, to UPDATE


class UnitOfWork:
    """The read-table changes of a batch of events, folded in memory and written at the end.

    The tables end up exactly as if each handler's SQL ran event by event, with far fewer
    statements:

    - ``insert`` keeps the new row; ``flush`` inserts it in its final state (``COPY`` on
      PostgreSQL), whatever later events of the batch changed in it;
    - ``update`` records column assignments; ``flush`` issues one ``UPDATE ... WHERE id`` per
      changed row with only the assigned columns (in bulk, per set of columns), so an update
      of a missing row changes nothing, as in SQL, and columns no event touched keep whatever
      is stored;
    - ``get`` returns a row as the events so far left it: its ``READ_COLUMNS`` as stored
      (``prefetch`` reads the rows a whole batch needs with one query per table), with the
      assignments on top;
    - ``post`` collects ledger lines, inserted in one go by ``flush``.

    ``previous`` is the unit of the batch just before, when it may not be committed yet (the
    engine folds a batch while the one before is being written): rows it read, inserted or
    changed are taken from it instead of the database, so this unit sees the tables as they
    are once ``previous`` is committed. ``flush`` only reads the unit, so ``previous`` can
    be flushed (in another thread) while this one is folded.
    """

    def __init__(self, db: ReadDB, tables: Tables, previous: "UnitOfWork | None" = None) -> None:
        self.db = db  # where rows are read
        self.tables = tables
        self.physical = dict(tables)
        self.previous = previous
        self._tables = {
            logical: _Rows(logical, tables[logical], columns, READ_COLUMNS[logical])
            for logical, columns in COLUMNS.items()
        }
        self._entries: list[tuple[Any, ...]] = []
        self._lower_keys = db.kind != "postgres"  # PostgreSQL folds unquoted names already
        self._texts: dict[int, tuple[object, str]] = {}

    def text(self, value: object) -> str:
        """``str(value)`` (an id as stored), remembered for the unit's life: handlers ask for
        the same event's ids several times."""
        known = self._texts.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        text = str(value)
        self._texts[id(value)] = (value, text)  # holding ``value`` keeps its id unique
        return text

    def prefetch(self, logical: str, keys: Iterable[str]) -> None:
        """Know the rows ``keys`` of ``logical``: from ``previous``, else one query."""
        table = self._tables[logical]
        wanted = [k for k in keys if k not in table.known and k not in table.absent]
        if not wanted:
            return
        before = self.previous._tables[logical] if self.previous is not None else None
        if before is not None:
            stored = []
            for key in wanted:
                row = before.known.get(key)
                if row is not None:
                    row = dict(row)  # ``previous`` is left as it is: it may be flushing
                    row.update(table.assigned.get(key, ()))
                    table.known[key] = row
                elif key in before.absent:
                    table.absent.add(key)
                else:
                    stored.append(key)
            wanted = stored
            if not wanted:
                return
        for found in self.db.select_where_in(table.physical, table.read, "id", wanted):
            row = {k.lower(): v for k, v in found.items()} if self._lower_keys else found
            key = row["id"]
            if before is not None:
                row.update(before.assigned.get(key, ()))
            row.update(table.assigned.get(key, ()))
            table.known[key] = row
        table.absent.update(k for k in wanted if k not in table.known)

    def get(self, logical: str, key: str) -> Row | None:
        """The row as the events so far left it (``None`` if there is no such row)."""
        table = self._tables[logical]
        row = table.known.get(key)
        if row is None and key not in table.absent:
            self.prefetch(logical, (key,))
            row = table.known.get(key)
        return row

    def insert(self, logical: str, row: Row) -> None:
        table, key = self._tables[logical], row["id"]
        if key in table.known:
            raise ValueError(f"{logical} row {key} exists already")
        # Updates recorded before the row existed changed nothing (had it existed, this
        # insert would fail on its primary key at flush).
        table.assigned.pop(key, None)
        table.known[key] = row
        table.absent.discard(key)
        table.inserted[key] = None

    def update(self, logical: str, key: str, **columns: Any) -> None:
        """Set ``columns`` of row ``key`` (nothing happens if there is no such row)."""
        table = self._tables[logical]
        if key in table.absent:
            return
        row = table.known.get(key)
        if row is not None:
            row.update(columns)
        if key not in table.inserted:
            table.assigned.setdefault(key, {}).update(columns)

    def post(
        self,
        event: LedgerAggregate.Event,
        position: int,
        transaction_id: UUID | None,
        currency: str,
        lines: list[tuple[str, int, int]],
    ) -> None:
        """Balanced ledger lines for the event at ``position``."""
        txn = self.text(transaction_id) if transaction_id else None
        for line, (account, debit, credit) in enumerate(lines):
            self._entries.append(
                (position, line, txn, account, currency, debit, credit, event.timestamp)
            )

    def flush(self, db: ReadDB | None = None) -> None:
        """Write every change through ``db`` (default: where rows were read), in the caller's
        transaction. Once per unit; it does not change the unit."""
        db = db or self.db
        for table in self._tables.values():
            types = COLUMN_TYPES[table.logical]
            if table.inserted:
                known, get = table.known, _getter(table.columns)
                db.insert_rows(
                    table.physical,
                    table.columns,
                    [get(known[key]) for key in table.inserted],
                    types,
                )
            if table.assigned:
                db.update_columns(
                    table.physical, "id", table.columns[1:], list(table.assigned.items()), types
                )
        if self._entries:
            db.insert_rows(
                self.physical["ledger_entries"], ENTRY_COLUMNS, self._entries, ENTRY_TYPES
            )


def _getter(columns: tuple[str, ...]) -> Callable[[Row], list[Any]]:
    """``row -> [row.get(c) for c in columns]``, a little faster."""

    def get(row: Row) -> list[Any]:
        return [*map(row.get, columns)]

    return get


# Rows a batch reads, by event class: (table, attribute of the event holding the row's id).
# Only handlers that read a row need it; the others just assign columns.
_READS: dict[type, tuple[str, str]] = {
    Wallet.WalletCredited: ("wallets", "originator_id"),
    Wallet.WalletDebited: ("wallets", "originator_id"),
    Transaction.PaymentInitiated: ("requests", "request_id"),
    Transaction.FailedTransactionRecorded: ("requests", "request_id"),
    Transaction.PaymentVerified: ("wallet_transactions", "originator_id"),
    Transaction.EscrowReleased: ("wallet_transactions", "originator_id"),
    Transaction.EscrowRefunded: ("wallet_transactions", "originator_id"),
    Transaction.ReviewResolved: ("wallet_transactions", "originator_id"),
}
# Rows a batch creates, by event class (no need to read those).
_CREATES: dict[type, str] = {
    User.UserRegistered: "users",
    Request.RequestCreated: "requests",
    Wallet.WalletCreated: "wallets",
    Transaction.PaymentInitiated: "wallet_transactions",
    Transaction.FailedTransactionRecorded: "wallet_transactions",
}


class LedgerTables(Projector):
    """Keeps users, requests, wallets, wallet_transactions and ledger_entries.

    ``fold`` (what the engine uses) and ``batch`` fold a batch's events into one
    ``UnitOfWork``, written as a whole; ``apply`` outside them is a unit of work of one
    event, written at once."""

    name = "ledger_tables"
    tables = TABLES
    views: ClassVar[Views] = {"held_payments": held_payments}

    def __init__(self) -> None:
        self._unit: UnitOfWork | None = None

    @contextmanager
    def batch(
        self, db: ReadDB, tables: Tables, events: Sequence[DomainEventProtocol[Any]]
    ) -> Iterator[None]:
        unit = UnitOfWork(db, tables)
        self._prefetch(unit, events)
        outer, self._unit = self._unit, unit
        try:
            yield
        finally:
            self._unit = outer
        unit.flush()  # only when every event applied: an error leaves nothing to write

    def handles(self, event_class: type) -> bool:
        return self._handlers.handles(event_class)

    def fold(
        self,
        db: ReadDB,
        tables: Tables,
        notifications: Sequence[Notification],
        events: Sequence[DomainEventProtocol[Any]],
        previous: Folded | None,
    ) -> UnitOfWork:
        before = previous if isinstance(previous, UnitOfWork) else None
        unit = UnitOfWork(db, tables, before)
        self._prefetch(unit, events)
        outer, self._unit = self._unit, unit
        try:
            for stored, event in zip(notifications, events, strict=True):
                self.apply(event, db, tables, stored)
        finally:
            self._unit = outer
        unit.previous = None  # folded: ``previous`` can go once it is committed
        return unit

    def apply(
        self, event: DomainEventProtocol[Any], db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        """Events without a read-side effect (e.g. ``ReferenceClaimed``) are ignored."""
        handler = self._handlers.get(type(event))
        if handler is None:
            return
        unit = self._unit
        if (
            unit is not None
            and unit.db is db
            and (unit.tables is tables or unit.physical == tables)
        ):
            handler(self, event, unit, stored)
            return
        unit = UnitOfWork(db, tables)
        self._prefetch(unit, [event])
        handler(self, event, unit, stored)
        unit.flush()

    @staticmethod
    def _prefetch(unit: UnitOfWork, events: Iterable[DomainEventProtocol[Any]]) -> None:
        wanted: dict[str, set[str]] = {logical: set() for logical in COLUMNS}
        created: dict[str, set[str]] = {logical: set() for logical in COLUMNS}
        for event in events:
            cls = type(event)
            reads = _READS.get(cls)
            if reads is not None:
                wanted[reads[0]].add(unit.text(getattr(event, reads[1])))
            creates = _CREATES.get(cls)
            if creates is not None:
                created[creates].add(unit.text(event.originator_id))
        for logical, keys in wanted.items():
            unit.prefetch(logical, keys - created[logical])

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _update_txn(unit: UnitOfWork, event: LedgerAggregate.Event, **columns: Any) -> None:
        columns["updatedat"] = event.timestamp
        columns["version"] = event.originator_version
        unit.update("wallet_transactions", unit.text(event.originator_id), **columns)

    @staticmethod
    def _txn_row(unit: UnitOfWork, txn_id: UUID) -> Row:
        row = unit.get("wallet_transactions", unit.text(txn_id))
        assert row is not None, f"wallet_transactions row {txn_id} missing"
        return row

    @staticmethod
    def _insert_txn(
        unit: UnitOfWork,
        event: Transaction.PaymentInitiated | Transaction.FailedTransactionRecorded,
        *,
        reference: str | None,
        status: str,
        escrow: str,
        failure: str | None,
    ) -> None:
        request = unit.get("requests", unit.text(event.request_id))
        assert request is not None, f"requests row {event.request_id} missing"
        unit.insert(
            "wallet_transactions",
            {
                "id": unit.text(event.originator_id),
                "walletid": _wallet_id(request["celebrityid"], event.currency),
                "requestid": unit.text(event.request_id),
                "amount": event.amount,
                "currency": event.currency,
                "reference": reference,
                "status": status,
                "isinescrow": False,
                "escrowstatus": escrow,
                "createdat": event.timestamp,
                "updatedat": event.timestamp,
                "fanid": request["fanid"],
                "celebrityid": request["celebrityid"],
                "needsreview": False,
                "failurereason": failure,
                "refundconfirmed": False,
                "version": event.originator_version,
            },
        )

    def _request_status(
        self, unit: UnitOfWork, event: LedgerAggregate.Event, status: str, reason: str | None = None
    ) -> None:
        unit.update(
            "requests",
            unit.text(event.originator_id),
            status=status,
            declinereason=reason,
            updatedat=event.timestamp,
        )

    # -- handlers: one per event class ---------------------------------------------------

    @functools.singledispatchmethod
    def _fold(self, event: object, unit: UnitOfWork, stored: Notification) -> None:
        """Events without a read-side effect (e.g. ``ReferenceClaimed``) change nothing."""

    @_fold.register
    def _user_registered(
        self, event: User.UserRegistered, unit: UnitOfWork, stored: Notification
    ) -> None:
        unit.insert(
            "users",
            {
                "id": unit.text(event.originator_id),
                "externalid": event.external_id,
                "role": event.role,
                "verified": False,
                "createdat": event.timestamp,
                "updatedat": event.timestamp,
            },
        )

    @_fold.register
    def _user_verified(
        self, event: User.UserVerified, unit: UnitOfWork, stored: Notification
    ) -> None:
        key = unit.text(event.originator_id)
        unit.update("users", key, verified=True, updatedat=event.timestamp)

    @_fold.register
    def _request_created(
        self, event: Request.RequestCreated, unit: UnitOfWork, stored: Notification
    ) -> None:
        unit.insert(
            "requests",
            {
                "id": unit.text(event.originator_id),
                "fanid": unit.text(event.fan_id),
                "celebrityid": unit.text(event.celebrity_id),
                "amount": event.amount,
                "currency": event.currency,
                "status": "PENDING",
                "createdat": event.timestamp,
                "updatedat": event.timestamp,
            },
        )

    @_fold.register
    def _request_paid(
        self, event: Request.RequestPaid, unit: UnitOfWork, stored: Notification
    ) -> None:
        self._request_status(unit, event, "IN_PROGRESS")

    @_fold.register
    def _request_completed(
        self, event: Request.RequestCompleted, unit: UnitOfWork, stored: Notification
    ) -> None:
        self._request_status(unit, event, "COMPLETED")

    @_fold.register
    def _request_declined(
        self, event: Request.RequestDeclined, unit: UnitOfWork, stored: Notification
    ) -> None:
        self._request_status(unit, event, "DECLINED", event.reason)

    @_fold.register
    def _wallet_created(
        self, event: Wallet.WalletCreated, unit: UnitOfWork, stored: Notification
    ) -> None:
        unit.insert(
            "wallets",
            {
                "id": unit.text(event.originator_id),
                "userid": unit.text(event.user_id),
                "currency": event.currency,
                "balance": 0,
                "credited": 0,
                "debited": 0,
                "createdat": event.timestamp,
                "updatedat": event.timestamp,
            },
        )

    @_fold.register
    def _wallet_credited(
        self, event: Wallet.WalletCredited, unit: UnitOfWork, stored: Notification
    ) -> None:
        wallet = unit.get("wallets", unit.text(event.originator_id))
        if wallet is not None:
            unit.update(
                "wallets",
                wallet["id"],
                balance=wallet["balance"] + event.amount,
                credited=wallet["credited"] + event.amount,
                updatedat=event.timestamp,
            )

    @_fold.register
    def _wallet_debited(
        self, event: Wallet.WalletDebited, unit: UnitOfWork, stored: Notification
    ) -> None:
        wallet = unit.get("wallets", unit.text(event.originator_id))
        assert wallet is not None, f"wallets row {event.originator_id} missing"
        unit.update(
            "wallets",
            wallet["id"],
            balance=wallet["balance"] - event.amount,
            debited=wallet["debited"] + event.amount,
            updatedat=event.timestamp,
        )
        unit.post(
            event,
            stored.id,
            None,
            wallet["currency"],
            [
                (f"wallet:{wallet['userid']}", event.amount, 0),
                ("external:payouts", 0, event.amount),
            ],
        )

    @_fold.register
    def _payment_initiated(
        self, event: Transaction.PaymentInitiated, unit: UnitOfWork, stored: Notification
    ) -> None:
        self._insert_txn(
            unit, event, reference=event.reference, status="PENDING", escrow="PENDING", failure=None
        )

    @_fold.register
    def _failed_recorded(
        self, event: Transaction.FailedTransactionRecorded, unit: UnitOfWork, stored: Notification
    ) -> None:
        self._insert_txn(
            unit, event, reference=None, status="FAILED", escrow="CANCELLED", failure=event.reason
        )

    @_fold.register
    def _payment_verified(
        self, event: Transaction.PaymentVerified, unit: UnitOfWork, stored: Notification
    ) -> None:
        row = self._txn_row(unit, event.originator_id)
        self._update_txn(
            unit,
            event,
            status="COMPLETED",
            isinescrow=True,
            providertransactionid=event.provider_transaction_id,
            paidat=event.paid_at,
        )
        unit.post(
            event,
            stored.id,
            event.originator_id,
            row["currency"],
            [("provider:paystack", event.amount, 0), ("escrow", 0, event.amount)],
        )

    @_fold.register
    def _payment_failed(
        self, event: Transaction.PaymentFailed, unit: UnitOfWork, stored: Notification
    ) -> None:
        self._update_txn(
            unit,
            event,
            status="FAILED",
            escrowstatus="CANCELLED",
            isinescrow=False,
            failurereason=event.reason,
        )

    @_fold.register
    def _payment_timed_out(
        self, event: Transaction.PaymentTimedOut, unit: UnitOfWork, stored: Notification
    ) -> None:
        self._update_txn(
            unit,
            event,
            status="FAILED",
            escrowstatus="CANCELLED",
            isinescrow=False,
            failurereason=f"timed_out:{event.reason}",
        )

    @_fold.register
    def _payment_flagged(
        self, event: Transaction.PaymentFlagged, unit: UnitOfWork, stored: Notification
    ) -> None:
        columns: dict[str, Any] = {
            "needsreview": True,
            "flagreason": event.reason,
            "flaggedamount": event.amount,
            "flaggedcurrency": event.currency,
        }
        if event.provider_transaction_id is not None:
            columns["providertransactionid"] = event.provider_transaction_id
        self._update_txn(unit, event, **columns)
        unit.post(
            event,
            stored.id,
            event.originator_id,
            event.currency,
            [("provider:paystack", event.amount, 0), ("suspense", 0, event.amount)],
        )

    @_fold.register
    def _escrow_released(
        self, event: Transaction.EscrowReleased, unit: UnitOfWork, stored: Notification
    ) -> None:
        row = self._txn_row(unit, event.originator_id)
        payout = event.amount - event.fee
        self._update_txn(
            unit,
            event,
            escrowstatus="RELEASED",
            isinescrow=False,
            walletid=unit.text(event.wallet_id),
            releasedat=event.timestamp,
            fee=event.fee,
            payout=payout,
        )
        lines = [("escrow", event.amount, 0), (f"wallet:{row['celebrityid']}", 0, payout)]
        if event.fee:
            lines.append(("platform:fees", 0, event.fee))
        unit.post(event, stored.id, event.originator_id, row["currency"], lines)

    @_fold.register
    def _escrow_refunded(
        self, event: Transaction.EscrowRefunded, unit: UnitOfWork, stored: Notification
    ) -> None:
        row = self._txn_row(unit, event.originator_id)
        flagged = bool(row["needsreview"])
        # Read before the update below changes the row (the SQL version read it first).
        currency = row["flaggedcurrency"] if flagged else row["currency"]
        columns: dict[str, Any] = {
            "escrowstatus": "REFUNDED",
            "isinescrow": False,
            "refundedat": event.timestamp,
            "refundedamount": event.amount,
            "refundreference": event.refund_reference,
        }
        if flagged:
            columns["needsreview"] = False
            if row["status"] == "PENDING":
                columns["status"] = "FAILED"
        self._update_txn(unit, event, **columns)
        source = "suspense" if flagged else "escrow"
        unit.post(
            event,
            stored.id,
            event.originator_id,
            currency,
            [(source, event.amount, 0), ("provider:paystack", 0, event.amount)],
        )

    @_fold.register
    def _refund_confirmed(
        self, event: Transaction.RefundConfirmed, unit: UnitOfWork, stored: Notification
    ) -> None:
        self._update_txn(unit, event, refundconfirmed=True)

    @_fold.register
    def _review_resolved(
        self, event: Transaction.ReviewResolved, unit: UnitOfWork, stored: Notification
    ) -> None:
        row = self._txn_row(unit, event.originator_id)
        in_suspense = row["flaggedamount"] is not None and bool(row["needsreview"])
        flagged_amount, flagged_currency = row["flaggedamount"], row["flaggedcurrency"]
        columns: dict[str, Any] = {"needsreview": False}
        if row["status"] == "PENDING":
            columns.update(
                status="FAILED",
                escrowstatus="CANCELLED",
                isinescrow=False,
                failurereason="review_resolved",
            )
        self._update_txn(unit, event, **columns)
        if in_suspense:
            unit.post(
                event,
                stored.id,
                event.originator_id,
                flagged_currency,
                [
                    ("suspense", flagged_amount, 0),
                    ("external:settled", 0, flagged_amount),
                ],
            )

    _handlers: ClassVar[Handlers[None]] = Handlers(_fold)


__all__ = ["COLUMNS", "READ_COLUMNS", "TABLES", "LedgerTables", "UnitOfWork"]
