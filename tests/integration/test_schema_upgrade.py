"""The operational tables' schema on SQLite and PostgreSQL: a database of the previous release
is upgraded without losing a row, an empty store is initialised, an older one is refused, and
a failed migration leaves nothing behind."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from ledger.api.idempotency import ClaimKind, Fingerprint, IdempotencyStore
from ledger.clock import FixedClock
from ledger.config import Settings
from ledger.contacts import Contacts
from ledger.errors import ConfigError, SchemaError
from ledger.persistence import StoreConfig, store_config
from ledger.providers.flutterwave import SqlTokenStore
from ledger.schema import (
    LATEST,
    MIGRATIONS,
    OPERATIONAL_TABLES,
    Migration,
    State,
    ensure_schema,
    schema_status,
    upgrade,
)
from ledger.schema.dialect import connect
from ledger.schema.status import existing_tables
from ledger.sidetables import SideTables
from ledger.webhooks import DeliveryStore
from tests.schema_support import (
    CELEB,
    DELIVERY_FLAGGED,
    FAN,
    ROWS,
    T0,
    describe,
    fill,
    make_previous_release_store,
    snapshot,
)

OUTDATED = 'schema version 1 is older than this release needs (2): run "ledger db upgrade"'


@pytest.fixture
def config(store_settings: Callable[..., Settings]) -> StoreConfig:
    settings = store_settings()
    return store_config(settings.database_url, schema=settings.postgres_schema)


@pytest.fixture
def other_config(config: StoreConfig, tmp_path_factory: pytest.TempPathFactory) -> StoreConfig:
    """A second, empty store of the same backend."""
    if config.kind == "sqlite":
        return store_config(f"sqlite:///{tmp_path_factory.mktemp('other') / 'other.db'}")
    return replace(config, schema=config.schema + "_b")


@pytest.fixture
def drop_other(other_config: StoreConfig) -> Iterator[None]:
    yield
    if other_config.kind == "postgres":
        with connect(other_config) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {other_config.schema} CASCADE")


def versions(config: StoreConfig) -> list[int]:
    return [a.version for a in schema_status(config).applied]


def test_an_empty_store_is_initialised_to_the_latest_version_on_first_use(
    config: StoreConfig,
) -> None:
    status = ensure_schema(config)

    assert status.state is State.CURRENT
    assert status.version == LATEST
    assert versions(config) == [m.version for m in MIGRATIONS]
    with connect(config) as conn:
        assert existing_tables(conn, config, OPERATIONAL_TABLES) == set(OPERATIONAL_TABLES)


def test_a_database_of_the_previous_release_is_upgraded_without_losing_a_row(
    config: StoreConfig,
) -> None:
    make_previous_release_store(config)
    fill(config)
    before = snapshot(config)
    assert all(len(before[table]) == len(rows) for table, rows in ROWS.items())
    assert schema_status(config).state is State.UNVERSIONED
    with pytest.raises(SchemaError, match="unversioned"):
        ensure_schema(config)  # services never upgrade on their own
    assert snapshot(config) == before

    applied = upgrade(config)

    assert [m.version for m in applied] == [m.version for m in MIGRATIONS]
    assert snapshot(config) == before
    assert ensure_schema(config).state is State.CURRENT
    assert upgrade(config) == []  # run again: nothing to apply
    assert snapshot(config) == before


def test_the_upgraded_rows_are_read_by_this_release_code(config: StoreConfig) -> None:
    make_previous_release_store(config)
    fill(config)
    upgrade(config)
    tables = SideTables(config, pool_size=0)
    try:
        fan = Contacts(tables).get(FAN)
        assert fan is not None
        assert (fan.email, fan.updated_at) == ("fan@example.com", T0)
        celeb = Contacts(tables).get(CELEB)
        assert celeb is not None
        assert celeb.webhook_url == "https://hooks.example.com/celeb"
        flagged = DeliveryStore(tables).recent(outcome="flagged")
        assert [d.id for d in flagged] == [DELIVERY_FLAGGED]
        assert [d.outcome.value for d in DeliveryStore(tables).recent()] == [
            "invalid_signature",
            "flagged",
            "applied",
        ]
        token = SqlTokenStore(tables, lock_timeout=timedelta(seconds=5)).peek("flutterwave")
        assert token.access_token == "tok-secret"
        assert token.expires_at == T0 + timedelta(minutes=10)
        keys = IdempotencyStore(tables, clock=FixedClock(T0 + timedelta(seconds=5)))
        claim = keys.claim("ops", "key-done", Fingerprint("POST", "/requests", "ab" * 32))
        assert (claim.kind, claim.status, claim.response) == (
            ClaimKind.REPLAY,
            201,
            '{"id": "x"}',
        )
    finally:
        tables.close()


def test_migration_1_makes_exactly_the_previous_release_tables(
    config: StoreConfig, other_config: StoreConfig, drop_other: None
) -> None:
    make_previous_release_store(config)
    upgrade(other_config, migrations=MIGRATIONS[:1])

    assert describe(other_config) == describe(config)


def test_an_upgraded_store_has_the_same_tables_as_a_new_one(
    config: StoreConfig, other_config: StoreConfig, drop_other: None
) -> None:
    make_previous_release_store(config)
    fill(config)
    upgrade(config)
    ensure_schema(other_config)

    assert describe(config) == describe(other_config)
    assert any("webhook_deliveries_outcome" in " ".join(row) for row in describe(config))


def test_a_version_1_store_is_refused_then_upgraded_by_the_second_migration(
    config: StoreConfig,
) -> None:
    upgrade(config, migrations=MIGRATIONS[:1])
    fill(config)
    before = snapshot(config)
    status = schema_status(config)
    assert (status.state, status.version, [m.version for m in status.pending]) == (
        State.BEHIND,
        1,
        [2],
    )

    with pytest.raises(SchemaError) as refused:
        ensure_schema(config)
    assert str(refused.value) == OUTDATED
    with pytest.raises(SchemaError, match="older than this release needs"):
        Contacts(SideTables(config, pool_size=0)).get(FAN)  # the stores refuse too

    assert [m.name for m in upgrade(config)] == ["webhook_deliveries_outcome_index"]
    assert versions(config) == [1, 2]
    assert snapshot(config) == before


def test_a_store_upgraded_by_a_newer_release_is_usable(config: StoreConfig) -> None:
    ensure_schema(config)
    older_release = MIGRATIONS[:1]

    status = ensure_schema(config, migrations=older_release)

    assert (status.state, status.version, status.latest) == (State.AHEAD, 2, 1)
    assert upgrade(config, migrations=older_release) == []


def test_a_failing_migration_leaves_nothing_behind(config: StoreConfig) -> None:
    ensure_schema(config)
    fill(config)
    before = snapshot(config)
    broken = Migration(
        3,
        "half_done",
        sqlite=("ALTER TABLE contacts ADD COLUMN phone TEXT", "SELECT * FROM no_such_table"),
        postgres=("ALTER TABLE contacts ADD COLUMN phone TEXT", "SELECT * FROM no_such_table"),
    )

    with pytest.raises(ConfigError, match="no_such_table"):
        upgrade(config, migrations=(*MIGRATIONS, broken))

    assert versions(config) == [1, 2]
    assert snapshot(config) == before  # no phone column: the ALTER was rolled back
    assert schema_status(config, migrations=(*MIGRATIONS, broken)).state is State.BEHIND


def test_a_table_of_an_unknown_shape_is_refused_and_nothing_changes(
    config: StoreConfig,
) -> None:
    with connect(config) as conn:
        if conn.kind == "postgres":
            conn.execute(f"CREATE SCHEMA {config.schema}")
        conn.execute("CREATE TABLE contacts (user_id TEXT PRIMARY KEY, phone TEXT)")

    with pytest.raises(SchemaError, match=r"table contacts .*extra columns: phone"):
        upgrade(config)

    with connect(config) as conn:
        assert existing_tables(conn, config, [*OPERATIONAL_TABLES, "schema_version"]) == {
            "contacts"
        }


def test_migrations_must_be_numbered_in_order(config: StoreConfig) -> None:
    skipping = (MIGRATIONS[0], replace(MIGRATIONS[1], version=3))

    with pytest.raises(ValueError, match=r"numbered 1\.\.n"):
        ensure_schema(config, migrations=skipping)
