"""One log format: every record is one strict logfmt line (or one JSON object) that starts with
``ts`` (UTC, milliseconds) and ``level``; the message's own ``key=value`` pairs are kept;
free text, tracebacks and awkward values still make one parseable line; library loggers are
held at their levels (httpx's request lines, which carry query strings, never reach info)."""

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given
from hypothesis import strategies as st

from ledger.logs import (
    LIBRARY_LEVELS,
    LineFormatter,
    configure_logging,
    message_pairs,
    parse_logfmt,
    quote,
)

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def record(message: str, *args: object, level: int = logging.INFO, **extra: object) -> str:
    rec = logging.LogRecord("ledger.jobs", level, __file__, 1, message, args, None)
    rec.__dict__.update(extra)
    return LineFormatter().format(rec)


def test_a_line_starts_with_ts_and_level_then_the_logger_and_the_message_pairs() -> None:
    line = record("event=job_finished job=%s status=ok duration_ms=%d", "create_wallets", 12)
    assert line.startswith("ts=")
    fields = parse_logfmt(line)
    assert list(fields)[:3] == ["ts", "level", "logger"]
    assert TS.fullmatch(fields["ts"])
    assert fields["level"] == "info"
    assert fields["event"] == "job_finished"
    assert fields["job"] == "create_wallets"
    assert fields["duration_ms"] == "12"


def test_values_with_spaces_quotes_and_equals_signs_are_quoted_and_read_back() -> None:
    line = record('event=x reason="user u has no NGN wallet" path=/reports?currency=NGN')
    fields = parse_logfmt(line)
    assert fields["reason"] == "user u has no NGN wallet"
    assert fields["path"] == "/reports?currency=NGN"
    assert 'path="/reports?currency=NGN"' in line


def test_words_after_a_value_belong_to_it() -> None:
    line = record("event=webhooks_unconfigured detail=no PAYSTACK_SECRET_KEY: webhooks get 401")
    assert parse_logfmt(line)["detail"] == "no PAYSTACK_SECRET_KEY: webhooks get 401"


def test_free_text_becomes_msg() -> None:
    fields = parse_logfmt(record("Started server process [%d]", 42))
    assert fields["msg"] == "Started server process [42]"


def test_a_traceback_is_one_escaped_value_on_the_same_line() -> None:
    try:
        raise ValueError('bad "thing"\nsecond line')
    except ValueError:
        rec = logging.LogRecord(
            "ledger.jobs", logging.ERROR, __file__, 1, "event=job_crashed", (), sys.exc_info()
        )
    line = LineFormatter().format(rec)
    assert "\n" not in line
    fields = parse_logfmt(line)
    assert fields["level"] == "error"
    assert fields["exc"].startswith("Traceback")
    assert 'ValueError: bad "thing"\nsecond line' in fields["exc"]


def test_a_message_cannot_override_ts_level_or_logger() -> None:
    fields = parse_logfmt(record("level=debug ts=yesterday event=x"))
    assert fields["level"] == "info"
    assert TS.fullmatch(fields["ts"])
    assert fields["_level"] == "debug"


def test_json_lines_carry_the_same_fields_in_the_same_order() -> None:
    rec = logging.LogRecord(
        "ledger.api", logging.WARNING, __file__, 1, 'event=x detail="a b"', (), None
    )
    line = LineFormatter("json").format(rec)
    data = json.loads(line)
    assert list(data)[:3] == ["ts", "level", "logger"]
    assert (data["level"], data["event"], data["detail"]) == ("warning", "x", "a b")


@given(st.text())
def test_any_value_survives_quoting(value: str) -> None:
    assert parse_logfmt(f"k={quote(value)}") == {"k": value}


@given(st.text(max_size=200))
def test_any_message_makes_one_parseable_line(message: str) -> None:
    line = record(message)  # no args: the message is taken as it is
    fields = parse_logfmt(line)
    assert fields["level"] == "info"
    assert message_pairs(message) is not None or fields["msg"] == message


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without pytest's handlers for the block, restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LEVELS}
    root.handlers.clear()
    try:
        yield root
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_configure_logging_writes_our_lines_and_holds_httpx_at_warning() -> None:
    out = io.StringIO()
    with bare_root() as root:
        configure_logging("info", "logfmt", stream=out)
        httpx_log = logging.getLogger("httpx")
        httpx_log.info('HTTP Request: GET https://api/transaction/verify/ref-1 "200"')
        logging.getLogger("ledger.jobs").debug("event=job_started job=send_notifications")
        logging.getLogger("ledger.jobs").info("event=job_finished job=check_pending_payments")
        lines = out.getvalue().splitlines()
        assert len(lines) == 1, lines
        assert parse_logfmt(lines[0])["job"] == "check_pending_payments"
        configure_logging("debug", "json", stream=out)  # a second call replaces the handler
        logging.getLogger("ledger.jobs").debug("event=job_started job=send_notifications")
        assert json.loads(out.getvalue().splitlines()[-1])["event"] == "job_started"
        assert len(root.handlers) == 1


def test_configure_logging_leaves_someone_elses_handlers_alone() -> None:
    with bare_root() as root:
        theirs = logging.StreamHandler(io.StringIO())
        root.addHandler(theirs)
        configure_logging("debug", "logfmt", stream=io.StringIO())
        assert root.handlers == [theirs]
        assert logging.getLogger("httpx").level == logging.WARNING
