"""Connections for the small operational tables beside the event store (``webhook_deliveries``,
``idempotency_keys``): the same database as the events, written with plain SQL.

These tables are not projections: nothing in them is derived from events, and a rebuild never
touches them. SQL is written once with ``%s`` placeholders (psycopg style) and translated for
sqlite3. On PostgreSQL the tables live in ``LEDGER_POSTGRES_SCHEMA`` and connections come from a
small pool (opened on first use, so building a store connects to nothing); on SQLite each use
opens the file (cheap) with a busy timeout. Times are ``timestamptz`` on PostgreSQL and ISO 8601
UTC text on SQLite.

What it deliberately does not do: migrations beyond ``CREATE TABLE IF NOT EXISTS``, or ORMs.
"""

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from ledger.errors import ConfigError
from ledger.persistence import StoreConfig

# Serialises CREATE TABLE across processes on PostgreSQL (IF NOT EXISTS alone can collide).
_DDL_LOCK_KEY = 0x6C65_6467_6572_0002
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Conn:
    """One connection in use: ``execute(sql, params)`` with ``%s`` placeholders on both
    backends; values that are datetimes are stored as UTC (text on SQLite)."""

    def __init__(self, kind: str, raw: Any) -> None:
        self.kind = kind
        self._raw = raw

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        if self.kind == "sqlite":
            values = [
                v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in params
            ]
            cursor: Cursor = self._raw.execute(statement.replace("%s", "?"), values)
            return cursor
        result: Cursor = self._raw.execute(statement.encode(), list(params))
        return result


def read_time(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives text, PostgreSQL datetimes)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(at, datetime):
        raise TypeError(f"not a stored time: {value!r}")
    return at.astimezone(UTC)


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is a duplicate-key error of either backend."""
    return isinstance(exc, psycopg.errors.UniqueViolation | sqlite3.IntegrityError)


class SideTables:
    """Connections to the ledger's database for operational tables; ``ddl`` is run once per
    instance (under an advisory lock on PostgreSQL). Thread-safe. ``close()`` when done."""

    def __init__(self, config: StoreConfig, ddl: Sequence[str], *, pool_size: int = 5) -> None:
        self.kind = config.kind
        self._config = config
        self._ddl = tuple(ddl)
        self._pool_size = pool_size
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] | None = None
        self._ready = False
        self._lock = threading.Lock()
        if config.kind == "postgres" and not _SCHEMA.fullmatch(config.schema):
            raise ConfigError("invalid setting LEDGER_POSTGRES_SCHEMA: not an SQL identifier")

    def __repr__(self) -> str:
        return f"SideTables(kind={self.kind!r})"

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def _pg_pool(self) -> "ConnectionPool[psycopg.Connection[tuple[Any, ...]]]":
        with self._lock:
            if self._pool is None:
                assert self._config.conninfo is not None
                self._pool = ConnectionPool(
                    self._config.conninfo,
                    min_size=1,
                    max_size=self._pool_size,
                    kwargs={
                        "autocommit": True,
                        "connect_timeout": 5,
                        "options": f"-c search_path={self._config.schema}",
                    },
                    timeout=10,
                    open=False,
                    name="ledger-side-tables",
                )
                self._pool.open(wait=False)
            return self._pool

    @contextmanager
    def _connect(self) -> Iterator[Conn]:
        if self.kind == "sqlite":
            assert self._config.sqlite_path is not None
            raw = sqlite3.connect(self._config.sqlite_path, timeout=10, isolation_level=None)
            with closing(raw):
                yield Conn("sqlite", raw)
            return
        try:
            with self._pg_pool().connection() as pg:
                yield Conn("postgres", pg)
        except PoolTimeout:
            raise ConfigError("database unreachable: no connection within 10 s") from None

    def _prepare(self, conn: Conn) -> None:
        if self._ready:
            return
        if conn.kind == "postgres":
            raw = conn._raw
            with raw.transaction():
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
                raw.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(self._config.schema)
                    )
                )
                for statement in self._ddl:
                    raw.execute(statement.encode())
        else:
            for statement in self._ddl:
                conn.execute(statement)
        self._ready = True

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A connection in autocommit mode (each statement commits on its own)."""
        with self._connect() as conn:
            self._prepare(conn)
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """A connection inside one transaction: commits at the end, rolls back on error.
        (SQLite: ``BEGIN IMMEDIATE``, the database's write lock.)"""
        with self._connect() as conn:
            self._prepare(conn)
            if conn.kind == "postgres":
                with conn._raw.transaction():
                    yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


__all__ = ["Conn", "SideTables", "is_unique_violation", "read_time"]
