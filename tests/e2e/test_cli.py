"""The ``ledger`` command line, in process with click's ``CliRunner``: the issue's acceptance
walk-through on SQLite and PostgreSQL, "already done" commands, output formats, the admin
operator, help on every level and the demo. Failures: ``test_cli_errors``; the installed
script in a real process: ``test_cli_script``.
"""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.cli import cli
from tests.e2e.cli_support import (
    CREATE,
    SECRET,
    Seeded,
    Store,
    assert_refused,
    is_iso_with_offset,
    isolated_env,
    released_payment,
    seed,
    seeded,
    sqlite_store,
    store,
    use_provider,
)
from tests.fakes import FakeProvider

__all__ = ["isolated_env", "seeded", "sqlite_store", "store"]  # fixtures used by name


# -- the acceptance walk-through of the issue ---------------------------------------------


def test_acceptance_walkthrough_releases_once_and_refuses_refund(store: Store) -> None:
    store.ok("users", "register", "fan-1", "--role", "fan")
    store.ok("users", "register", "celeb-1", "--role", "celebrity")
    store.ok("users", "verify", "celeb-1")
    store.ok("wallets", "create", "celeb-1", "--currency", "NGN")
    created = store.json(
        "requests", "create", "--fan", "fan-1", "--celebrity", "celeb-1",
        "--amount", "500000", "--currency", "NGN",
    )  # fmt: skip
    request_id = created["id"]
    txn_id = store.json("payments", "record", request_id, "--reference", "ref-1")["id"]
    store.ok("admin", "mark-paid", txn_id, "--reason", "bank statement 2026-01-05")
    store.ok("requests", "complete", request_id)
    released = store.ok("admin", "release", txn_id, "--reason", "celebrity delivered")
    assert "released NGN 5,000.00" in released.stdout

    wallet = store.json("wallets", "show", "celeb-1")
    assert wallet["balance"] == 500000
    payment = store.json("payments", "show", txn_id)
    assert (payment["status"], payment["escrow_status"]) == ("COMPLETED", "RELEASED")
    assert payment["fee"] == 0
    assert payment["payout"] == 500000
    assert store.json("payments", "show", "--reference", "ref-1")["id"] == txn_id

    head = store.head()
    again = store.ok("admin", "release", txn_id, "--reason", "clicked twice")
    assert "already released" in again.stdout
    assert store.head() == head

    line = assert_refused(store.run("admin", "refund", txn_id, "--reason", "fan asked"))
    assert "already released" in line
    assert "cannot be refunded" in line
    assert store.head() == head
    assert store.json("wallets", "show", "celeb-1")["balance"] == 500000


def test_release_twice_says_already_released_and_exits_0(sqlite_store: Store) -> None:
    txn_id = released_payment(sqlite_store)
    head = sqlite_store.head()
    result = sqlite_store.ok("admin", "release", txn_id, "--reason", "again")
    assert "already released" in result.stdout
    as_json = sqlite_store.json("admin", "release", txn_id, "--reason", "again")
    assert as_json["changed"] is False
    assert sqlite_store.head() == head


# -- already done: exit 0, nothing written ------------------------------------------------


def test_repeated_commands_say_already_done_and_write_nothing(sqlite_store: Store) -> None:
    request_id = str(uuid.uuid4())
    create = (*CREATE, "--amount", "700000", "--currency", "NGN", "--id", request_id)
    commands = [
        ("users", "register", "fan-1", "--role", "fan"),
        ("users", "register", "celeb-1", "--role", "celebrity", "--verified"),
        ("wallets", "create", "celeb-1"),
        create,
        ("payments", "record", request_id, "--reference", "ref-9"),
    ]
    for command in commands:
        sqlite_store.ok(*command)
    head = sqlite_store.head()
    for command in commands:
        result = sqlite_store.json(*command)
        assert result["changed"] is False
        assert "already" in result["message"]
    assert sqlite_store.ok("users", "verify", "celeb-1").stdout.strip().endswith("already verified")
    assert sqlite_store.head() == head


def test_repeating_a_request_id_with_other_details_is_refused(sqlite_store: Store) -> None:
    seed(sqlite_store)
    request_id = str(uuid.uuid4())
    sqlite_store.ok(*CREATE, "--amount", "100", "--currency", "NGN", "--id", request_id)
    head = sqlite_store.head()
    result = sqlite_store.run(*CREATE, "--amount", "200", "--currency", "NGN", "--id", request_id)
    assert_refused(result, 2, "other details")
    assert sqlite_store.head() == head


# -- output formats -----------------------------------------------------------------------


def test_json_has_minor_units_string_ids_iso_times_and_enum_values(
    sqlite_store: Store, seeded: Seeded
) -> None:
    payment = sqlite_store.json("payments", "show", seeded.released_txn)
    assert payment["amount"] == 500000
    assert isinstance(payment["amount"], int)
    assert payment["id"] == seeded.released_txn
    assert payment["status"] == "COMPLETED"
    assert payment["escrow_status"] == "RELEASED"
    assert payment["held"] is False
    assert is_iso_with_offset(payment["created_at"])
    assert is_iso_with_offset(payment["paid_at"])

    request = sqlite_store.json("requests", "show", seeded.paid_request)
    assert request["status"] == "IN_PROGRESS"
    assert (request["fan"], request["celebrity"]) == ("fan-1", "celeb-1")
    assert request["payment_status"] == "COMPLETED"
    assert request["escrow_status"] == "PENDING"

    user = sqlite_store.json("users", "show", "celeb-1")
    assert user == {**user, "user_id": "celeb-1", "role": "celebrity", "verified": True}
    assert is_iso_with_offset(user["updated_at"])


