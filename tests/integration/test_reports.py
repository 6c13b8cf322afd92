"""``ledger report ...`` through click's CliRunner on SQLite and PostgreSQL: the three formats,
the filters, and bad input refused with one ``error:`` line and exit 2.

The history is written by a ledger and never projected by the test: each report catches the
read tables up itself before reading. The command group is mounted under a root of the main
CLI's class (``LedgerGroup``), which maps errors to exit codes as ``ledger`` does."""

import csv
import io
import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from click.testing import Result as CliResult

from ledger.application import Ledger
from ledger.cli.main import LedgerGroup
from ledger.clock import FixedClock
from projections.cli_report import report
from tests.conftest import T0
from tests.integration.test_queries import H, build_history


@click.group(cls=LedgerGroup)
def root() -> None:
    """Stands in for ``ledger`` (which loads ``report`` through its entry point)."""


root.add_command(report)

Run = Callable[..., CliResult]


@pytest.fixture
def run(
    make_ledger: Callable[..., Ledger],
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    """Write the known history, then return a runner of ``ledger report ...`` on its store."""
    monkeypatch.chdir(tmp_path)  # no .env file from elsewhere
    for name in list(os.environ):
        if name.startswith(("LEDGER_", "PAYSTACK_")) and name != "LEDGER_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    ledger = make_ledger(LEDGER_PLATFORM_FEE_BPS="250")
    build_history(ledger, clock)
    env = {"LEDGER_DATABASE_URL": ledger.settings.database_url}
    if ledger.settings.database_url.startswith("postgres"):
        env["LEDGER_POSTGRES_SCHEMA"] = ledger.settings.postgres_schema

    def invoke(*args: str) -> CliResult:
        return CliRunner(env=env).invoke(root, ["report", *args])

    return invoke


def ok(run: Run, *args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (args, result.output)
    assert result.stderr == ""
    return result.stdout


def as_json(run: Run, *args: str) -> Any:
    return json.loads(ok(run, *args, "--format", "json"))


def as_csv(run: Run, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(ok(run, *args, "--format", "csv"))))


def test_summary_json_shows_the_released_and_held_money_per_currency(run: Run) -> None:
    ghs, ngn = as_json(run, "summary")
    assert ngn["currency"] == "NGN"
    assert (ngn["released"], ngn["platform_fees"], ngn["held"], ngn["refunded"]) == (
        200_000,
        5_000,
        500_000,
        60_000,
    )
    assert ngn["payments_by_status"] == {"PENDING": 2, "COMPLETED": 3, "FAILED": 1}
    assert ngn["requests_by_status"]["DECLINED"] == 2
    assert datetime.fromisoformat(ngn["oldest_held_at"]) == T0 + H
    assert isinstance(ngn["oldest_held_age_seconds"], int)
    assert (ghs["currency"], ghs["held"]) == ("GHS", 300_000)


def test_summary_table_has_a_column_per_currency_in_major_units(run: Run) -> None:
    out = ok(run, "summary")
    assert out.splitlines()[0].split() == ["figure", "GHS", "NGN"]
    released = next(line for line in out.splitlines() if line.startswith("released"))
    assert "NGN 2,000.00" in released
    assert "GHS 0.00" in released


def test_summary_csv_flattens_the_counts_under_a_header(run: Run) -> None:
    (ngn,) = as_csv(run, "summary", "--currency", "NGN")
    assert (ngn["currency"], ngn["released"], ngn["payments_failed"]) == ("NGN", "200000", "1")
    assert ngn["requests_in_progress"] == "0"


def test_escrow_json_carries_minor_units_string_ids_and_times_with_offset(run: Run) -> None:
    ghs, done = as_json(run, "escrow")  # newest first
    assert [r["id"] for r in as_json(run, "escrow", "--oldest-first")] == [done["id"], ghs["id"]]
    assert (done["amount"], done["currency"], done["request_status"]) == (
        500_000,
        "NGN",
        "COMPLETED",
    )
    assert isinstance(done["id"], str)
    assert done["created_at"] == (T0 + H).isoformat()
    assert datetime.fromisoformat(done["created_at"]).utcoffset() is not None
    assert isinstance(done["age_seconds"], int)
    assert ghs["currency"] == "GHS"


def test_escrow_table_shows_major_units_and_the_age(run: Run) -> None:
    out = ok(run, "escrow", "--currency", "NGN")
    header, _, row = out.splitlines()
    assert header.split() == [
        "id",
        "amount",
        "request_status",
        "celebrity",
        "fan",
        "created_at",
        "age",
    ]
    assert "NGN 5,000.00" in row
    assert "star-1" in row
    assert "d " in row  # e.g. "327d 04h 10m"


def test_escrow_filters_by_request_status_and_celebrity(run: Run) -> None:
    assert [r["currency"] for r in as_json(run, "escrow", "--status", "IN_PROGRESS")] == ["GHS"]
    assert as_json(run, "escrow", "--celebrity", "star-3") == []


def test_payments_csv_has_a_header_and_minor_units(run: Run) -> None:
    rows = as_csv(run, "payments")
    assert len(rows) == 7
    assert {"id", "amount", "currency", "status", "escrow_status", "created_at"} <= set(rows[0])
    released = rows[-1]  # the oldest, last: lists are newest first
    assert (released["amount"], released["fee"], released["payout"]) == ("200000", "5000", "195000")
    assert released["needs_review"] == "false"


def test_payments_filters_by_status_escrow_status_currency_and_window(run: Run) -> None:
    (failed,) = as_json(run, "payments", "--status", "FAILED")
    assert (failed["status"], failed["escrow_status"], failed["fan"]) == (
        "FAILED",
        "CANCELLED",
        "fan-2",
    )
    (refunded,) = as_json(run, "payments", "--escrow-status", "REFUNDED")
    assert refunded["amount"] == 60_000
    window = as_json(
        run,
        "payments",
        "--since",
        (T0 + 3 * H).isoformat(),
        "--until",
        (T0 + 5 * H).isoformat().replace("+00:00", "Z"),
        "--currency",
        "NGN",
    )
    assert [p["amount"] for p in window] == [7_000, 1_000]


def test_limit_caps_the_rows(run: Run) -> None:
    assert len(as_json(run, "payments", "--limit", "2")) == 2
    assert len(as_csv(run, "payments", "--limit", "3")) == 3


def test_review_lists_the_flagged_payment_with_what_arrived(run: Run) -> None:
    (item,) = as_json(run, "review")
    assert (item["flag_reason"], item["amount"], item["flagged_amount"]) == (
        "amount_mismatch",
        1_000,
        900,
    )
    assert "NGN 9.00" in ok(run, "review")


def test_wallets_in_every_format(run: Run) -> None:
    wallets = {w["owner"]: w for w in as_json(run, "wallets")}
    assert (wallets["star-1"]["balance"], wallets["star-1"]["currency"]) == (195_000, "NGN")
    assert "NGN 1,950.00" in ok(run, "wallets", "--celebrity", "star-1")
    (ghs,) = as_csv(run, "wallets", "--currency", "GHS")
    assert (ghs["owner"], ghs["balance"]) == ("star-2", "0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("payments", "--currency", "EUR"), "unsupported currency"),
        (("payments", "--status", "DONE"), "unknown payment status"),
        (("escrow", "--since", "2026-01-01T00:00:00"), "no UTC offset"),
        (("wallets", "--until", "yesterday"), "invalid --until"),
        (("summary", "--celebrity", "not valid!"), "invalid user id"),
        (("review", "--format", "xml"), "xml"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(
    run: Run, args: tuple[str, ...], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
