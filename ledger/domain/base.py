"""What every aggregate and event of the ledger shares.

Every event carries two times: ``timestamp``, the *business* time at which it happened (from
the injected business clock, which jobs can set with ``--now``), and ``recorded_at``, the wall
time at which the ledger recorded it. The domain reads neither clock itself: callers pass a
``Stamp``. Events carry a ``class_version``; a changed event class raises it and gains an
``upcast_vN_vN+1`` static method (see docs/events.md).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Stamp:
    """When a command happens: business time and wall (recording) time, both tz-aware."""

    business: datetime
    recorded: datetime

    def __post_init__(self) -> None:
        for name in ("business", "recorded"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise InvalidInput(f"{name} time must be a timezone-aware datetime")


class LedgerAggregate(Aggregate):
    """Base aggregate: events stamped with business and recording time."""

    class Event(Aggregate.Event):
        class_version: ClassVar[int] = 1
        recorded_at: datetime

    class Created(Event, Aggregate.Created):
        pass

    def _trigger(self, event_class: type[Any], at: Stamp, **fields: Any) -> None:
        """Trigger ``event_class`` at business time ``at``."""
        self.trigger_event(event_class, timestamp=at.business, recorded_at=at.recorded, **fields)


__all__ = ["LedgerAggregate", "Stamp"]
