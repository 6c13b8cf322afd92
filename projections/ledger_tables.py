"""The core read tables: users, requests, wallets, wallet_transactions and ledger_entries.

One projector keeps all five, so they are always consistent with each other at one position.
``wallet_transactions`` has the original system's columns (``id``, ``walletId``, ``requestId``,
``amount``, ``currency``, ``reference``, ``status``, ``isInEscrow``, ``escrowStatus``,
``createdAt``, ``updatedAt``) plus what reporting needs. Identifiers are unquoted: in psql
``SELECT * FROM wallet_transactions WHERE isInEscrow = true AND escrowStatus = 'PENDING';``
runs as written. ``isInEscrow`` is true exactly while money is held (COMPLETED and PENDING).

Double entry (DESIGN.md): every money movement posts balanced lines per currency into
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
"""

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from ledger.domain import ids
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from projections.db import ReadDB
from projections.engine import Projector, Tables
from projections.schema import Index, Table

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


class LedgerTables(Projector):
    """Keeps users, requests, wallets, wallet_transactions and ledger_entries."""

    name = "ledger_tables"
    tables = TABLES

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _post(
        db: ReadDB,
        tables: Tables,
        event: Any,
        position: int,
        transaction_id: UUID | None,
        currency: str,
        lines: list[tuple[str, int, int]],
    ) -> None:
        for line, (account, debit, credit) in enumerate(lines):
            db.execute(
                f"INSERT INTO {tables['ledger_entries']} (position, line, transactionId, "
                "account, currency, debit, credit, postedAt) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    position,
                    line,
                    str(transaction_id) if transaction_id else None,
                    account,
                    currency,
                    debit,
                    credit,
                    event.timestamp,
                ],
            )

    @staticmethod
    def _update_txn(db: ReadDB, tables: Tables, event: Any, **columns: Any) -> None:
        columns["updatedAt"] = event.timestamp
        columns["version"] = event.originator_version
        assignments = ", ".join(f"{name} = %({name})s" for name in columns)
        db.execute(
            f"UPDATE {tables['wallet_transactions']} SET {assignments} WHERE id = %(id)s",
            {**columns, "id": str(event.originator_id)},
        )

    @staticmethod
    def _txn_row(db: ReadDB, tables: Tables, txn_id: UUID) -> dict[str, Any]:
        row = db.fetchone(
            f"SELECT * FROM {tables['wallet_transactions']} WHERE id = %s", [str(txn_id)]
        )
        assert row is not None, f"wallet_transactions row {txn_id} missing"
        return {key.lower(): value for key, value in row.items()}

    def _insert_txn(
        self,
        db: ReadDB,
        tables: Tables,
        event: Any,
        *,
        reference: str | None,
        status: str,
        escrow: str,
        failure: str | None,
    ) -> None:
        request = db.fetchone(
            f"SELECT fanId, celebrityId FROM {tables['requests']} WHERE id = %s",
            [str(event.request_id)],
        )
        assert request is not None, f"requests row {event.request_id} missing"
        request = {key.lower(): value for key, value in request.items()}
        db.execute(
            f"INSERT INTO {tables['wallet_transactions']} (id, walletId, requestId, amount, "
            "currency, reference, status, isInEscrow, escrowStatus, createdAt, updatedAt, "
            "fanId, celebrityId, needsReview, failureReason, refundConfirmed, version) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, false, %s, %s, %s, %s, %s, false, %s, false, %s)",
            [
                str(event.originator_id),
                str(ids.wallet_id(UUID(str(request["celebrityid"])), event.currency)),
                str(event.request_id),
                event.amount,
                event.currency,
                reference,
                status,
                escrow,
                event.timestamp,
                event.timestamp,
                request["fanid"],
                request["celebrityid"],
                failure,
                event.originator_version,
            ],
        )

    # -- handlers ------------------------------------------------------------------------

    @singledispatchmethod
    def apply(self, event: Any, db: ReadDB, tables: Tables, stored: Notification) -> None:
        """Events without a read-side effect (e.g. ``ReferenceClaimed``) are ignored."""

    @apply.register
    def _(
        self, event: User.UserRegistered, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        db.execute(
            f"INSERT INTO {tables['users']} (id, externalId, role, verified, createdAt, "
            "updatedAt) VALUES (%s, %s, %s, false, %s, %s)",
            [
                str(event.originator_id),
                event.external_id,
                event.role,
                event.timestamp,
                event.timestamp,
            ],
        )

    @apply.register
    def _(self, event: User.UserVerified, db: ReadDB, tables: Tables, stored: Notification) -> None:
        db.execute(
            f"UPDATE {tables['users']} SET verified = true, updatedAt = %s WHERE id = %s",
            [event.timestamp, str(event.originator_id)],
        )

    @apply.register
    def _(
        self, event: Request.RequestCreated, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        db.execute(
            f"INSERT INTO {tables['requests']} (id, fanId, celebrityId, amount, currency, "
            "status, createdAt, updatedAt) VALUES (%s, %s, %s, %s, %s, 'PENDING', %s, %s)",
            [
                str(event.originator_id),
                str(event.fan_id),
                str(event.celebrity_id),
                event.amount,
                event.currency,
                event.timestamp,
                event.timestamp,
            ],
        )

    def _request_status(
        self, db: ReadDB, tables: Tables, event: Any, status: str, reason: str | None = None
    ) -> None:
        db.execute(
            f"UPDATE {tables['requests']} SET status = %s, declineReason = %s, updatedAt = %s "
            "WHERE id = %s",
            [status, reason, event.timestamp, str(event.originator_id)],
        )

    @apply.register
    def _(
        self, event: Request.RequestPaid, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        self._request_status(db, tables, event, "IN_PROGRESS")

    @apply.register
    def _(
        self, event: Request.RequestCompleted, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        self._request_status(db, tables, event, "COMPLETED")

    @apply.register
    def _(
        self, event: Request.RequestDeclined, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        self._request_status(db, tables, event, "DECLINED", event.reason)

    @apply.register
    def _(
        self, event: Wallet.WalletCreated, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        db.execute(
            f"INSERT INTO {tables['wallets']} (id, userId, currency, balance, credited, "
            "debited, createdAt, updatedAt) VALUES (%s, %s, %s, 0, 0, 0, %s, %s)",
            [
                str(event.originator_id),
                str(event.user_id),
                event.currency,
                event.timestamp,
                event.timestamp,
            ],
        )

    @apply.register
    def _(
        self, event: Wallet.WalletCredited, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        db.execute(
            f"UPDATE {tables['wallets']} SET balance = balance + %s, credited = credited + %s, "
            "updatedAt = %s WHERE id = %s",
            [event.amount, event.amount, event.timestamp, str(event.originator_id)],
        )

    @apply.register
    def _(
        self, event: Wallet.WalletDebited, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        db.execute(
            f"UPDATE {tables['wallets']} SET balance = balance - %s, debited = debited + %s, "
            "updatedAt = %s WHERE id = %s",
            [event.amount, event.amount, event.timestamp, str(event.originator_id)],
        )
        wallet = db.fetchone(
            f"SELECT userId, currency FROM {tables['wallets']} WHERE id = %s",
            [str(event.originator_id)],
        )
        assert wallet is not None
        wallet = {key.lower(): value for key, value in wallet.items()}
        self._post(
            db,
            tables,
            event,
            stored.id,
            None,
            wallet["currency"],
            [
                (f"wallet:{wallet['userid']}", event.amount, 0),
                ("external:payouts", 0, event.amount),
            ],
        )

    @apply.register
    def _(
        self, event: Transaction.PaymentInitiated, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        self._insert_txn(
            db,
            tables,
            event,
            reference=event.reference,
            status="PENDING",
            escrow="PENDING",
            failure=None,
        )

    @apply.register
    def _(
        self,
        event: Transaction.FailedTransactionRecorded,
        db: ReadDB,
        tables: Tables,
        stored: Notification,
    ) -> None:
        self._insert_txn(
            db,
            tables,
            event,
            reference=None,
            status="FAILED",
            escrow="CANCELLED",
            failure=event.reason,
        )

    @apply.register
    def _(
        self, event: Transaction.PaymentVerified, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        row = self._txn_row(db, tables, event.originator_id)
        self._update_txn(
            db,
            tables,
            event,
            status="COMPLETED",
            isInEscrow=True,
            providerTransactionId=event.provider_transaction_id,
            paidAt=event.paid_at,
        )
        self._post(
            db,
            tables,
            event,
            stored.id,
            event.originator_id,
            row["currency"],
            [
                ("provider:paystack", event.amount, 0),
                ("escrow", 0, event.amount),
            ],
        )

    @apply.register
    def _(
        self, event: Transaction.PaymentFailed, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        self._update_txn(
            db,
            tables,
            event,
            status="FAILED",
            escrowStatus="CANCELLED",
            isInEscrow=False,
            failureReason=event.reason,
        )

    @apply.register
    def _(
        self, event: Transaction.PaymentTimedOut, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        self._update_txn(
            db,
            tables,
            event,
            status="FAILED",
            escrowStatus="CANCELLED",
            isInEscrow=False,
            failureReason=f"timed_out:{event.reason}",
        )

    @apply.register
    def _(
        self, event: Transaction.PaymentFlagged, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        columns: dict[str, Any] = {
            "needsReview": True,
            "flagReason": event.reason,
            "flaggedAmount": event.amount,
            "flaggedCurrency": event.currency,
        }
        if event.provider_transaction_id is not None:
            columns["providerTransactionId"] = event.provider_transaction_id
        self._update_txn(db, tables, event, **columns)
        self._post(
            db,
            tables,
            event,
            stored.id,
            event.originator_id,
            event.currency,
            [
                ("provider:paystack", event.amount, 0),
                ("suspense", 0, event.amount),
            ],
        )

    @apply.register
    def _(
        self, event: Transaction.EscrowReleased, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        row = self._txn_row(db, tables, event.originator_id)
        payout = event.amount - event.fee
        self._update_txn(
            db,
            tables,
            event,
            escrowStatus="RELEASED",
            isInEscrow=False,
            walletId=str(event.wallet_id),
            releasedAt=event.timestamp,
            fee=event.fee,
            payout=payout,
        )
        lines = [("escrow", event.amount, 0), (f"wallet:{row['celebrityid']}", 0, payout)]
        if event.fee:
            lines.append(("platform:fees", 0, event.fee))
        self._post(db, tables, event, stored.id, event.originator_id, row["currency"], lines)

    @apply.register
    def _(
        self, event: Transaction.EscrowRefunded, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        row = self._txn_row(db, tables, event.originator_id)
        flagged = bool(row["needsreview"])
        columns: dict[str, Any] = {
            "escrowStatus": "REFUNDED",
            "isInEscrow": False,
            "refundedAt": event.timestamp,
            "refundedAmount": event.amount,
            "refundReference": event.refund_reference,
        }
        if flagged:
            columns["needsReview"] = False
            if row["status"] == "PENDING":
                columns["status"] = "FAILED"
        self._update_txn(db, tables, event, **columns)
        currency = row["flaggedcurrency"] if flagged else row["currency"]
        source = "suspense" if flagged else "escrow"
        self._post(
            db,
            tables,
            event,
            stored.id,
            event.originator_id,
            currency,
            [
                (source, event.amount, 0),
                ("provider:paystack", 0, event.amount),
            ],
        )

    @apply.register
    def _(
        self, event: Transaction.RefundConfirmed, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        self._update_txn(db, tables, event, refundConfirmed=True)

    @apply.register
    def _(
        self, event: Transaction.ReviewResolved, db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        row = self._txn_row(db, tables, event.originator_id)
        columns: dict[str, Any] = {"needsReview": False}
        if row["status"] == "PENDING":
            columns.update(
                status="FAILED",
                escrowStatus="CANCELLED",
                isInEscrow=False,
                failureReason="review_resolved",
            )
        self._update_txn(db, tables, event, **columns)
        if row["flaggedamount"] is not None and bool(row["needsreview"]):
            self._post(
                db,
                tables,
                event,
                stored.id,
                event.originator_id,
                row["flaggedcurrency"],
                [
                    ("suspense", row["flaggedamount"], 0),
                    ("external:settled", 0, row["flaggedamount"]),
                ],
            )


__all__ = ["TABLES", "LedgerTables"]