def test_table_shows_amounts_in_major_units_too(sqlite_store: Store, seeded: Seeded) -> None:
    wallet = sqlite_store.ok("wallets", "show", "celeb-1").stdout
    assert "NGN 5,000.00" in wallet
    assert "500000" in wallet
    request = sqlite_store.ok("requests", "show", seeded.pending_request).stdout
    assert "NGN 5,000.00" in request
    assert "PENDING" in request


def test_csv_has_a_header_and_one_row(sqlite_store: Store, seeded: Seeded) -> None:
    lines = sqlite_store.ok("wallets", "show", "celeb-1", "--format", "csv").stdout.splitlines()
    assert len(lines) == 2
    row = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert (row["user_id"], row["balance"], row["currency"]) == ("celeb-1", "500000", "NGN")


# -- admin operator and the provider ------------------------------------------------------


def operators(store: Store, txn_id: str) -> list[str]:
    ledger = store.open()
    try:
        events = ledger.events.get(uuid.UUID(txn_id))
        return [e.operator for e in events if getattr(e, "operator", None)]
    finally:
        ledger.close()


def test_admin_operator_comes_from_option_then_env_then_os_user(
    sqlite_store: Store, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "os-user")
    pending, paid = seeded.pending_txn, seeded.paid_txn
    sqlite_store.ok("admin", "mark-paid", pending, "--reason", "bank", LEDGER_OPERATOR="")
    assert operators(sqlite_store, pending) == ["os-user"]
    sqlite_store.ok("requests", "complete", seeded.pending_request)
    sqlite_store.ok("admin", "release", pending, "--reason", "done", LEDGER_OPERATOR="ops-alice")
    assert operators(sqlite_store, pending) == ["os-user", "ops-alice"]
    sqlite_store.ok("requests", "complete", seeded.paid_request)
    sqlite_store.ok(
        "admin", "release", paid, "--reason", "done", "--operator", "ops-bob",
        LEDGER_OPERATOR="ops-alice",
    )  # fmt: skip
    assert operators(sqlite_store, paid) == ["ops-bob"]


def test_decline_of_paid_request_refunds_through_the_provider(
    sqlite_store: Store, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = FakeProvider()
    use_provider(monkeypatch, provider)
    sqlite_store.ok("requests", "decline", seeded.paid_request, "--reason", "no time")
    assert provider.refunds == [("ref-paid", 500000)]
    request = sqlite_store.json("requests", "show", seeded.paid_request)
    assert (request["status"], request["decline_reason"]) == ("DECLINED", "operator_declined")
    assert request["note"] == "no time"
    assert request["escrow_status"] == "REFUNDED"


# -- help ---------------------------------------------------------------------------------


def command_paths() -> Iterator[tuple[str, ...]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))

    yield from walk(cli, ())


@pytest.mark.parametrize("path", list(command_paths()), ids=lambda p: " ".join(p) or "ledger")
def test_help_works_on_every_level_and_shows_no_secret(
    sqlite_store: Store, path: tuple[str, ...]
) -> None:
    result = sqlite_store.ok(*path, "--help", PAYSTACK_SECRET_KEY=SECRET)
    assert "Usage: ledger" in result.stdout
    assert SECRET not in result.stdout


def test_ledger_alone_prints_help(sqlite_store: Store) -> None:
    assert "Commands:" in sqlite_store.ok().stdout


# -- the demo ---------------------------------------------------------------------------


def test_demo_runs_every_fate_end_to_end_and_exits_0(sqlite_store: Store) -> None:
    result = sqlite_store.ok("demo")
    assert "Summary report" in result.stdout
    for status in ("COMPLETED", "DECLINED", "RELEASED", "IN_PROGRESS", "amount_mismatch"):
        assert status in result.stdout
    report = json.loads(sqlite_store.run("demo", "--format", "json").stdout)
    fates: dict[str, list[dict[str, Any]]] = {}
    for row in report["requests"]:
        fates.setdefault(row["fate"], []).append(row)
    assert len(report["requests"]) == 20
    assert {r["escrow"] for r in fates["paid, webhook received"]} == {"RELEASED", "PENDING"}
    assert {r["escrow"] for r in fates["paid, webhook missed"]} == {"RELEASED", "PENDING"}
    assert {r["decline_reason"] for r in fates["payment failed"]} == {"payment_failed"}
    assert {r["decline_reason"] for r in fates["payment abandoned"]} == {"payment_failed"}
    assert {r["decline_reason"] for r in fates["never paid"]} == {"request_timed_out"}
    assert {r["review"] for r in fates["paid the wrong amount"]} == {"amount_mismatch"}
    assert {r["request_status"] for r in fates["provider outage in first sweep"]} == {"IN_PROGRESS"}
    assert {r["decline_reason"] for r in fates["stuck at the provider"]} == {"request_timed_out"}
