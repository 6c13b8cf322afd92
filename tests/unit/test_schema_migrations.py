"""The migration list and the two-dialect SQL helper, without a database server; and the rule
that only ``ledger.schema`` creates or alters an operational table."""

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest

from ledger.schema import LATEST, MIGRATIONS, OPERATIONAL_TABLES
from ledger.schema.dialect import Conn, insert_ignore, to_sqlite, upsert
from ledger.schema.migrations import Migration, check_numbering

ROOT = Path(__file__).resolve().parents[2]
DDL = re.compile(r"\b(CREATE\s+(UNIQUE\s+)?(TABLE|INDEX)|ALTER\s+TABLE|DROP\s+TABLE)\b", re.I)


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


def test_every_migration_has_statements_for_both_dialects() -> None:
    for migration in MIGRATIONS:
        assert migration.statements("sqlite"), migration
        assert migration.statements("postgres"), migration


def test_numbering_with_a_gap_is_refused() -> None:
    gap = (MIGRATIONS[0], Migration(3, "late", ("SELECT 1",), ("SELECT 1",)))

    with pytest.raises(ValueError, match="numbered"):
        check_numbering(gap)


def test_only_the_schema_package_writes_ddl_for_an_operational_table() -> None:
    offenders = []
    for package in ("ledger", "jobs", "projections"):
        for path in (ROOT / package).rglob("*.py"):
            if path.is_relative_to(ROOT / "ledger" / "schema"):
                continue
            text = path.read_text()
            for match in DDL.finditer(text):
                statement = text[match.start() : match.start() + 200]
                for table in OPERATIONAL_TABLES:
                    if re.search(rf"\b{table}\b", statement.split("(")[0]):
                        offenders.append(f"{path.relative_to(ROOT)}: {table}")
    assert offenders == []


def test_placeholders_and_values_are_translated_for_sqlite() -> None:
    at = datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    uid = UUID(int=7)

    query, args = to_sqlite("SELECT %s, %s, %s, %s", [at, uid, True, None])
    named, kwargs = to_sqlite("SELECT %(at)s", {"at": at})

    assert query == "SELECT ?, ?, ?, ?"
    assert args == ["2026-01-05T09:00:00+00:00", str(uid), 1, None]
    assert (named, kwargs) == ("SELECT :at", {"at": "2026-01-05T09:00:00+00:00"})


def test_upsert_and_insert_ignore_run_on_sqlite() -> None:
    raw = sqlite3.connect(":memory:", isolation_level=None)
    conn = Conn("sqlite", raw)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, a TEXT, b TEXT)")
    put = upsert("t", ("k", "a", "b"), ("k",))
    add = insert_ignore("t", ("k", "a", "b"), ("k",))

    conn.execute(put, ("x", "1", "2"))
    conn.execute(put, ("x", "3", None))
    conn.execute(add, ("x", "9", "9"))
    conn.execute(add, ("y", "4", "5"))

    assert conn.rows("SELECT k, a, b FROM t ORDER BY k") == [("x", "3", None), ("y", "4", "5")]


def test_a_transaction_rolls_back_on_error() -> None:
    raw = sqlite3.connect(":memory:", isolation_level=None)
    conn = Conn("sqlite", raw)
    conn.execute("CREATE TABLE t (n INTEGER)")

    def insert_then_fail() -> None:
        with conn.transaction():
            conn.execute("INSERT INTO t VALUES (%s)", [1])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        insert_then_fail()

    assert conn.rows("SELECT n FROM t") == []
    assert conn.for_update == ""
    assert Conn("postgres", None).for_update == " FOR UPDATE"
