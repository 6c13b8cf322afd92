"""Shared fixtures: stores on SQLite and on a real PostgreSQL, clocks, a fake provider.

PostgreSQL comes from ``LEDGER_TEST_DATABASE_URL`` (default: the local server). The session
creates a fresh database and drops it at the end; each test gets its own schema in it. When no
server is reachable the PostgreSQL tests skip with a loud reason, but under ``CI=true`` they fail.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from ledger.application import Ledger
from ledger.clock import FixedClock
from ledger.config import Settings, load_settings
from tests.fakes import FakeProvider

settings.register_profile(
    "default",
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "ci",
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "default")
)

DEFAULT_TEST_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped at the end)."""
    server = os.environ.get("LEDGER_TEST_DATABASE_URL", DEFAULT_TEST_URL)
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable at LEDGER_TEST_DATABASE_URL: {exc}".splitlines()[0]
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        print(f"\n!!! SKIPPING POSTGRESQL TESTS: {reason} !!!\n")
        pytest.skip(reason)
    dbname = f"ledger_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield _with_db(server, dbname)
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def pg_schema(pg_database_url: str) -> Iterator[str]:
    """A schema of its own for one test (the ledger creates it; dropped afterwards)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_settings(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., Settings]:
    """Settings for the parametrised backend; keyword overrides by env-var name."""
    if backend == "postgres":
        url = request.getfixturevalue("pg_database_url")
        schema = request.getfixturevalue("pg_schema")
        base: dict[str, Any] = {"LEDGER_DATABASE_URL": url, "LEDGER_POSTGRES_SCHEMA": schema}
    else:
        base = {"LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}"}

    def make(**overrides: Any) -> Settings:
        return load_settings(**{**base, **overrides})

    return make


@pytest.fixture
def make_ledger(
    store_settings: Callable[..., Settings], clock: FixedClock, provider: FakeProvider
) -> Iterator[Callable[..., Ledger]]:
    """Build ledgers on the test's store (several may share it); all closed at teardown."""
    made: list[Ledger] = []

    def make(**overrides: Any) -> Ledger:
        ledger = Ledger.from_settings(store_settings(**overrides), clock=clock, provider=provider)
        made.append(ledger)
        return ledger

    yield make
    for ledger in made:
        ledger.close()


@pytest.fixture
def ledger(make_ledger: Callable[..., Ledger]) -> Ledger:
    return make_ledger()
