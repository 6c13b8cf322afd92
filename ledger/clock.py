"""Clocks, and the one parser of times and durations people type.

Business time is injected everywhere; nothing in the domain reads the wall.
``SystemClock`` reads the wall (UTC). ``FixedClock`` is a settable business clock for jobs run
with ``--now`` and for tests; ``advance`` moves it forward.

``parse_duration`` reads every duration (settings, ``--older-than``): ``90s``, ``90m``,
``24h``, ``7d``, ``2w``, plain seconds (``3600``) or ISO 8601 (``PT24H``, ``P7D``).
``parse_time`` reads every time filter (``--since``, ``--until``, ``--as-of``, the API's):
an ISO 8601 time with its offset, or a duration with a unit meaning that long before ``now``
(``--since 24h``). ``parse_instant`` takes only the ISO 8601 form (``--now``).
"""

import re
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


_UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SHORT = re.compile(r"(\d{1,9})\s*([smhdw]?)")
_ISO = re.compile(
    r"P(?:(?P<w>\d{1,9})W)?(?:(?P<d>\d{1,9})D)?"
    r"(?:T(?=\d)(?:(?P<h>\d{1,9})H)?(?:(?P<m>\d{1,9})M)?(?:(?P<s>\d{1,9})S)?)?"
)
DURATION_HINT = "a duration such as 90m, 24h, 7d or PT24H"


def parse_duration(text: str, *, unit_required: bool = False) -> timedelta:
    """A non-negative duration (see the module docstring); ``InvalidInput`` otherwise.
    ``unit_required``: refuse plain numbers (a time filter's ``2026`` is not 2026 seconds)."""
    value = text.strip()
    short = _SHORT.fullmatch(value.lower())
    if short is not None and (short.group(2) or not unit_required):
        return timedelta(**{_UNITS[short.group(2)]: int(short.group(1))})
    iso = _ISO.fullmatch(value.upper())
    if iso is not None and value.upper() not in ("P", "PT"):
        parts = {k: int(v) for k, v in iso.groupdict().items() if v is not None}
        return timedelta(
            weeks=parts.get("w", 0),
            days=parts.get("d", 0),
            hours=parts.get("h", 0),
            minutes=parts.get("m", 0),
            seconds=parts.get("s", 0),
        )
    raise InvalidInput(f"invalid duration {text!r}: expected {DURATION_HINT}")


def parse_time(text: str, *, now: datetime, what: str = "time") -> datetime:
    """A time filter: ISO 8601 with an offset, or a duration with a unit ago from ``now``
    (``24h`` is ``now - 24 hours``). ``InvalidInput`` naming ``what`` otherwise."""
    value = text.strip()
    try:
        return now - parse_duration(value, unit_required=True)
    except InvalidInput:
        pass
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"invalid {what} {text!r}: expected ISO 8601 with an offset "
            "(2026-01-31T10:00:00+00:00) or a duration ago (24h, 7d, 90m)"
        ) from None
    if at.tzinfo is None:
        raise InvalidInput(
            f"{what} {text!r} has no UTC offset: add one (e.g. +00:00), or give a duration ago"
        )
    return at


__all__ = [
    "DURATION_HINT",
    "Clock",
    "FixedClock",
    "parse_duration",
    "parse_instant",
    "parse_time",
    "system_clock",
]
