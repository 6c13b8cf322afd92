"""The history of one aggregate: every event it recorded, and its state as of a time.

Each entry of the timeline gives the event type, its business time (``timestamp``), the time
the ledger recorded it (``recorded_at``), its version and every field it carries in the
machine format (minor units, ISO 8601 times, ids as text), with ``operator`` and
``reason``/``note`` lifted out where the event has them. The state as of ``T`` replays the
aggregate's events up to the last one whose business time is at or before ``T`` (business
time only moves forward within an aggregate); it is None when the aggregate did not exist yet.

It reads the event store, never the read tables, so it shows what happened even when a read
table is wrong. What it deliberately does not do: show other aggregates' events (a release
also credits a wallet: look at the wallet's history too).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEventProtocol

from ledger.application import Ledger
from ledger.domain.base import LedgerAggregate
from ledger.domain.reference import PaymentReference
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.errors import NotFound
from ledger.views import Scalar, View, request_view, transaction_view, user_view, wallet_view

_STANDARD = frozenset(
    {"originator_id", "originator_version", "timestamp", "recorded_at", "originator_topic"}
)


@dataclass(frozen=True)
class Entry:
    """One event of the timeline."""

    version: int
    event: str
    timestamp: datetime
    recorded_at: datetime | None
    operator: str | None
    reason: str | None
    note: str | None
    fields: View

    def view(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "event": self.event,
            "timestamp": self.timestamp.isoformat(),
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
            "operator": self.operator,
            "reason": self.reason,
            "note": self.note,
            "fields": dict(self.fields),
        }


@dataclass(frozen=True)
class History:
    """An aggregate's timeline and its state as of ``as_of`` (now, when None)."""

    aggregate_id: UUID
    aggregate_type: str
    as_of: datetime | None
    timeline: list[Entry]
    state: View | None

    def __iter__(self) -> Iterator[Any]:  # ``timeline, state = history(...)``
        return iter((self.timeline, self.state))

    def view(self) -> dict[str, Any]:
        return {
            "id": str(self.aggregate_id),
            "type": self.aggregate_type,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "events": [entry.view() for entry in self.timeline],
            "state": self.state,
        }


def _machine(value: object) -> Scalar:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return str(value)


def _entry(event: DomainEventProtocol[Any]) -> Entry:
    assert isinstance(event, LedgerAggregate.Event), type(event)  # all of this ledger's are
    fields = {name: _machine(value) for name, value in vars(event).items() if name not in _STANDARD}
    text = {name: fields.get(name) for name in ("operator", "reason", "note")}
    return Entry(
        version=int(event.originator_version),
        event=type(event).__name__,
        timestamp=event.timestamp,
        recorded_at=getattr(event, "recorded_at", None),
        operator=str(text["operator"]) if text["operator"] is not None else None,
        reason=str(text["reason"]) if text["reason"] is not None else None,
        note=str(text["note"]) if text["note"] is not None else None,
        fields=fields,
    )


def state_view(aggregate: object) -> View:
    """An aggregate's state in the machine format (the views the CLI shows)."""
    if isinstance(aggregate, Transaction):
        return transaction_view(aggregate)
    if isinstance(aggregate, Request):
        return request_view(aggregate)
    if isinstance(aggregate, Wallet):
        return wallet_view(aggregate)
    if isinstance(aggregate, User):
        return user_view(aggregate)
    if isinstance(aggregate, PaymentReference):
        return {
            "id": str(aggregate.id),
            "reference": aggregate.reference,
            "transaction_id": str(aggregate.transaction_id),
            "version": aggregate.version,
        }
    return {
        name.lstrip("_"): _machine(value)
        for name, value in vars(aggregate).items()
        if not name.startswith("_pending")
    }


def _type_name(event: object) -> str:
    qualname = type(event).__qualname__
    return qualname.split(".")[0] if "." in qualname else qualname


def history(ledger: Ledger, aggregate_id: UUID, as_of: datetime | None = None) -> History:
    """Every event of ``aggregate_id`` and its state as of ``as_of`` (business time; the
    latest state when None). Raises ``NotFound`` for an id the store has never seen."""
    events = list(ledger.events.get(aggregate_id))
    if not events:
        raise NotFound(f"no aggregate with id {aggregate_id}")
    timeline = [_entry(event) for event in events]
    version = len(events)
    if as_of is not None:
        version = 0
        for entry in timeline:
            if entry.timestamp > as_of:
                break
            version = entry.version
    state: View | None = None
    if version:
        try:
            aggregate: object = ledger.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:  # pragma: no cover - the events were just read
            raise NotFound(f"no aggregate with id {aggregate_id}") from None
        state = state_view(aggregate)
    return History(aggregate_id, _type_name(events[0]), as_of, timeline, state)


__all__ = ["Entry", "History", "history", "state_view"]
