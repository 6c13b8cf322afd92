"""Several replicas starting or upgrading at once: each migration is applied exactly once and
every one of them comes up (SQLite: the write lock; PostgreSQL: an advisory lock)."""

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import pytest

from ledger.config import Settings
from ledger.persistence import StoreConfig, store_config
from ledger.schema import MIGRATIONS, Migration, State, ensure_schema, schema_status, upgrade
from tests.schema_support import fill, make_previous_release_store, snapshot

# A test-only third migration that cannot be applied twice (a second CREATE TABLE fails) and,
# on PostgreSQL, holds the lock a moment so the other process really waits for it.
PROBE = Migration(
    3,
    "probe",
    sqlite=("CREATE TABLE upgrade_probe (n INTEGER)", "INSERT INTO upgrade_probe VALUES (1)"),
    postgres=(
        "CREATE TABLE upgrade_probe (n INTEGER)",
        "SELECT pg_sleep(0.3)",
        "INSERT INTO upgrade_probe VALUES (1)",
    ),
)
WITH_PROBE = (*MIGRATIONS, PROBE)


@pytest.fixture
def config(store_settings: Callable[..., Settings]) -> StoreConfig:
    settings = store_settings()
    return store_config(settings.database_url, schema=settings.postgres_schema)


def _upgrade_in_process(config: StoreConfig, barrier: Any, results: Any) -> None:
    barrier.wait(timeout=30)
    try:
        results.put(("ok", [m.version for m in upgrade(config, migrations=WITH_PROBE)]))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_two_processes_upgrading_at_once_apply_each_migration_once(config: StoreConfig) -> None:
    make_previous_release_store(config)
    fill(config)
    before = snapshot(config)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(target=_upgrade_in_process, args=(config, barrier, results))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    assert [status for status, _ in outcomes] == ["ok", "ok"], outcomes
    applied = sorted(v for _, versions in outcomes for v in versions)
    assert applied == [1, 2, 3]  # each migration by exactly one of the two
    status = schema_status(config, migrations=WITH_PROBE)
    assert status.state is State.CURRENT
    assert [a.version for a in status.applied] == [1, 2, 3]
    assert snapshot(config) == before


def test_replicas_starting_together_on_an_empty_store_initialise_it_once(
    config: StoreConfig,
) -> None:
    barrier = threading.Barrier(6)
    states: list[State] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait(timeout=30)
        try:
            states.append(ensure_schema(config).state)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == [], [str(e) for e in errors]
    assert states == [State.CURRENT] * 6
    assert [a.version for a in schema_status(config).applied] == [m.version for m in MIGRATIONS]
