"""Who acted: ``LEDGER_OPERATOR`` read like every setting (environment or ``.env``), shared
accounts refused for interventions unless a person is named, and an operator's decline told
apart from a celebrity's. The ``.env`` and ``root`` cases run the installed script in a real
process, as an operator's shell would."""

import os
import subprocess
from pathlib import Path

import pytest

from ledger.operators import GENERIC_ACCOUNTS, resolve_operator
from tests.e2e.cli_support import (
    LEDGER_SCRIPT,
    SETTING_PREFIXES,
    Store,
    assert_refused,
    isolated_env,
    seed,
    sqlite_store,
)

__all__ = ["isolated_env", "sqlite_store"]  # fixtures used by name


def run_as(
    tmp_path: Path, store: Store, *args: str, account: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """The console script run by OS ``account`` (what getpass reads), without any setting
    but the store's and ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        base[name] = account
    return subprocess.run(
        [str(LEDGER_SCRIPT), *args],
        capture_output=True,
        text=True,
        env={**base, **store.env, **env},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_ledger_operator_in_dot_env_is_who_the_audit_trail_names(
    tmp_path: Path, sqlite_store: Store
) -> None:
    seeded = seed(sqlite_store)
    (tmp_path / ".env").write_text("LEDGER_OPERATOR=ux-oncall\n", encoding="utf-8")
    done = run_as(
        tmp_path,
        sqlite_store,
        "admin",
        "mark-paid",
        seeded.pending_txn,
        "--reason",
        "seen on the bank statement",
        account="root",
    )
    assert done.returncode == 0, done.stderr
    history = run_as(tmp_path, sqlite_store, "audit", "history", seeded.pending_txn, account="root")
    assert history.returncode == 0, history.stderr
    verified = [line for line in history.stdout.splitlines() if "PaymentVerified" in line]
    assert len(verified) == 1
    assert "ux-oncall" in verified[0]
    assert "root" not in history.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("admin", "mark-paid", "{pending}", "--reason", "x"),
        ("admin", "release", "{released}", "--reason", "x"),
        ("admin", "refund", "{paid}", "--reason", "x"),
        ("admin", "resolve", "{paid}", "--reason", "x"),
        ("requests", "decline", "{request}", "--reason", "x"),
    ],
)
def test_as_root_without_operator_an_intervention_exits_2_and_writes_nothing(
    tmp_path: Path, sqlite_store: Store, args: tuple[str, ...]
) -> None:
    seeded = seed(sqlite_store)
    ids = {
        "pending": seeded.pending_txn,
        "released": seeded.released_txn,
        "paid": seeded.paid_txn,
        "request": seeded.pending_request,
    }
    argv = [a.format(**ids) for a in args]
    head = sqlite_store.head()
    proc = run_as(tmp_path, sqlite_store, *argv, account="root")
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: operator 'root'")
    assert "--operator" in line
    assert "LEDGER_OPERATOR" in line
    assert proc.stdout == ""
    assert sqlite_store.head() == head


def test_as_root_an_intervention_naming_a_person_goes_through(
    tmp_path: Path, sqlite_store: Store
) -> None:
    seeded = seed(sqlite_store)
    proc = run_as(
        tmp_path,
        sqlite_store,
        "admin",
        "mark-paid",
        seeded.pending_txn,
        "--reason",
        "bank statement",
        "--operator",
        "ada",
        account="root",
    )
    assert proc.returncode == 0, proc.stderr
    history = sqlite_store.json("audit", "history", seeded.pending_txn)
    assert history["events"][-1]["operator"] == "ada"


@pytest.mark.parametrize(
    ("options", "env"),
    [
        ((), {"LEDGER_OPERATOR": "admin"}),
        ((), {"LEDGER_OPERATOR": "Administrator"}),
        (("--operator", "root"), {}),
        (("--operator", " "), {}),
    ],
)
def test_a_shared_account_is_refused_wherever_it_comes_from(
    sqlite_store: Store, options: tuple[str, ...], env: dict[str, str]
) -> None:
    seeded = seed(sqlite_store)
    head = sqlite_store.head()
    result = sqlite_store.run(
        "admin", "mark-paid", seeded.pending_txn, "--reason", "x", *options, **env
    )
    assert_refused(result, 2, "operator")
    assert sqlite_store.head() == head


def test_an_operators_decline_records_operator_reason_and_operator_declined(
    sqlite_store: Store,
) -> None:
    seeded = seed(sqlite_store)
    sqlite_store.ok("requests", "decline", seeded.pending_request[:8], "--reason", "fraud check")
    shown = sqlite_store.json("requests", "show", seeded.pending_request)
    assert (shown["status"], shown["decline_reason"]) == ("DECLINED", "operator_declined")
    declined = sqlite_store.json("audit", "history", seeded.pending_request)["events"][-1]
    assert declined["event"] == "RequestDeclined"
    assert (declined["operator"], declined["reason"], declined["note"]) == (
        "ops-alice",
        "operator_declined",
        "fraud check",
    )
    assert_refused(sqlite_store.run("requests", "decline", seeded.paid_request), 2, "--reason")


def test_resolve_operator_prefers_the_option_then_the_setting_then_the_account() -> None:
    assert resolve_operator("ada", "bob", account=lambda: "carol") == "ada"
    assert resolve_operator(None, "bob", account=lambda: "carol") == "bob"
    assert resolve_operator(None, None, account=lambda: "carol") == "carol"
    assert resolve_operator(None, "  ", account=lambda: "carol") == "carol"
    assert {"root", "admin", "administrator", "ubuntu", "postgres"} <= GENERIC_ACCOUNTS
