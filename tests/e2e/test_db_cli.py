"""`ledger db status | upgrade` in-process on SQLite and PostgreSQL, and every service and
side-table command refusing to start on a schema older than this release needs."""

import json
from pathlib import Path

import pytest

from ledger.persistence import StoreConfig, store_config
from ledger.schema import MIGRATIONS, schema_status, upgrade
from tests.e2e.cli_support import Store, assert_refused, isolated_env, sqlite_store, store
from tests.schema_support import fill, make_previous_release_store, snapshot

__all__ = ["isolated_env", "sqlite_store", "store"]  # fixtures, used by name

OUTDATED = 'error: schema version 1 is older than this release needs (2): run "ledger db upgrade"'


def config_of(store: Store) -> StoreConfig:
    settings = store.settings()
    return store_config(settings.database_url, schema=settings.postgres_schema)


def versions(store: Store) -> list[int]:
    return [a.version for a in schema_status(config_of(store)).applied]


def test_status_shows_the_version_the_latest_and_what_is_pending(store: Store) -> None:
    upgrade(config_of(store), migrations=MIGRATIONS[:1])

    table = store.ok("db", "status").stdout
    view = store.json("db", "status")

    assert "state    behind: older than this release needs" in table
    assert "version  1\n" in table
    assert "latest   2\n" in table
    assert "pending  2 webhook_deliveries_outcome_index\n" in table
    assert (view["state"], view["version"], view["latest"], view["upgrade_needed"]) == (
        "behind",
        1,
        2,
        True,
    )
    assert view["pending"] == [{"version": 2, "name": "webhook_deliveries_outcome_index"}]
    assert [(a["version"], a["name"]) for a in view["applied"]] == [(1, "operational_tables")]
    rows = store.ok("db", "status", "--format", "csv").stdout.splitlines()
    assert rows[0] == "version,name,state,applied_at,release,schema_state"
    assert rows[1].startswith("1,operational_tables,applied,")
    assert rows[2] == "2,webhook_deliveries_outcome_index,pending,,,behind"


def test_upgrade_prints_each_migration_it_applied_and_then_has_nothing_to_do(
    store: Store,
) -> None:
    config = config_of(store)
    make_previous_release_store(config)
    fill(config)
    before = snapshot(config)

    first = store.ok("db", "upgrade").stdout.splitlines()
    again = store.ok("db", "upgrade").stdout.splitlines()

    assert first[:3] == [
        "adopting the tables of a release before schema versions as version 1",
        "applied 1 operational_tables",
        "applied 2 webhook_deliveries_outcome_index",
    ]
    assert first[3].startswith("schema at version 2 (latest) in ")
    assert again == ["schema at version 2 (latest): nothing to apply"]
    assert store.json("db", "status")["state"] == "current"
    assert snapshot(config) == before


def test_upgrade_initialises_an_empty_store(store: Store) -> None:
    lines = store.ok("db", "upgrade").stdout.splitlines()

    assert lines[:2] == [
        "applied 1 operational_tables",
        "applied 2 webhook_deliveries_outcome_index",
    ]
    assert versions(store) == [1, 2]


def test_status_of_a_store_that_does_not_exist_is_an_error_and_creates_nothing(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere.db"
    result = Store({"LEDGER_DATABASE_URL": f"sqlite:///{missing}"}).run("db", "status")

    assert_refused(result, 2, "no database at")
    assert not missing.exists()


def test_status_of_an_empty_store_says_it_will_be_made_on_first_use(store: Store) -> None:
    store.open().close()  # the event store only

    view = store.json("db", "status")

    assert (view["state"], view["version"], view["upgrade_needed"]) == ("empty", 0, False)
    assert [p["version"] for p in view["pending"]] == [1, 2]


REFUSING = [
    pytest.param(("serve", "--port", "1"), id="serve"),
    pytest.param(("jobs", "run", "--once"), id="jobs-run"),
    pytest.param(("projections", "run", "--once"), id="projections-run"),
    pytest.param(("webhooks", "deliveries"), id="webhooks-deliveries"),
    pytest.param(("notifications", "list"), id="notifications-list"),
    pytest.param(("users", "contact", "fan-1"), id="users-contact"),
]


@pytest.mark.parametrize("command", REFUSING)
def test_services_refuse_to_start_on_an_older_schema(store: Store, command: tuple[str]) -> None:
    ledger = store.open()
    ledger.register_user("fan-1", "fan")
    ledger.close()
    upgrade(config_of(store), migrations=MIGRATIONS[:1])

    line = assert_refused(store.run(*command), 2)

    assert line == OUTDATED
    assert versions(store) == [1]  # nothing upgraded behind the operator's back


def test_services_refuse_an_unversioned_store_of_the_previous_release(
    sqlite_store: Store,
) -> None:
    make_previous_release_store(config_of(sqlite_store))

    line = assert_refused(sqlite_store.run("jobs", "run", "--once"), 2)

    assert line == (
        "error: schema is unversioned (tables of a release before schema versions) and older "
        'than this release needs (2): run "ledger db upgrade"'
    )
    assert versions(sqlite_store) == []


def test_a_fresh_store_needs_no_upgrade_step(sqlite_store: Store) -> None:
    sqlite_store.ok("users", "register", "fan-1", "--role", "fan")

    sqlite_store.ok("users", "contact", "fan-1", "--email", "fan@example.com")

    assert versions(sqlite_store) == [1, 2]
    assert json.loads(sqlite_store.ok("db", "status", "--format", "json").stdout)["state"] == (
        "current"
    )
