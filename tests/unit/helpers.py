"""Given events -> command -> expected events or error, for the pure domain.

``given(events)`` rebuilds an aggregate by replaying stored-looking events (``event.mutate``),
so it starts with no pending events. The ``*_history`` builders return the events that lead
to a named state, produced by the domain's own commands. ``new_events`` collects what a
command triggered; ``assert_refused`` runs a command that must raise and checks that no
aggregate triggered anything.
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.domain import ids
from ledger.domain.base import Stamp
from ledger.domain.money import Money
from ledger.domain.request import Request
from ledger.domain.transaction import FlagReason, ReleaseTrigger, TimeoutReason, Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.errors import DomainError

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AT = Stamp(business=T0, recorded=T0 + timedelta(seconds=1))
LATER = Stamp(business=T0 + timedelta(hours=1), recorded=T0 + timedelta(hours=1, seconds=1))

FAN = ids.user_id("fan-1")
CELEBRITY = ids.user_id("celebrity-1")
REQUEST_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
TXN_ID = ids.transaction_id(REQUEST_ID)
PRICE = Money(500_000, "NGN")
REFERENCE = "ref-0001"
REFUND_REFERENCE = "rfnd-0001"

Event = Any


def given(events: Sequence[Event]) -> Any:
    """The aggregate those events describe, rebuilt by replay (no pending events)."""
    assert events, "given() needs at least the created event"
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def new_events(aggregate: Any) -> list[Event]:
    """The events the last command(s) triggered on ``aggregate`` (and clear them)."""
    return list(aggregate.collect_events())


def event_types(aggregate: Any) -> list[type]:
    return [type(event) for event in new_events(aggregate)]


def assert_refused(
    command: Callable[[], object],
    *aggregates: Any,
    error: type[Exception] = DomainError,
    match: str | None = None,
) -> None:
    """``command`` raises ``error`` and none of ``aggregates`` changed or triggered an event."""
    versions = [aggregate.version for aggregate in aggregates]
    with pytest.raises(error, match=match):
        command()
    for aggregate, version in zip(aggregates, versions, strict=True):
        assert aggregate.collect_events() == [], f"{aggregate!r} triggered an event"
        assert aggregate.version == version


# -- histories ---------------------------------------------------------------------------


def _events_of(aggregate: Any) -> list[Event]:
    return list(aggregate.collect_events())


def user_history(*, role: str = "fan", verified: bool = False, external_id: str = "fan-1") -> list:
    user = User.register(external_id, role, AT)
    if verified:
        user.verify(AT)
    return _events_of(user)


def request_history(
    state: str = "PENDING", *, price: Money = PRICE, reason: str = "payment_failed"
) -> list:
    """``state`` is one of PENDING, IN_PROGRESS, COMPLETED, DECLINED."""
    request = Request.create(REQUEST_ID, FAN, CELEBRITY, price, AT)
    if state in ("IN_PROGRESS", "COMPLETED"):
        request.mark_paid(TXN_ID, AT)
    if state == "COMPLETED":
        request.complete(AT)
    if state == "DECLINED":
        request.decline(reason, AT)
    return _events_of(request)


def txn_history(state: str = "pending", *, price: Money = PRICE) -> list:
    """The events of a transaction in ``state`` (see ``live_txn``)."""
    return _events_of(live_txn(state, price=price))


def live_txn(state: str = "pending", *, price: Money = PRICE) -> Transaction:
    """A transaction driven into ``state`` by commands (its events still pending).

    ``state`` names a transaction state:

    pending, held, failed, timed_out, flagged (amount mismatch while pending),
    flagged_late (late success after failure), released, refunded (held money),
    refund_confirmed, flagged_refunded, flagged_resolved, recorded_failed.
    """
    if state == "recorded_failed":
        return Transaction.record_failed(REQUEST_ID, price, TimeoutReason.REQUEST_TIMED_OUT, AT)
    txn = Transaction.initiate(REQUEST_ID, REFERENCE, price, AT)
    if state in ("held", "released", "refunded", "refund_confirmed"):
        txn.verify(provider_status="success", provider_transaction_id="ps-1", paid_at=T0, at=AT)
    if state == "released":
        txn.release(
            wallet_id=ids.wallet_id(CELEBRITY, price.currency),
            fee=0,
            trigger=ReleaseTrigger.JOB,
            run_id="run-1",
            at=AT,
        )
    if state in ("failed", "flagged_late"):
        txn.fail(reason="failed", provider_status="failed", at=AT)
    if state == "timed_out":
        txn.time_out(TimeoutReason.UNRESOLVED, AT)
    if state in ("flagged", "flagged_refunded", "flagged_resolved"):
        txn.flag(
            FlagReason.AMOUNT_MISMATCH,
            Money(price.amount - 1, price.currency),
            provider_status="success",
            provider_transaction_id="ps-1",
            at=AT,
        )
    if state == "flagged_late":
        txn.flag(
            FlagReason.LATE_SUCCESS,
            price,
            provider_status="success",
            provider_transaction_id="ps-1",
            at=AT,
        )
    if state in ("refunded", "refund_confirmed", "flagged_refunded"):
        txn.refund(reason="celebrity_declined", refund_reference=REFUND_REFERENCE, at=AT)
    if state == "refund_confirmed":
        txn.confirm_refund(REFUND_REFERENCE, AT)
    if state == "flagged_resolved":
        txn.resolve(operator="ops", note="settled by bank transfer", at=AT)
    return txn


def wallet_history(*, balance: int = 0, currency: str = "NGN", user: uuid.UUID = CELEBRITY) -> list:
    wallet = Wallet.open(user, currency, AT)
    if balance:
        wallet.credit(Money(balance, currency), TXN_ID, AT)
    return _events_of(wallet)


__all__ = [
    "AT",
    "CELEBRITY",
    "FAN",
    "LATER",
    "PRICE",
    "REFERENCE",
    "REFUND_REFERENCE",
    "REQUEST_ID",
    "T0",
    "TXN_ID",
    "assert_refused",
    "event_types",
    "given",
    "live_txn",
    "new_events",
    "request_history",
    "txn_history",
    "user_history",
    "wallet_history",
]
