"""``ledger audit history | verify | seal`` in process (click's ``CliRunner``), on SQLite and
PostgreSQL: exit 0 when everything agrees, 1 listing every difference, 2 for bad input (one
``error:`` line on stderr, nothing on stdout)."""

import json
import os
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from click.testing import CliRunner
from click.testing import Result as CliResult

from ledger.application import Ledger
from ledger.clock import FixedClock
from projections.cli_audit import audit
from projections.wiring import read_side


@pytest.fixture(autouse=True)
def no_stray_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No .env file and no settings from the developer's shell."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("LEDGER_", "PAYSTACK_", "FLUTTERWAVE_")) and name != (
            "LEDGER_TEST_DATABASE_URL"
        ):
            monkeypatch.delenv(name)


def run(ledger: Ledger, *args: str) -> CliResult:
    s = ledger.settings
    env = {"LEDGER_DATABASE_URL": s.database_url, "LEDGER_POSTGRES_SCHEMA": s.postgres_schema}
    return CliRunner(env=env).invoke(audit, list(args))


def ok(ledger: Ledger, *args: str) -> CliResult:
    result = run(ledger, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result


def as_json(ledger: Ledger, *args: str) -> Any:
    return json.loads(ok(ledger, *args, "--format", "json").stdout)


def refused(result: CliResult, mentions: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert mentions in lines[0]


def paid(ledger: Ledger) -> UUID:
    ledger.register_user("fan-1", "fan")
    ledger.register_user("star-1", "celebrity", verified=True)
    ledger.create_wallet("star-1", "NGN")
    request = ledger.create_request("fan-1", "star-1", 500_000, "NGN")
    txn = ledger.record_payment(request.id, "ref-1")
    ledger.admin_mark_paid(txn.id, operator="ops-alice", reason="bank statement")
    return txn.id


def test_seal_then_verify_with_the_seal_exits_0(ledger: Ledger) -> None:
    paid(ledger)
    sealed = as_json(ledger, "seal")
    assert sealed["position"] == ledger.recorder.max_notification_id()
    assert sealed["seal"] == f"{sealed['position']}:{sealed['hash']}"
    assert sealed["hash"] in ok(ledger, "seal").stdout
    result = ok(ledger, "verify", "--seal", sealed["seal"])
    assert "OK: everything agrees" in result.stdout
    assert "wallet_transactions 1" in result.stdout
    assert "currencies: NGN" in result.stdout
    report = as_json(ledger, "verify", "--seal", sealed["seal"])
    assert report["ok"] is True
    assert report["seal"]["ok"] is True
    assert report["events_replayed"] == sealed["position"]


def test_verify_exits_1_listing_a_manually_updated_row(ledger: Ledger) -> None:
    txn = paid(ledger)
    with read_side(ledger=ledger, catch_up=True) as side:
        side.db.execute("UPDATE wallet_transactions SET amount = 1 WHERE id = %s", [str(txn)])
    result = run(ledger, "verify")
    assert result.exit_code == 1, result.output
    assert result.stderr == ""
    line = next(x for x in result.stdout.splitlines() if x.startswith("wallet_transactions"))
    assert line.split() == ["wallet_transactions", f"id={txn}", "amount", "1", "500000"]
    assert "FAILED" in result.stdout
    report = json.loads(run(ledger, "verify", "--format", "json").stdout)
    assert report["ok"] is False
    assert {"table": "wallet_transactions", "key": f"id={txn}", "column": "amount",
            "live": "1", "replayed": "500000"} in report["differences"]  # fmt: skip


def test_verify_with_the_seal_of_a_changed_log_exits_1_naming_the_position(
    ledger: Ledger,
) -> None:
    paid(ledger)
    sealed = as_json(ledger, "seal")["seal"]
    with read_side(ledger=ledger) as side:
        side.db.execute(f"DELETE FROM {_events_table(ledger)} WHERE {_position(ledger)} = 3")
    result = run(ledger, "verify", "--seal", sealed)
    assert result.exit_code == 1, result.output
    assert "position 3: the stored event was deleted" in result.stdout


def _events_table(ledger: Ledger) -> str:
    return str(ledger.recorder.events_table_name)


def _position(ledger: Ledger) -> str:
    return "notification_id" if ledger.settings.database_url.startswith("postgres") else "rowid"


def test_history_prints_the_timeline_and_the_state_as_of_a_time(
    ledger: Ledger, clock: FixedClock
) -> None:
    start = clock()
    txn = paid(ledger)
    table = ok(ledger, "history", str(txn)).stdout
    assert "Transaction" in table
    assert "PaymentVerified" in table
    assert "ops-alice" in table
    assert "bank statement" in table
    view = as_json(ledger, "history", str(txn), "--as-of", start.isoformat())
    assert [e["event"] for e in view["events"]] == ["PaymentInitiated", "PaymentVerified"]
    assert view["events"][1]["operator"] == "ops-alice"
    assert view["state"]["status"] == "COMPLETED"
    earlier = as_json(ledger, "history", str(txn), "--as-of", "2020-01-01T00:00:00Z")
    assert earlier["state"] is None
    assert (
        "did not exist yet"
        in ok(ledger, "history", str(txn), "--as-of", "2020-01-01T00:00Z").stdout
    )


def test_bad_input_exits_2_with_one_line_on_stderr(ledger: Ledger) -> None:
    txn = str(paid(ledger))
    refused(run(ledger, "history", "not-a-uuid"), "no aggregate with id")
    refused(run(ledger, "history", str(uuid4())), "no aggregate with id")
    refused(run(ledger, "history", txn, "--as-of", "yesterday"), "invalid --as-of")
    refused(run(ledger, "history", txn, "--as-of", "2026-01-05T10:00:00"), "no UTC offset")
    refused(run(ledger, "verify", "--seal", "12:nothex"), "malformed seal")
    refused(run(ledger, "verify", "--format", "xml"), "Invalid value for '--format'")
