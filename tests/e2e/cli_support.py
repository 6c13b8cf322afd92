"""What the CLI tests share: a store named by environment variables, seeding, and the check
that a command was refused properly (exit code, one ``error:`` line, no traceback).

"Writes nothing" is checked against the event store itself: its highest notification id is
the same before and after the command. The fixtures are imported by the test modules.
"""

import json
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result as CliResult

import ledger.bootstrap as bootstrap
from ledger.application import Ledger
from ledger.cli import cli
from ledger.config import Settings, load_settings
from ledger.providers.port import PaymentProvider
from tests.fakes import FakeProvider

LEDGER_SCRIPT = Path(sys.executable).parent / "ledger"
SECRET = "sk_test_do_not_print_me_4242"
SETTING_PREFIXES = ("LEDGER_", "PAYSTACK_", "FLUTTERWAVE_")


@dataclass
class Store:
    """A store the CLI runs against, named by environment variables."""

    env: dict[str, str]

    def settings(self) -> Settings:
        return load_settings(**self.env)

    def open(self) -> Ledger:
        return Ledger.from_settings(self.settings(), provider=FakeProvider())

    def head(self) -> int:
        """The event store's highest notification id (0 when empty)."""
        ledger = self.open()
        try:
            return ledger.recorder.max_notification_id() or 0
        finally:
            ledger.close()

    def run(self, *args: str, **env: str) -> CliResult:
        runner = CliRunner(env={**self.env, "LEDGER_OPERATOR": "ops-alice", **env})
        return runner.invoke(cli, list(args))

    def ok(self, *args: str, **env: str) -> CliResult:
        result = self.run(*args, **env)
        assert result.exit_code == 0, (args, result.output)
        assert result.stderr == "", result.stderr
        return result

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json", **env).stdout)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No .env file and no stray settings from the developer's shell."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if (
            name.startswith(("LEDGER_", "PAYSTACK_", "FLUTTERWAVE_"))
            and name != "LEDGER_TEST_DATABASE_URL"
        ):
            monkeypatch.delenv(name)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    return Store({"LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}"})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, sqlite_store: Store) -> Store:
    if request.param == "sqlite":
        return sqlite_store
    url = request.getfixturevalue("pg_database_url")
    schema = request.getfixturevalue("pg_schema")
    return Store({"LEDGER_DATABASE_URL": url, "LEDGER_POSTGRES_SCHEMA": schema})


def assert_refused(result: CliResult, code: int = 2, mentions: str = "") -> str:
    """Failed with ``code``, exactly one ``error:`` line on stderr, no traceback, no output."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert mentions.lower() in lines[0].lower()
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines[0]


def is_iso_with_offset(text: str) -> bool:
    return datetime.fromisoformat(text).utcoffset() is not None


# -- seeding ------------------------------------------------------------------------------


@dataclass
class Seeded:
    pending_request: str
    pending_txn: str
    paid_request: str
    paid_txn: str
    released_request: str
    released_txn: str


def seed(store: Store) -> Seeded:
    """fan-1, a verified celeb-1 with an NGN wallet, and requests in several states."""
    ledger = store.open()
    try:
        ledger.register_user("fan-1", "fan")
        ledger.register_user("celeb-1", "celebrity", verified=True)
        ledger.create_wallet("celeb-1", "NGN")

        def new_request() -> uuid.UUID:
            return ledger.create_request("fan-1", "celeb-1", 500000, "NGN").id

        pending = new_request()
        pending_txn = ledger.record_payment(pending, "ref-pending").id
        paid = new_request()
        paid_txn = ledger.record_payment(paid, "ref-paid").id
        ledger.confirm_payment(paid_txn, amount=500000, currency="NGN")
        released = new_request()
        released_txn = ledger.record_payment(released, "ref-released").id
        ledger.confirm_payment(released_txn, amount=500000, currency="NGN")
        ledger.complete_request(released)
        ledger.release_escrow(released_txn)
    finally:
        ledger.close()
    return Seeded(
        str(pending), str(pending_txn), str(paid), str(paid_txn), str(released), str(released_txn)
    )


def released_payment(store: Store) -> str:
    return seed(store).released_txn


@pytest.fixture
def seeded(sqlite_store: Store) -> Seeded:
    return seed(sqlite_store)


CREATE = ("requests", "create", "--fan", "fan-1", "--celebrity", "celeb-1")
UNKNOWN = str(uuid.UUID(int=42))


def use_provider(monkeypatch: pytest.MonkeyPatch, fake: PaymentProvider) -> None:
    """Build the CLI's ledgers with ``fake`` as the payment provider."""
    monkeypatch.setattr(bootstrap, "build_provider", lambda settings: fake)
