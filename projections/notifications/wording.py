"""Which events produce which messages, for whom, with which fields (see ``outbox``).

``messages(event, lookups)`` dispatches on the event's class to its handler, one per event
class (``functools.singledispatch``; ``WORDED`` looks them up for the outbox), which returns
the event's messages (none when a party cannot be found: a message is never worth stopping
the outbox for, and such an event would only come from a damaged log, which ``audit verify``
reports). Human fields are
formatted (``NGN 5,000.00``); ``data`` carries the machine form for the webhook.
"""

import functools
import logging
from collections.abc import Sequence
from typing import Any

from ledger.domain import ids
from ledger.domain.base import LedgerAggregate
from ledger.domain.money import format_major
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.wallet import Wallet
from ledger.errors import InvalidInput
from projections.dispatch import Handlers
from projections.notifications.lookups import Lookups, Row
from projections.notifications.messages import (
    FLAG_REASONS,
    OPERATORS,
    Message,
    render,
    short_id,
    when,
)

log = logging.getLogger("ledger.projections")


# RequestDeclined's reason -> the fan's template
_DECLINED = {
    "payment_failed": "payment_failed",
    "payment_timed_out": "payment_timed_out",
    "request_timed_out": "request_timed_out",
    "celebrity_declined": "request_declined",
}


def _money(amount: int, currency: str) -> str:
    """``NGN 5,000.00``; a currency the ledger does not settle (what arrived for a flagged
    payment may be one) in minor units, as it came."""
    try:
        return format_major(amount, currency)
    except InvalidInput:
        return f"{currency} {amount} (minor units)"


@functools.singledispatch
def messages(event: object, lookups: Lookups) -> Sequence[Message]:
    """The messages ``event`` produces (none for an event that has no wording)."""
    return ()


def _message(
    template: str, recipient: str, ref: str | None, fields: dict[str, str], data: dict[str, Any]
) -> Message:
    return Message(template, recipient, ref, render(template, fields), data)


def _to_user(
    lookups: Lookups,
    user_id: object,
    template: str,
    event: LedgerAggregate.Event,
    fields: dict[str, str],
    data: dict[str, Any],
) -> list[Message]:
    ref = lookups.user_ref(user_id)
    if ref is None:
        log.warning(
            "event=notification_unaddressed template=%s event_id=%s", template, event.originator_id
        )
        return []
    fields = {"date": when(event.timestamp), **fields}
    data = {"at": event.timestamp.isoformat(), **data}
    return [_message(template, str(user_id), ref, fields, data)]


def _payment(lookups: Lookups, event: LedgerAggregate.Event) -> tuple[Row, Row] | None:
    payment = lookups.get("notification_payments", event.originator_id)
    if payment is None:
        return None
    request = lookups.get("notification_requests", payment["request_id"])
    return (payment, request) if request is not None else None


def _ids(payment: Row) -> dict[str, Any]:
    return {"request_id": payment["request_id"], "reference": payment["reference"]}


@messages.register
def _payment_received(event: Transaction.PaymentVerified, lookups: Lookups) -> list[Message]:
    found = _payment(lookups, event)
    if found is None:
        return []
    payment, request = found
    amount = _money(event.amount, payment["currency"])
    fields = {
        "amount": amount,
        "reference": payment["reference"] or "-",
        "request": short_id(payment["request_id"]),
    }
    data = {"amount": event.amount, "currency": payment["currency"], **_ids(payment)}
    return _to_user(lookups, request["fan_id"], "payment_received", event, fields, data)


@messages.register
def _declined(event: Request.RequestDeclined, lookups: Lookups) -> list[Message]:
    template = _DECLINED.get(event.reason)
    request = lookups.get("notification_requests", event.originator_id)
    if template is None or request is None:
        return []
    payment = lookups.get("notification_payments", ids.transaction_id(event.originator_id))
    reference = payment["reference"] if payment is not None else None
    fields = {
        "amount": _money(request["amount"], request["currency"]),
        "reference": reference or "-",
        "request": short_id(event.originator_id),
    }
    data = {
        "amount": request["amount"],
        "currency": request["currency"],
        "request_id": str(event.originator_id),
        "reference": reference,
        "reason": event.reason,
    }
    return _to_user(lookups, request["fan_id"], template, event, fields, data)


@messages.register
def _released(event: Transaction.EscrowReleased, lookups: Lookups) -> list[Message]:
    found = _payment(lookups, event)
    if found is None:
        return []
    payment, request = found
    currency, payout = payment["currency"], event.amount - event.fee
    fields = {
        "amount": _money(event.amount, currency),
        "fee": _money(event.fee, currency),
        "payout": _money(payout, currency),
        "request": short_id(payment["request_id"]),
    }
    data = {
        "amount": event.amount,
        "fee": event.fee,
        "payout": payout,
        "currency": currency,
        "request_id": payment["request_id"],
    }
    return _to_user(lookups, request["celebrity_id"], "escrow_released", event, fields, data)


def _refund(
    event: Transaction.EscrowRefunded | Transaction.RefundConfirmed, lookups: Lookups, template: str
) -> list[Message]:
    found = _payment(lookups, event)
    if found is None or found[0]["refund_amount"] is None:
        return []
    payment, request = found
    amount, currency = int(payment["refund_amount"]), payment["refund_currency"]
    fields = {
        "amount": _money(amount, currency),
        "refund_reference": event.refund_reference,
        "request": short_id(payment["request_id"]),
    }
    data = {
        "amount": amount,
        "currency": currency,
        "refund_reference": event.refund_reference,
        **_ids(payment),
    }
    return _to_user(lookups, request["fan_id"], template, event, fields, data)


@messages.register
def _refund_issued(event: Transaction.EscrowRefunded, lookups: Lookups) -> list[Message]:
    return _refund(event, lookups, "refund_issued")


@messages.register
def _refund_confirmed(event: Transaction.RefundConfirmed, lookups: Lookups) -> list[Message]:
    return _refund(event, lookups, "refund_confirmed")


@messages.register
def _flagged(event: Transaction.PaymentFlagged, lookups: Lookups) -> list[Message]:
    found = _payment(lookups, event)
    if found is None:
        return []
    payment = found[0]
    fields = {
        "reason": event.reason,
        "reason_text": FLAG_REASONS.get(event.reason, event.reason),
        "transaction": str(event.originator_id),
        "request_id": str(payment["request_id"]),
        "reference": payment["reference"] or "-",
        "expected": _money(payment["amount"], payment["currency"]),
        "received": _money(event.amount, event.currency),
        "date": when(event.timestamp),
    }
    data = {
        "reason": event.reason,
        "transaction_id": str(event.originator_id),
        "expected_amount": payment["amount"],
        "expected_currency": payment["currency"],
        "amount": event.amount,
        "currency": event.currency,
        "at": event.timestamp.isoformat(),
        **_ids(payment),
    }
    return [_message("payment_flagged", OPERATORS, None, fields, data)]


@messages.register
def _wallet_created(event: Wallet.WalletCreated, lookups: Lookups) -> list[Message]:
    fields = {"currency": event.currency}
    data = {"currency": event.currency}
    return _to_user(lookups, event.user_id, "wallet_created", event, fields, data)


WORDED: Handlers[Sequence[Message]] = Handlers(messages)

__all__ = ["WORDED", "messages"]
