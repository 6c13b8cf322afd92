"""Views: an aggregate's current state as a flat, JSON-ready dict, for the CLI and the HTTP API.

Rules (the machine format of docs/design.md "Money" and "Interfaces"): amounts are integers in minor
units, ids are strings, times are ISO 8601 with their UTC offset, enums are their values, and
absent values are ``None``. ``MONEY_FIELDS`` says which fields are amounts and which field holds
each one's currency, so a human renderer can format them (``NGN 5,000.00``) without knowing the
aggregates. Views read state only; they never load anything themselves.
"""

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Final
from uuid import UUID

from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet

Scalar = str | int | bool | None
View = dict[str, Scalar]

MONEY_FIELDS: Final[Mapping[str, str]] = {
    "amount": "currency",
    "fee": "currency",
    "payout": "currency",
    "refunded_amount": "currency",
    "balance": "currency",
    "credited": "currency",
    "debited": "currency",
    "flagged_amount": "flagged_currency",
}


def scalar(value: object) -> Scalar:
    """One value in the machine format (see the module docstring)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return scalar(value.value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"no machine format for {type(value).__name__}")


def _view(**fields: object) -> View:
    return {name: scalar(value) for name, value in fields.items()}


def user_view(user: User) -> View:
    return _view(
        user_id=user.external_id,
        id=user.id,
        role=user.role,
        verified=user.verified,
        created_at=user.created_on,
        updated_at=user.modified_on,
        version=user.version,
    )


def request_view(
    request: Request,
    *,
    transaction: Transaction | None = None,
    fan: User | None = None,
    celebrity: User | None = None,
) -> View:
    """A request; with its payment's state when ``transaction`` is given, and the users'
    external ids when ``fan`` / ``celebrity`` are."""
    return _view(
        id=request.id,
        status=request.status,
        amount=request.amount,
        currency=request.currency,
        fan=fan.external_id if fan else None,
        fan_id=request.fan_id,
        celebrity=celebrity.external_id if celebrity else None,
        celebrity_id=request.celebrity_id,
        decline_reason=request.decline_reason,
        note=request.note,
        transaction_id=transaction.id if transaction else None,
        payment_status=transaction.status if transaction else None,
        escrow_status=transaction.escrow_status if transaction else None,
        created_at=request.created_on,
        updated_at=request.modified_on,
        version=request.version,
    )


def transaction_view(txn: Transaction) -> View:
    """A payment transaction. ``payout`` is what the wallet got (``amount - fee``) once
    released; ``held`` says the money is in escrow now."""
    return _view(
        id=txn.id,
        request_id=txn.request_id,
        reference=txn.reference,
        amount=txn.amount,
        currency=txn.currency,
        status=txn.status,
        escrow_status=txn.escrow_status,
        held=txn.is_held,
        needs_review=txn.needs_review,
        flag_reason=txn.flag_reason,
        flagged_amount=txn.flagged_amount,
        flagged_currency=txn.flagged_currency,
        provider_transaction_id=txn.provider_transaction_id,
        paid_at=txn.paid_at,
        failure_reason=txn.failure_reason,
        wallet_id=txn.wallet_id,
        fee=txn.fee,
        payout=txn.amount - txn.fee if txn.fee is not None else None,
        refund_reference=txn.refund_reference,
        refunded_amount=txn.refunded_amount,
        refund_confirmed=txn.refund_confirmed,
        created_at=txn.created_on,
        updated_at=txn.modified_on,
        version=txn.version,
    )


def wallet_view(wallet: Wallet, *, owner: str | None = None) -> View:
    """A wallet; ``owner`` is the user's external id when the caller knows it."""
    return _view(
        id=wallet.id,
        user_id=owner,
        user_uuid=wallet.user_id,
        currency=wallet.currency,
        balance=wallet.balance,
        credited=wallet.credited,
        debited=wallet.debited,
        created_at=wallet.created_on,
        updated_at=wallet.modified_on,
        version=wallet.version,
    )


__all__ = [
    "MONEY_FIELDS",
    "Scalar",
    "View",
    "request_view",
    "scalar",
    "transaction_view",
    "user_view",
    "wallet_view",
]
