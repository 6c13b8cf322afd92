"""What the schema tests share: a database made by the previous release's DDL (the fixture in
``tests/fixtures/schema``), rows in every operational table, and snapshots to compare.

Rows are written with the two-dialect ``Conn`` so each backend stores them its own way (times
as ``timestamptz`` or ISO text, UUIDs, booleans), as the previous release's code did.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import sql

from ledger.persistence import StoreConfig
from ledger.schema import OPERATIONAL_TABLES
from ledger.schema.dialect import Conn, connect
from tests.fixtures import fixture_path

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FAN = uuid.UUID(int=1)
CELEB = uuid.UUID(int=2)
DELIVERY_FLAGGED = uuid.UUID(int=11)
TRANSACTION = uuid.UUID(int=21)


def previous_release_ddl(kind: str) -> str:
    return fixture_path("schema", f"previous_release_{kind}.sql").read_text()


def create_schema(conn: Conn, config: StoreConfig) -> None:
    if conn.kind == "postgres":
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
            .format(sql.Identifier(config.schema))
            .as_string()
        )


def make_previous_release_store(config: StoreConfig) -> None:
    """The operational tables exactly as the release before schema versions created them."""
    with connect(config) as conn:
        create_schema(conn, config)
        script = previous_release_ddl(conn.kind)
        if conn.kind == "sqlite":
            conn.raw.executescript(script)
        else:
            conn.raw.execute(script.encode())


ROWS: dict[str, list[tuple[Any, ...]]] = {
    "contacts": [
        (str(FAN), "fan-1", "fan@example.com", None, T0),
        (str(CELEB), "celeb-1", None, "https://hooks.example.com/celeb", T0 + timedelta(1)),
    ],
    "idempotency_keys": [
        ("ops", "key-done", "POST", "/requests", "ab" * 32, 201, '{"id": "x"}', T0, T0),
        ("ops", "key-running", "POST", "/payments", "cd" * 32, None, None, T0, None),
    ],
    "webhook_deliveries": [
        (uuid.UUID(int=10), T0, "paystack", "charge.success", "ref-1", True, "applied",
         "payment confirmed", "ef" * 32, "52.31.139.75", TRANSACTION),
        (DELIVERY_FLAGGED, T0 + timedelta(minutes=1), "paystack", "charge.success", "ref-2",
         True, "flagged", "amount differs", "01" * 32, None, None),
        (uuid.UUID(int=12), T0 + timedelta(minutes=2), "paystack", None, None, False,
         "invalid_signature", "signature missing", "23" * 32, "10.0.0.9", None),
    ],
    "provider_tokens": [("flutterwave", "tok-secret", T0 + timedelta(minutes=10), T0)],
    "job_runs": [
        ("run-1", "release_escrow_payments", "ok", T0, T0 + timedelta(seconds=3), 3000, T0,
         5, 4, 0, 1, None),
        ("run-2", "check_pending_payments", "failed", T0, T0 + timedelta(seconds=1), 1000, T0,
         1, 0, 1, 0, "ProviderUnavailable: paystack down"),
    ],
    "notifications": [
        ("n-1", 7, str(TRANSACTION), 3, "payment_received", "email", str(FAN), "fan-1",
         "Payment received", "text", "<p>html</p>", '{"amount": 500000}', "SENT", 1, T0, None,
         T0, T0, T0),
        ("n-2", 7, str(TRANSACTION), 3, "payment_received", "webhook", str(FAN), "fan-1",
         "Payment received", "text", "<p>html</p>", '{"amount": 500000}', "FAILED", 10, T0,
         "HTTP 500", T0, T0 + timedelta(hours=1), None),
    ],
}  # fmt: skip


def fill(config: StoreConfig) -> None:
    """Put ``ROWS`` in every operational table."""
    assert set(ROWS) == set(OPERATIONAL_TABLES)
    with connect(config) as conn:
        for table, rows in ROWS.items():
            marks = ", ".join(["%s"] * len(rows[0]))
            for row in rows:
                conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)


def snapshot(config: StoreConfig) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every operational table, as text, in a stable order."""
    with connect(config) as conn:
        return {
            table: sorted(
                tuple("" if v is None else str(v) for v in row)
                for row in conn.rows(f"SELECT * FROM {table}")
            )
            for table in OPERATIONAL_TABLES
        }


def describe(config: StoreConfig) -> list[tuple[str, ...]]:
    """The operational tables' definitions as the catalogue has them: columns (type, null,
    default), keys and indexes. Two stores with equal descriptions have the same tables."""
    with connect(config) as conn:
        if conn.kind == "sqlite":
            marks = ", ".join(["%s"] * len(OPERATIONAL_TABLES))
            rows = conn.rows(
                f"SELECT type, name, tbl_name, sql FROM sqlite_master "
                f"WHERE tbl_name IN ({marks}) ORDER BY type, name",
                list(OPERATIONAL_TABLES),
            )
            return [tuple(str(v) for v in row) for row in rows]
        columns = conn.rows(
            "SELECT table_name, column_name, data_type, is_nullable, "
            "coalesce(column_default, ''), ordinal_position::text "
            "FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = ANY(%s) ORDER BY table_name, ordinal_position",
            [config.schema, list(OPERATIONAL_TABLES)],
        )
        indexes = conn.rows(
            "SELECT tablename, indexname, replace(indexdef, %s, 'S') FROM pg_indexes "
            "WHERE schemaname = %s AND tablename = ANY(%s) ORDER BY indexname",
            [config.schema, config.schema, list(OPERATIONAL_TABLES)],
        )
        return [tuple(str(v) for v in row) for row in [*columns, *indexes]]
