"""Several processes (replicas) starting on one fresh PostgreSQL schema all come up."""

import threading
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.config import load_settings


@pytest.mark.postgres
def test_ledgers_starting_together_on_a_fresh_schema_all_start(
    pg_database_url: str, pg_schema: str
) -> None:
    settings = load_settings(LEDGER_DATABASE_URL=pg_database_url, LEDGER_POSTGRES_SCHEMA=pg_schema)
    barrier = threading.Barrier(6)
    started: list[Ledger] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            started.append(Ledger.from_settings(settings))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == [], [str(e) for e in errors]
        assert len(started) == 6
        result: Any = started[0].register_user("fan-1", "fan")
        assert result.changed
        assert not started[-1].register_user("fan-1", "fan").changed
    finally:
        for ledger in started:
            ledger.close()


@pytest.mark.postgres
def test_read_sides_starting_together_on_a_fresh_schema_all_start(
    pg_database_url: str, pg_schema: str
) -> None:
    from projections.wiring import read_side

    settings = load_settings(LEDGER_DATABASE_URL=pg_database_url, LEDGER_POSTGRES_SCHEMA=pg_schema)
    Ledger.from_settings(settings).close()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            with read_side(settings, catch_up=True):
                pass
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], [str(e) for e in errors]
