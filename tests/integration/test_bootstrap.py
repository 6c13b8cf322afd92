"""The composition root (``ledger.bootstrap``): parts built on first use and closed together,
what was given left open, and the one decision between writing and reading: a reader never
creates a store, on SQLite or PostgreSQL."""

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.bootstrap import Components, build_ledger, close_ledger, read_store
from ledger.config import Settings, load_settings
from ledger.errors import ConfigError
from ledger.providers.paystack import PaystackClient
from tests.fakes import FakeProvider

NO_LEDGER = "no ledger at {url}: set LEDGER_DATABASE_URL or run a command that writes"


def sqlite_settings(tmp_path: Path, **extra: Any) -> Settings:
    return load_settings(LEDGER_DATABASE_URL=f"sqlite:///{tmp_path / 'ledger.db'}", **extra)


def test_building_the_components_touches_nothing(tmp_path: Path) -> None:
    parts = Components(sqlite_settings(tmp_path), create=True)
    parts.close()
    assert list(tmp_path.iterdir()) == []


def test_a_writer_creates_the_store_and_a_reader_then_reads_it(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    writer = Components(settings, create=True, provider=None)
    try:
        writer.ledger().register_user("fan-1", "fan")
    finally:
        writer.close()
    reader = Components(settings, create=False, provider=None)
    try:
        assert reader.ledger().get_user("fan-1").role.value == "fan"
    finally:
        reader.close()


def test_a_reader_refuses_a_missing_sqlite_file_and_creates_none(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    with pytest.raises(ConfigError) as refused:
        build_ledger(settings, create=False)
    assert str(refused.value) == NO_LEDGER.format(url=settings.database_url)
    with pytest.raises(ConfigError, match="no ledger"):
        read_store(settings)
    assert list(tmp_path.iterdir()) == []


def test_a_reader_refuses_an_sqlite_file_without_the_event_table_and_adds_none(
    tmp_path: Path,
) -> None:
    settings = sqlite_settings(tmp_path)
    with sqlite3.connect(tmp_path / "ledger.db") as conn:
        conn.execute("CREATE TABLE unrelated (x INTEGER)")
    with pytest.raises(ConfigError, match="no ledger"):
        build_ledger(settings, create=False)
    with sqlite3.connect(tmp_path / "ledger.db") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"unrelated"}


@pytest.mark.postgres
def test_a_reader_refuses_a_postgres_schema_without_a_ledger_and_creates_nothing(
    pg_database_url: str, pg_schema: str
) -> None:
    settings = load_settings(LEDGER_DATABASE_URL=pg_database_url, LEDGER_POSTGRES_SCHEMA=pg_schema)
    with pytest.raises(ConfigError) as refused:
        build_ledger(settings, create=False)
    assert str(refused.value) == NO_LEDGER.format(url=pg_database_url)
    with psycopg.connect(pg_database_url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            [pg_schema],
        ).fetchone()
    assert found == (0,)
    close_ledger(build_ledger(settings, create=True))  # a writer creates it
    close_ledger(build_ledger(settings, create=False))  # then a reader opens it


@pytest.mark.postgres
def test_the_no_ledger_message_never_shows_the_password(pg_database_url: str) -> None:
    url = pg_database_url.replace("postgres@", "postgres:hunter2@", 1)
    settings = load_settings(LEDGER_DATABASE_URL=url, LEDGER_POSTGRES_SCHEMA="no_such_schema_x")
    with pytest.raises(ConfigError) as refused:
        build_ledger(settings, create=False)
    assert "hunter2" not in str(refused.value)
    assert "***" in str(refused.value)


def test_the_provider_comes_from_the_settings_and_is_closed_with_the_rest(
    tmp_path: Path,
) -> None:
    parts = Components(sqlite_settings(tmp_path, PAYSTACK_SECRET_KEY="sk_test_x"), create=True)
    provider = parts.provider()
    assert isinstance(provider, PaystackClient)
    assert parts.ledger().provider is provider
    assert parts.webhooks().ledger is parts.ledger()
    parts.close()
    assert provider._client.is_closed
    assert Components(sqlite_settings(tmp_path), create=True).provider() is None


def test_what_was_given_stays_open_when_the_components_close(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    fake = FakeProvider()
    given = build_ledger(settings, create=True, provider=fake)
    try:
        parts = Components(settings, create=True, ledger=given)
        assert parts.ledger() is given
        assert parts.provider() is fake
        parts.webhooks()
        parts.close()
        assert given.register_user("fan-1", "fan").changed  # still open
    finally:
        close_ledger(given)


def test_closing_twice_is_harmless(tmp_path: Path) -> None:
    parts = Components(sqlite_settings(tmp_path), create=True, provider=None)
    parts.ledger()
    parts.tokens()
    parts.close()
    parts.close()
