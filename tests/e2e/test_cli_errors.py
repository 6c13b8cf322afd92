"""``ledger`` failures, in process: every kind of bad input and bad setting exits 2 with one
``error:`` line and writes nothing; the provider failing, a conflict or an internal error
exits 1; ``LEDGER_DEBUG=1`` lets an unexpected exception through with its traceback.
"""

from pathlib import Path

import psycopg
import pytest

from ledger.application import Ledger
from ledger.cli.errors import exit_code_for
from ledger.errors import (
    ConfigError,
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidInput,
    LedgerError,
    NotFound,
    PaymentBusy,
    ProviderError,
    ProviderUnavailable,
)
from tests.e2e.cli_support import (
    CREATE,
    SECRET,
    UNKNOWN,
    Seeded,
    Store,
    assert_refused,
    isolated_env,
    seeded,
    sqlite_store,
    use_provider,
)
from tests.fakes import FakeProvider

__all__ = ["isolated_env", "seeded", "sqlite_store"]  # fixtures used by name

BAD_INPUT: list[tuple[str, tuple[str, ...], str]] = [
    ("zero amount", (*CREATE, "--amount", "0", "--currency", "NGN"), "positive"),
    ("negative amount", (*CREATE, "--amount", "-5", "--currency", "NGN"), "positive"),
    ("amount above 10^12", (*CREATE, "--amount", "1000000000001", "--currency", "NGN"), "limit"),
    ("decimal amount", (*CREATE, "--amount", "12.50", "--currency", "NGN"), "integer"),
    ("amount in words", (*CREATE, "--amount", "lots", "--currency", "NGN"), "integer"),
    ("unknown currency", (*CREATE, "--amount", "100", "--currency", "XYZ"), "currency"),
    ("currency with a digit", (*CREATE, "--amount", "100", "--currency", "ng1"), "currency"),
    ("malformed request id option", (*CREATE, "--amount", "1", "--currency", "NGN", "--id", "x"),
     "UUID"),
    ("unknown fan", ("requests", "create", "--fan", "ghost", "--celebrity", "celeb-1",
                     "--amount", "100", "--currency", "NGN"), "no user"),
    ("fan and celebrity swapped", ("requests", "create", "--fan", "celeb-1", "--celebrity",
                                   "fan-1", "--amount", "100", "--currency", "NGN"), "not a fan"),
    ("malformed request id", ("requests", "show", "not-a-uuid"), "UUID"),
    ("malformed transaction id", ("admin", "release", "123", "--reason", "x"),
     "no payment with id"),
    ("short id prefix", ("requests", "show", "8ce098d"), "at least 8"),
    ("unknown request id", ("requests", "complete", UNKNOWN), "no request"),
    ("unknown transaction id", ("payments", "show", UNKNOWN), "no transaction"),
    ("unknown reference", ("payments", "show", "--reference", "nope"),
     "no payment with reference 'nope'"),
    ("unknown user", ("users", "show", "ghost"), "no user"),
    ("no such wallet", ("wallets", "show", "fan-1"), "no wallet"),
    ("wallet in unknown currency", ("wallets", "create", "celeb-1", "--currency", "EUR"),
     "currency"),
    ("wallet for unverified user", ("wallets", "create", "fan-1"), "not verified"),
    ("invalid user id", ("users", "register", "bad id!", "--role", "fan"), "invalid user id"),
    ("unknown role", ("users", "register", "x", "--role", "admin"), "role"),
    ("role change", ("users", "register", "fan-1", "--role", "celebrity"), "already registered"),
    ("release of unpaid payment", ("admin", "release", "{pending_txn}", "--reason", "x"),
     "COMPLETED requests"),
    ("complete unpaid request", ("requests", "complete", "{pending_request}"), "IN_PROGRESS"),
    ("decline completed request", ("requests", "decline", "{released_request}", "--reason", "x"),
     "COMPLETED"),
    ("decline without reason", ("requests", "decline", "{pending_request}"), "--reason"),
    ("payment for a paid request", ("payments", "record", "{paid_request}", "--reference", "r2"),
     "already has a payment"),
    ("second payment for a request", ("payments", "record", "{pending_request}",
                                      "--reference", "other"), "already has a payment"),
    ("malformed reference", ("payments", "record", "{pending_request}", "--reference", "a b"),
     "reference"),
    ("refund of released payment", ("admin", "refund", "{released_txn}", "--reason", "x"),
     "already released"),
    ("resolve of unflagged payment", ("admin", "resolve", "{released_txn}", "--reason", "x"),
     "never flagged"),
    ("blank reason", ("admin", "release", "{released_txn}", "--reason", "  "), "--reason"),
    ("missing reason", ("admin", "release", "{released_txn}"), "--reason"),
    ("show without id or reference", ("payments", "show"), "either"),
    ("refund needs a provider", ("requests", "decline", "{paid_request}", "--reason", "x"),
     "PAYSTACK_SECRET_KEY"),
    ("unknown command", ("users", "delete", "fan-1"), "No such command"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "mentions"), [pytest.param(a, m, id=name) for name, a, m in BAD_INPUT]
)
def test_bad_input_exits_2_with_one_error_line_and_writes_nothing(
    sqlite_store: Store, seeded: Seeded, args: tuple[str, ...], mentions: str
) -> None:
    head = sqlite_store.head()
    argv = [a.format(**vars(seeded)) for a in args]
    assert_refused(sqlite_store.run(*argv), 2, mentions)
    assert sqlite_store.head() == head


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        pytest.param({"LEDGER_PLATFORM_FEE_BPS": "20000"}, "LEDGER_PLATFORM_FEE_BPS", id="fee"),
        pytest.param({"LEDGER_PLATFORM_FEE_BPS": "ten"}, "LEDGER_PLATFORM_FEE_BPS", id="fee-text"),
        pytest.param(
            {"LEDGER_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
            "database unreachable",
            id="unreachable-db",
        ),
        pytest.param({"LEDGER_DATABASE_URL": "mysql://db/x"}, "LEDGER_DATABASE_URL", id="url"),
        pytest.param(
            {"LEDGER_DATABASE_URL": "sqlite:////no/such/dir/ledger.db"},
            "database unreachable",
            id="sqlite-dir",
        ),
    ],
)
def test_bad_setting_exits_2_naming_it_and_writes_nothing(
    sqlite_store: Store, seeded: Seeded, env: dict[str, str], mentions: str
) -> None:
    head = sqlite_store.head()
    result = sqlite_store.run("users", "register", "fan-2", "--role", "fan", **env)
    assert_refused(result, 2, mentions)
    assert sqlite_store.head() == head


