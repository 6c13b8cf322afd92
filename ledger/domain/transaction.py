"""The Transaction aggregate: one payment attempt for a request, held in escrow.

Two fields, as in the original ``wallet_transactions`` table::

    status:         PENDING -> COMPLETED (payment verified) | FAILED
    escrow_status:  PENDING -> RELEASED (to the celebrity) | REFUNDED (to the fan)
                            | CANCELLED (payment failed, nothing is held)

Funds are *held* exactly when ``status == COMPLETED and escrow_status == PENDING``.
A flagged transaction (``needs_review``) received money that cannot be applied (wrong amount
or currency, or a success after the payment had failed); that money sits in *suspense*, the
transaction is excluded from automatic processing, and only an operator refunds or resolves it.
Each transaction is flagged at most once, released or refunded at most once.

Methods here check only this aggregate's own state; rules that span a request or a wallet live
in ``ledger.domain.escrow``.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.ids import transaction_id
from ledger.domain.money import Money
from ledger.errors import DomainError


class TxStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class EscrowStatus(StrEnum):
    PENDING = "PENDING"
    RELEASED = "RELEASED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


class TimeoutReason(StrEnum):
    NO_REFERENCE = "no_reference"
    PROVIDER_UNREACHABLE = "provider_unreachable"
    UNRESOLVED = "unresolved"
    REQUEST_TIMED_OUT = "request_timed_out"


class FlagReason(StrEnum):
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    LATE_SUCCESS = "late_success"


class ReleaseTrigger(StrEnum):
    JOB = "job"
    ADMIN = "admin"


class Transaction(LedgerAggregate):
    request_id: UUID
    reference: str | None
    amount: int
    currency: str
    status: TxStatus
    escrow_status: EscrowStatus
    needs_review: bool
    flag_reason: FlagReason | None
    flagged_amount: int | None
    flagged_currency: str | None
    provider_transaction_id: str | None
    paid_at: datetime | None
    failure_reason: str | None
    wallet_id: UUID | None
    fee: int | None
    refund_reference: str | None
    refunded_amount: int | None
    refund_confirmed: bool

    class PaymentInitiated(LedgerAggregate.Created):
        request_id: UUID
        reference: str | None
        amount: int
        currency: str

        def apply(self, aggregate: Any) -> None:
            _init_state(aggregate, self.request_id, self.reference, self.amount, self.currency)

    class FailedTransactionRecorded(LedgerAggregate.Created):
        """Audit record of a request that timed out with no payment attempt at all."""

        request_id: UUID
        amount: int
        currency: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            _init_state(aggregate, self.request_id, None, self.amount, self.currency)
            aggregate.status = TxStatus.FAILED
            aggregate.escrow_status = EscrowStatus.CANCELLED
            aggregate.failure_reason = self.reason

    class PaymentVerified(LedgerAggregate.Event):
        provider_status: str
        provider_transaction_id: str | None
        paid_at: datetime
        amount: int
        operator: str | None
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.status = TxStatus.COMPLETED
            aggregate.provider_transaction_id = self.provider_transaction_id
            aggregate.paid_at = self.paid_at

    class PaymentFailed(LedgerAggregate.Event):
        reason: str
        provider_status: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.status = TxStatus.FAILED
            aggregate.escrow_status = EscrowStatus.CANCELLED
            aggregate.failure_reason = self.reason

    class PaymentTimedOut(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = TxStatus.FAILED
            aggregate.escrow_status = EscrowStatus.CANCELLED
            aggregate.failure_reason = f"timed_out:{self.reason}"

    class PaymentFlagged(LedgerAggregate.Event):
        """``amount``/``currency`` are what actually arrived (it sits in suspense)."""

        reason: str
        amount: int
        currency: str
        provider_status: str | None
        provider_transaction_id: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.needs_review = True
            aggregate.flag_reason = FlagReason(self.reason)
            aggregate.flagged_amount = self.amount
            aggregate.flagged_currency = self.currency
            if self.provider_transaction_id is not None:
                aggregate.provider_transaction_id = self.provider_transaction_id

    class EscrowReleased(LedgerAggregate.Event):
        """``amount`` is the whole payment; the wallet is credited ``amount - fee``."""

        wallet_id: UUID
        amount: int
        fee: int
        trigger: str
        run_id: str | None
        operator: str | None
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.escrow_status = EscrowStatus.RELEASED
            aggregate.wallet_id = self.wallet_id
            aggregate.fee = self.fee

    class EscrowRefunded(LedgerAggregate.Event):
        """Recorded once the provider accepted the refund (it may still be queued there).
        A flagged payment's refund also closes it: status FAILED, review cleared."""

        reason: str
        refund_reference: str
        amount: int
        operator: str | None
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.escrow_status = EscrowStatus.REFUNDED
            aggregate.refund_reference = self.refund_reference
            aggregate.refunded_amount = self.amount
            if aggregate.needs_review:
                aggregate.needs_review = False
                if aggregate.status is TxStatus.PENDING:
                    aggregate.status = TxStatus.FAILED

    class RefundConfirmed(LedgerAggregate.Event):
        refund_reference: str

        def apply(self, aggregate: Any) -> None:
            aggregate.refund_confirmed = True

    class ReviewResolved(LedgerAggregate.Event):
        """An operator settled a flagged payment outside the ledger. A still-PENDING
        payment is closed (FAILED, escrow CANCELLED) so no job verifies it again."""

        operator: str
        note: str

        def apply(self, aggregate: Any) -> None:
            aggregate.needs_review = False
            if aggregate.status is TxStatus.PENDING:
                aggregate.status = TxStatus.FAILED
                aggregate.escrow_status = EscrowStatus.CANCELLED
                aggregate.failure_reason = "review_resolved"

    def __init__(self) -> None:  # state is set by the created events
        pass

    # -- creation ------------------------------------------------------------------------

    @classmethod
    def initiate(
        cls, request_id: UUID, reference: str | None, price: Money, at: Stamp
    ) -> "Transaction":
        """A PENDING payment attempt for ``request_id`` (escrow PENDING, nothing held yet)."""
        return cls._create(
            cls.PaymentInitiated,
            id=transaction_id(request_id),
            timestamp=at.business,
            recorded_at=at.recorded,
            request_id=request_id,
            reference=reference,
            amount=price.amount,
            currency=price.currency,
        )

    @classmethod
    def record_failed(
        cls, request_id: UUID, price: Money, reason: TimeoutReason, at: Stamp
    ) -> "Transaction":
        """A FAILED/CANCELLED audit record for a request that timed out unpaid."""
        return cls._create(
            cls.FailedTransactionRecorded,
            id=transaction_id(request_id),
            timestamp=at.business,
            recorded_at=at.recorded,
            request_id=request_id,
            amount=price.amount,
            currency=price.currency,
            reason=reason.value,
        )

    # -- queries ---------------------------------------------------------------------------

    @property
    def price(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def is_held(self) -> bool:
        """Money is held in escrow: verified, not yet released or refunded."""
        return self.status is TxStatus.COMPLETED and self.escrow_status is EscrowStatus.PENDING

    @property
    def in_suspense(self) -> bool:
        """Flagged money that arrived and has been neither refunded nor resolved."""
        return self.needs_review and self.flagged_amount is not None

    def describe(self) -> str:
        state = f"{self.status.value}/{self.escrow_status.value}"
        return f"transaction {self.id} ({state}{', needs review' if self.needs_review else ''})"

    # -- commands --------------------------------------------------------------------------

    def _check_automatable(self) -> None:
        if self.needs_review:
            raise DomainError(
                f"{self.describe()} is flagged ({self.flag_reason}) and waits for an operator: "
                "use admin refund or admin resolve"
            )

    def verify(
        self,
        *,
        provider_status: str,
        provider_transaction_id: str | None,
        paid_at: datetime,
        at: Stamp,
        operator: str | None = None,
        note: str | None = None,
    ) -> bool:
        """PENDING -> COMPLETED with the expected amount; money is now held.
        No-op if already COMPLETED. A FAILED payment is never verified (see ``flag``)."""
        if self.status is TxStatus.COMPLETED:
            return False
        if self.status is TxStatus.FAILED:
            raise DomainError(f"{self.describe()} has failed and cannot be marked paid")
        self._check_automatable()
        self._trigger(
            self.PaymentVerified,
            at,
            provider_status=provider_status,
            provider_transaction_id=provider_transaction_id,
            paid_at=paid_at,
            amount=self.amount,
            operator=operator,
            note=note,
        )
        return True

    def fail(self, *, reason: str, provider_status: str | None, at: Stamp) -> bool:
        """PENDING -> FAILED, escrow CANCELLED. No-op if already FAILED."""
        if self.status is TxStatus.FAILED:
            return False
        if self.status is TxStatus.COMPLETED:
            raise DomainError(f"{self.describe()} was verified and cannot fail")
        self._check_automatable()
        self._trigger(self.PaymentFailed, at, reason=reason, provider_status=provider_status)
        return True

    def time_out(self, reason: TimeoutReason, at: Stamp) -> bool:
        """PENDING -> FAILED, escrow CANCELLED. No-op if already FAILED."""
        if self.status is TxStatus.FAILED:
            return False
        if self.status is TxStatus.COMPLETED:
            raise DomainError(f"{self.describe()} was verified and cannot time out")
        self._check_automatable()
        self._trigger(self.PaymentTimedOut, at, reason=reason.value)
        return True

    def flag(
        self,
        reason: FlagReason,
        received: Money,
        *,
        provider_status: str | None,
        provider_transaction_id: str | None,
        at: Stamp,
    ) -> bool:
        """Record money that arrived but cannot be applied. At most once per transaction:
        a repeat (the same webhook again) is a no-op."""
        if self.flag_reason is not None:
            return False
        if reason is FlagReason.LATE_SUCCESS and self.status is not TxStatus.FAILED:
            raise DomainError(f"{self.describe()}: a late success needs a FAILED payment")
        if reason is not FlagReason.LATE_SUCCESS and self.status is not TxStatus.PENDING:
            raise DomainError(f"{self.describe()}: only a PENDING payment can mismatch")
        self._trigger(
            self.PaymentFlagged,
            at,
            reason=reason.value,
            amount=received.amount,
            currency=received.currency,
            provider_status=provider_status,
            provider_transaction_id=provider_transaction_id,
        )
        return True

    def release(
        self,
        *,
        wallet_id: UUID,
        fee: int,
        trigger: ReleaseTrigger,
        run_id: str | None,
        at: Stamp,
        operator: str | None = None,
        note: str | None = None,
    ) -> bool:
        """Held -> RELEASED. No-op if already RELEASED. Call through
        ``escrow.release`` so the wallet is credited in the same save."""
        if self.escrow_status is EscrowStatus.RELEASED:
            return False
        self._check_automatable()
        if not self.is_held:
            raise DomainError(f"{self.describe()} holds no money to release")
        self._trigger(
            self.EscrowReleased,
            at,
            wallet_id=wallet_id,
            amount=self.amount,
            fee=fee,
            trigger=trigger.value,
            run_id=run_id,
            operator=operator,
            note=note,
        )
        return True

    def refundable_amount(self) -> int:
        """What a refund would return now: the held payment, or the flagged money.
        Raises ``DomainError`` when there is nothing to refund."""
        if self.escrow_status is EscrowStatus.RELEASED:
            raise DomainError(
                f"{self.describe()} was already released to the celebrity's wallet "
                "and cannot be refunded"
            )
        if self.in_suspense:
            assert self.flagged_amount is not None
            return self.flagged_amount
        if self.is_held:
            return self.amount
        raise DomainError(f"{self.describe()} holds no money to refund")

    def refund(
        self,
        *,
        reason: str,
        refund_reference: str,
        at: Stamp,
        operator: str | None = None,
        note: str | None = None,
    ) -> bool:
        """Held or flagged -> escrow REFUNDED, once the provider accepted the refund.
        No-op if already REFUNDED."""
        if self.escrow_status is EscrowStatus.REFUNDED:
            return False
        amount = self.refundable_amount()
        self._trigger(
            self.EscrowRefunded,
            at,
            reason=reason,
            refund_reference=refund_reference,
            amount=amount,
            operator=operator,
            note=note,
        )
        return True

    def confirm_refund(self, refund_reference: str, at: Stamp) -> bool:
        """The provider reports the refund processed. No-op if already confirmed."""
        if self.escrow_status is not EscrowStatus.REFUNDED:
            raise DomainError(f"{self.describe()} has no refund to confirm")
        if refund_reference != self.refund_reference:
            raise DomainError(
                f"{self.describe()}: refund {refund_reference!r} is not the one recorded "
                f"({self.refund_reference!r})"
            )
        if self.refund_confirmed:
            return False
        self._trigger(self.RefundConfirmed, at, refund_reference=refund_reference)
        return True

    def resolve(self, *, operator: str, note: str, at: Stamp) -> bool:
        """An operator settles a flagged payment outside the ledger. No-op if the flag was
        already resolved; refused if the payment was never flagged or was refunded."""
        if self.flag_reason is None:
            raise DomainError(f"{self.describe()} was never flagged; nothing to resolve")
        if not self.needs_review:
            if self.escrow_status is EscrowStatus.REFUNDED:
                raise DomainError(f"{self.describe()}: the flagged money was refunded")
            return False
        self._trigger(self.ReviewResolved, at, operator=operator, note=note)
        return True


def _init_state(
    aggregate: Any, request_id: UUID, reference: str | None, amount: int, currency: str
) -> None:
    aggregate.request_id = request_id
    aggregate.reference = reference
    aggregate.amount = amount
    aggregate.currency = currency
    aggregate.status = TxStatus.PENDING
    aggregate.escrow_status = EscrowStatus.PENDING
    aggregate.needs_review = False
    aggregate.flag_reason = None
    aggregate.flagged_amount = None
    aggregate.flagged_currency = None
    aggregate.provider_transaction_id = None
    aggregate.paid_at = None
    aggregate.failure_reason = None
    aggregate.wallet_id = None
    aggregate.fee = None
    aggregate.refund_reference = None
    aggregate.refunded_amount = None
    aggregate.refund_confirmed = False


__all__ = [
    "EscrowStatus",
    "FlagReason",
    "ReleaseTrigger",
    "TimeoutReason",
    "Transaction",
    "TxStatus",
]
