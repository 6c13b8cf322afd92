"""Escrow rules that span aggregates: a payment and its request, a release and the wallet.

Each function checks every guard before it triggers any event, and returns the aggregates it
changed; the application saves them together in one ``Application.save(...)`` (one database
transaction), so a release credits the wallet and marks the transaction, or neither happens.
An empty result means the command had already taken effect: nothing to save.

Rules (docs/design.md, "Payment verification outcomes"):
- success with the expected amount and currency: the payment is verified and the request
  goes IN_PROGRESS; another amount or currency: flagged, never treated as paid;
- success for a payment that already FAILED: flagged ``late_success``;
- failure or time-out of a pending payment: the request is declined with it;
- release needs the request COMPLETED, the money held, no review pending, and the
  celebrity's wallet in the payment's currency;
- a held payment of an IN_PROGRESS request is never refunded on its own: the request is
  declined, which refunds it (else the request would wait for work nobody pays for);
- refunding a flagged payment that never completed closes its request (``payment_failed``).
"""

from datetime import datetime

from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.fees import split_fee
from ledger.domain.money import Money
from ledger.domain.request import DeclineReason, Request, RequestStatus
from ledger.domain.transaction import (
    EscrowStatus,
    FlagReason,
    ReleaseTrigger,
    TimeoutReason,
    Transaction,
    TxStatus,
)
from ledger.domain.wallet import Wallet
from ledger.errors import DomainError

Changed = list[LedgerAggregate]


def _check_pair(txn: Transaction, request: Request) -> None:
    if txn.request_id != request.id:
        raise DomainError(f"transaction {txn.id} belongs to request {txn.request_id}")


def apply_success(
    txn: Transaction,
    request: Request,
    *,
    received: Money,
    provider_status: str,
    provider_transaction_id: str | None,
    paid_at: datetime,
    at: Stamp,
    operator: str | None = None,
    note: str | None = None,
) -> Changed:
    """The provider (or an operator) says the money arrived."""
    _check_pair(txn, request)
    if txn.status is TxStatus.COMPLETED:
        return []
    if txn.status is TxStatus.FAILED:
        flagged = txn.flag(
            FlagReason.LATE_SUCCESS,
            received,
            provider_status=provider_status,
            provider_transaction_id=provider_transaction_id,
            at=at,
        )
        return [txn] if flagged else []
    if txn.needs_review:
        return []  # already flagged: an operator decides
    mismatch = None
    if received.currency != txn.currency:
        mismatch = FlagReason.CURRENCY_MISMATCH
    elif received.amount != txn.amount:
        mismatch = FlagReason.AMOUNT_MISMATCH
    if mismatch is not None:
        txn.flag(
            mismatch,
            received,
            provider_status=provider_status,
            provider_transaction_id=provider_transaction_id,
            at=at,
        )
        return [txn]
    if request.status is not RequestStatus.PENDING:
        raise DomainError(f"request {request.id} is {request.status.value}, not awaiting payment")
    txn.verify(
        provider_status=provider_status,
        provider_transaction_id=provider_transaction_id,
        paid_at=paid_at,
        at=at,
        operator=operator,
        note=note,
    )
    request.mark_paid(txn.id, at)
    return [txn, request]


def apply_failure(
    txn: Transaction, request: Request, *, reason: str, provider_status: str | None, at: Stamp
) -> Changed:
    """The provider says the payment failed (failed, abandoned, reversed)."""
    _check_pair(txn, request)
    if txn.status is TxStatus.FAILED:
        return []
    if not txn.fail(reason=reason, provider_status=provider_status, at=at):
        return []
    request.decline(DeclineReason.PAYMENT_FAILED, at)
    return [txn, request]


def apply_timeout(
    txn: Transaction, request: Request, *, reason: TimeoutReason, at: Stamp
) -> Changed:
    """Give up on a pending payment; the request is declined with it."""
    _check_pair(txn, request)
    if txn.status is TxStatus.FAILED:
        return []
    txn.time_out(reason, at)
    decline = (
        DeclineReason.REQUEST_TIMED_OUT
        if reason is TimeoutReason.REQUEST_TIMED_OUT
        else DeclineReason.PAYMENT_TIMED_OUT
    )
    request.decline(decline, at)
    return [txn, request]