def test_password_in_database_url_is_never_printed(sqlite_store: Store) -> None:
    result = sqlite_store.run(
        "users", "show", "x", LEDGER_DATABASE_URL=f"postgresql://u:{SECRET}@127.0.0.1:1/x"
    )
    line = assert_refused(result, 2, "database unreachable")
    assert SECRET not in line


def test_provider_down_exits_1_and_writes_nothing(
    sqlite_store: Store, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_provider(monkeypatch, FakeProvider(down=True))
    head = sqlite_store.head()
    result = sqlite_store.run("requests", "decline", seeded.paid_request, "--reason", "x")
    assert_refused(result, 1, "down")
    assert sqlite_store.head() == head


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInput("x"), 2),
        (DomainError("x"), 2),
        (InsufficientFunds("x"), 2),
        (NotFound("x"), 2),
        (ConfigError("x"), 2),
        (ProviderError("x"), 1),
        (ProviderUnavailable("x"), 1),
        (Conflict("x"), 1),
        (PaymentBusy("x"), 1),
    ],
)
def test_each_error_class_maps_to_its_exit_code(error: LedgerError, code: int) -> None:
    assert exit_code_for(error) == code


def test_conflict_exits_1_with_its_message(
    sqlite_store: Store, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    def conflict(*args: object, **kwargs: object) -> None:
        raise Conflict("the ledger was changed concurrently too many times; try again")

    monkeypatch.setattr(Ledger, "complete_request", conflict)
    assert_refused(sqlite_store.run("requests", "complete", seeded.paid_request), 1, "try again")


def test_unexpected_exception_is_one_line_without_its_text(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"connection string with {SECRET}")

    sqlite_store.head()  # the store exists: `users show` only reads
    monkeypatch.setattr(Ledger, "get_user", boom)
    line = assert_refused(sqlite_store.run("users", "show", "fan-1"), 1)
    assert line == "error: internal error (RuntimeError)"
    debug = sqlite_store.run("users", "show", "fan-1", LEDGER_DEBUG="1")
    assert isinstance(debug.exception, RuntimeError)


READ_ONLY = [
    ("report", "escrow"),
    ("report", "summary"),
    ("requests", "show", UNKNOWN),
    ("wallets", "show", "celeb-1"),
    ("users", "show", "fan-1"),
    ("users", "contact", "fan-1"),
    ("payments", "show", "--reference", "ref-1"),
    ("audit", "history", UNKNOWN),
    ("audit", "verify"),
    ("audit", "seal"),
    ("projections", "status"),
    ("projections", "rebuild"),
    ("notifications", "list"),
    ("webhooks", "deliveries"),
    ("jobs", "status"),
]


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_a_read_only_command_refuses_a_store_that_does_not_exist_and_creates_nothing(
    sqlite_store: Store, args: tuple[str, ...], tmp_path: Path
) -> None:
    line = assert_refused(sqlite_store.run(*args), 2)
    url = sqlite_store.env["LEDGER_DATABASE_URL"]
    assert line == (
        f"error: no ledger at {url}: set LEDGER_DATABASE_URL or run a command that writes"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_a_read_only_command_refuses_a_postgres_schema_without_a_ledger(
    pg_database_url: str, pg_schema: str
) -> None:
    store = Store({"LEDGER_DATABASE_URL": pg_database_url, "LEDGER_POSTGRES_SCHEMA": pg_schema})
    assert_refused(store.run("report", "escrow"), 2, "no ledger at postgresql://")
    with psycopg.connect(pg_database_url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            [pg_schema],
        ).fetchone()
    assert found == (0,), "a read-only command created the schema"
    # A command that writes creates it, as before; then the report reads it.
    assert store.run("users", "register", "fan-1", "--role", "fan").exit_code == 0
    assert store.run("report", "escrow").exit_code == 0
