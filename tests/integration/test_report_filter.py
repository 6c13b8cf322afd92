"""One ``ReportFilter`` carries a report's filters from the CLI's options or the API's query
to the query: built and checked once, the same from both faces."""

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ledger.cli.main import LedgerGroup
from ledger.errors import InvalidInput
from projections import queries
from projections.cli_report import report
from projections.report_filter import ReportFilter
from tests.api_support import Api

LAGOS = timezone(timedelta(hours=1))


@click.group(cls=LedgerGroup)
def root() -> None:
    """Stands in for ``ledger``."""


root.add_command(report)


def test_a_filter_holds_its_window_in_utc_and_refuses_what_no_report_could_mean() -> None:
    since = datetime(2026, 1, 5, 11, 0, tzinfo=LAGOS)
    built = ReportFilter(currency="NGN", since=since, celebrity="star-1")
    assert built.since == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert built.since.tzinfo is UTC
    assert built.celebrity_id is not None
    assert ReportFilter(currency="ngn", status="completed").currency == "NGN"
    assert ReportFilter(status="completed", escrow_status="pending").status == "COMPLETED"
    for bad, message in [
        ({"currency": "eur"}, "unsupported currency"),
        ({"fan": "bad id!"}, "invalid user id"),
        ({"reference": "a b"}, "invalid payment reference"),
        ({"since": datetime(2026, 1, 5)}, "no UTC offset"),
        ({"since": since, "until": since}, "must be before until"),
        ({"celebrity": "not valid!"}, "invalid user id"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            ReportFilter(**bad)


def test_a_report_refuses_a_filter_it_does_not_take() -> None:
    with pytest.raises(InvalidInput, match="the wallets report has no status filter"):
        ReportFilter(status="FAILED").refuse_all_but("wallets")
    with pytest.raises(InvalidInput, match="the escrow report has no escrow_status filter"):
        ReportFilter(escrow_status="PENDING").refuse_all_but("escrow", "status")
    ReportFilter(status="FAILED", escrow_status="PENDING").refuse_all_but(
        "payments", "status", "escrow_status"
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_cli_and_the_api_hand_the_report_the_same_filter(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[ReportFilter] = []

    def payments_report(db: Any, filters: ReportFilter, **_page: Any) -> list[Any]:
        seen.append(filters)
        return []

    monkeypatch.setattr(queries, "payments_report", payments_report)
    given = {
        "currency": "NGN",
        "since": "2026-01-05T11:00:00+01:00",
        "until": "2026-01-06T00:00:00Z",
        "celebrity": "star-1",
        "status": "FAILED",
        "escrow_status": "CANCELLED",
    }
    assert api.ok("GET", "/reports/payments", params=given)["items"] == []

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("LEDGER_", "PAYSTACK_")) and name != "LEDGER_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    url = api.app.state.runtime.services().ledger.settings.database_url
    options = [part for name, value in given.items() for part in (f"--{name}", value)]
    options = [o.replace("_", "-") if o.startswith("--") else o for o in options]
    result = CliRunner(env={"LEDGER_DATABASE_URL": url}).invoke(
        root, ["report", "payments", *options, "--format", "json"]
    )
    assert result.exit_code == 0, result.output

    expected = ReportFilter(
        currency="NGN",
        since=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        until=datetime(2026, 1, 6, 0, 0, tzinfo=UTC),
        celebrity="star-1",
        status="FAILED",
        escrow_status="CANCELLED",
    )
    assert seen == [expected, expected]
