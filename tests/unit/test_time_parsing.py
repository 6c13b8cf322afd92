"""One parser for every duration and time filter people type (``ledger.clock``)."""

from datetime import UTC, datetime, timedelta

import pytest

from ledger.clock import parse_duration, parse_time
from ledger.config import load_settings
from ledger.errors import InvalidInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        ("3600", timedelta(seconds=3600)),
        ("PT24H", timedelta(hours=24)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        (" 24H ", timedelta(hours=24)),
    ],
)
def test_a_duration_is_read_in_every_spelling(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "24x", "-1h", "1.5h", "P", "PT", "yesterday"])
def test_a_malformed_duration_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="invalid duration"):
        parse_duration(text)


def test_a_time_filter_is_iso_8601_or_a_duration_ago() -> None:
    assert parse_time("24h", now=NOW) == NOW - timedelta(hours=24)
    assert parse_time("P7D", now=NOW) == NOW - timedelta(days=7)
    assert parse_time("2026-01-31T10:00:00Z", now=NOW) == datetime(2026, 1, 31, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="invalid --since '2026'"):
        parse_time("2026", now=NOW, what="--since")  # a bare number is not seconds here
    with pytest.raises(InvalidInput, match="has no UTC offset"):
        parse_time("2026-01-31T10:00:00", now=NOW)


def test_settings_read_durations_with_the_same_parser() -> None:
    settings = load_settings(LEDGER_PAYMENT_VERIFY_AFTER="2w", LEDGER_REQUEST_TIMEOUT="P2D")
    assert settings.payment_verify_after == timedelta(weeks=2)
    assert settings.request_timeout == timedelta(days=2)