def time_out_request(request: Request, txn: Transaction | None, at: Stamp) -> Changed:
    """Decline a request left PENDING too long: time out its pending payment, or record a
    failed one when there was no payment at all. A flagged payment waits for the operator."""
    if request.status is not RequestStatus.PENDING:
        if request.status is RequestStatus.DECLINED:
            return []
        raise DomainError(f"request {request.id} is {request.status.value}, not PENDING")
    if txn is None:
        failed = Transaction.record_failed(
            request.id, request.price, TimeoutReason.REQUEST_TIMED_OUT, at
        )
        request.decline(DeclineReason.REQUEST_TIMED_OUT, at)
        return [failed, request]
    return apply_timeout(txn, request, reason=TimeoutReason.REQUEST_TIMED_OUT, at=at)


def release(
    txn: Transaction,
    request: Request,
    wallet: Wallet,
    *,
    fee_bps: int,
    trigger: ReleaseTrigger,
    run_id: str | None,
    at: Stamp,
    operator: str | None = None,
    note: str | None = None,
) -> Changed:
    """Release held money to the celebrity's wallet, less the platform fee."""
    _check_pair(txn, request)
    if txn.escrow_status is EscrowStatus.RELEASED:
        return []
    if request.status is not RequestStatus.COMPLETED:
        raise DomainError(
            f"request {request.id} is {request.status.value}: escrow is released only for "
            "COMPLETED requests"
        )
    if wallet.user_id != request.celebrity_id or wallet.currency != txn.currency:
        raise DomainError(f"wallet {wallet.id} is not the celebrity's {txn.currency} wallet")
    fee, payout = split_fee(txn.amount, fee_bps)
    txn.release(
        wallet_id=wallet.id,
        fee=fee,
        trigger=trigger,
        run_id=run_id,
        at=at,
        operator=operator,
        note=note,
    )
    wallet.credit(Money(payout, txn.currency), txn.id, at)
    return [txn, wallet]


def check_refundable(txn: Transaction, request: Request) -> int:
    """What a refund of ``txn`` on its own (an operator's, not a decline's) would return now;
    ``DomainError`` when it must not be refunded that way (see the rules above)."""
    _check_pair(txn, request)
    amount = txn.refundable_amount()
    if txn.is_held and request.status is RequestStatus.IN_PROGRESS:
        raise DomainError(
            f"request {request.id} is IN_PROGRESS: decline it (`ledger requests "
            "decline`), which refunds its payment"
        )
    return amount


def refund(
    txn: Transaction,
    request: Request,
    *,
    reason: str,
    refund_reference: str,
    at: Stamp,
    operator: str | None = None,
    note: str | None = None,
) -> Changed:
    """Record a refund the provider accepted (``refund_reference``); ``check_refundable``
    first. A flagged payment that never completed is closed and its request declined."""
    check_refundable(txn, request)
    closes_request = txn.needs_review and txn.status is TxStatus.PENDING
    txn.refund(
        reason=reason, refund_reference=refund_reference, at=at, operator=operator, note=note
    )
    changed: Changed = [txn]
    if closes_request and request.decline(DeclineReason.PAYMENT_FAILED, at, note=note):
        changed.append(request)
    return changed


def decline(
    request: Request,
    txn: Transaction | None,
    *,
    reason: DeclineReason,
    at: Stamp,
    note: str | None = None,
    refund_reference: str | None = None,
    operator: str | None = None,
) -> Changed:
    """Decline a request. A pending payment fails with it; a held payment is refunded
    (``refund_reference`` is the provider's acceptance of that refund, obtained first).
    ``operator``: who issued the decline, recorded on the events."""
    if request.status is RequestStatus.DECLINED:
        return []
    if txn is not None:
        _check_pair(txn, request)
    if request.status is RequestStatus.IN_PROGRESS:
        if txn is None or not txn.is_held:
            raise DomainError(f"request {request.id} is IN_PROGRESS but holds no payment")
        if refund_reference is None:
            raise DomainError(f"request {request.id} holds a payment that must be refunded")
        request.decline(reason, at, note=note, operator=operator)
        txn.refund(
            reason=reason.value,
            refund_reference=refund_reference,
            at=at,
            operator=operator,
            note=note,
        )
        return [request, txn]
    pending = txn is not None and txn.status is TxStatus.PENDING
    if pending and txn is not None and txn.needs_review:
        raise DomainError(
            f"request {request.id}: its payment is flagged for review; "
            "refund or resolve the payment first"
        )
    request.decline(reason, at, note=note, operator=operator)  # raises for COMPLETED
    if pending and txn is not None:
        txn.fail(reason=reason.value, provider_status=None, at=at)
        return [request, txn]
    return [request]


__all__ = [
    "Changed",
    "apply_failure",
    "apply_success",
    "apply_timeout",
    "check_refundable",
    "decline",
    "refund",
    "release",
    "time_out_request",
]
