"""Clocks. Business time is injected everywhere; nothing in the domain reads the wall.

``SystemClock`` reads the wall (UTC). ``FixedClock`` is a settable business clock for jobs run
with ``--now`` and for tests; ``advance`` moves it forward.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ledger.errors import InvalidInput

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(UTC)  # noqa: TID251 - the one place that reads wall time


class FixedClock:
    """A business clock that stays where it is set."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise InvalidInput("a clock needs a timezone-aware time")
        self._at = at

    def __call__(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise InvalidInput("a clock needs a timezone-aware time")
        self._at = at

    def advance(self, delta: timedelta) -> datetime:
        self._at += delta
        return self._at


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without offset is refused (ambiguous for money)."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"invalid time {text!r}: expected ISO 8601, e.g. 2026-01-31T10:00:00+00:00"
        ) from None
    if at.tzinfo is None:
        raise InvalidInput(f"time {text!r} has no UTC offset: add one, e.g. +00:00")
    return at


__all__ = ["Clock", "FixedClock", "parse_instant", "system_clock"]
