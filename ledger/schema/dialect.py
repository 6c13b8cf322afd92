"""SQL for the operational tables, written once for SQLite and PostgreSQL.

Statements use psycopg's ``%s`` placeholders (or ``%(name)s``); on SQLite they become ``?``
(or ``:name``). Values go in as each backend stores them: on SQLite a datetime becomes ISO 8601
UTC text (so text order is time order), a UUID its string, a bool 0/1; on PostgreSQL they are
bound as they are (``timestamptz``, ``uuid``, ``boolean``). Rows come back as tuples on both,
whatever row factory the underlying connection has. What is written the same in both dialects
is written once: ``INSERT ... ON CONFLICT (key) DO UPDATE SET col = excluded.col`` (``upsert``)
and ``ON CONFLICT (key) DO NOTHING`` (``insert_ignore``) work on SQLite 3.24+ as on PostgreSQL;
``Conn.for_update`` is the row lock PostgreSQL needs and SQLite (one writer at a time) does not.

``connect`` opens one autocommit connection to the store: PostgreSQL with ``search_path`` set
to ``LEDGER_POSTGRES_SCHEMA``; SQLite with a busy timeout. ``transaction`` wraps one
transaction: PostgreSQL ``BEGIN`` (``lock_timeout`` if asked), SQLite ``BEGIN IMMEDIATE`` (the
database's write lock, so a read-then-write inside it is never interleaved with another
writer).

What it deliberately does not do: pooling (``ledger.sidetables``), or DDL (``ledger.schema``).
"""

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from ledger.errors import ConfigError
from ledger.persistence import StoreConfig

Params = Mapping[str, Any] | Sequence[Any] | None
_NAMED = re.compile(r"%\((\w+)\)s")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
CONNECT_TIMEOUT = 5  # seconds, PostgreSQL
BUSY_TIMEOUT = 10.0  # seconds SQLite waits for another writer's lock


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


def sqlite_value(value: Any) -> Any:
    """``value`` as SQLite stores it (datetimes as UTC ISO text, UUIDs as text, bools 0/1)."""
    if isinstance(value, datetime):
        # Always UTC, so ISO text compares in time order whatever offset the clock had.
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def to_sqlite(statement: str, params: Params) -> tuple[str, Any]:
    """A psycopg-style statement and its parameters, translated for sqlite3."""
    if isinstance(params, Mapping):
        return _NAMED.sub(r":\1", statement), {k: sqlite_value(v) for k, v in params.items()}
    return statement.replace("%s", "?"), [sqlite_value(v) for v in params or ()]


class Conn:
    """One connection in use, either backend: ``execute(statement, params)`` with psycopg
    placeholders; rows are tuples."""

    def __init__(self, kind: str, raw: Any) -> None:
        self.kind = kind
        self.raw = raw

    def __repr__(self) -> str:
        return f"Conn(kind={self.kind!r})"

    @property
    def for_update(self) -> str:
        """`` FOR UPDATE`` on PostgreSQL (lock the rows read); nothing on SQLite, where the
        transaction already holds the database's write lock."""
        return " FOR UPDATE" if self.kind == "postgres" else ""

    def execute(self, statement: str, params: Params = ()) -> Cursor:
        if self.kind == "sqlite":
            query, args = to_sqlite(statement, params)
            cursor = self.raw.cursor()
            cursor.row_factory = None  # tuples, whatever the connection's factory
            result: Cursor = cursor.execute(query, args)
            return result
        pg_cursor = self.raw.cursor(row_factory=tuple_row)
        pg_result: Cursor = pg_cursor.execute(statement.encode(), params)
        return pg_result

    def rows(self, statement: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Every row ``statement`` returns (none for a statement that returns no rows)."""
        cursor = self.execute(statement, params)
        description = getattr(cursor, "description", None)
        return [tuple(row) for row in cursor.fetchall()] if description else []

    @contextmanager
    def transaction(self, *, lock_timeout: timedelta | None = None) -> Iterator["Conn"]:
        """One transaction on this (autocommit) connection: commits at the end, rolls back on
        error. PostgreSQL: ``BEGIN`` (with ``SET LOCAL lock_timeout`` when given); SQLite:
        ``BEGIN IMMEDIATE`` after setting the busy timeout to ``lock_timeout`` when given."""
        if self.kind == "postgres":
            with self.raw.transaction():
                if lock_timeout is not None:
                    millis = sql.Literal(f"{int(lock_timeout.total_seconds() * 1000)}ms")
                    self.raw.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(millis))
                yield self
            return
        if lock_timeout is not None:
            self.raw.execute(f"PRAGMA busy_timeout = {int(lock_timeout.total_seconds() * 1000)}")
        self.raw.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")


def check_schema_name(config: StoreConfig) -> None:
    """``ConfigError`` unless ``LEDGER_POSTGRES_SCHEMA`` is a plain SQL identifier."""
    if config.kind == "postgres" and not _IDENTIFIER.fullmatch(config.schema):
        raise ConfigError("invalid setting LEDGER_POSTGRES_SCHEMA: not an SQL identifier")


def pg_options(config: StoreConfig) -> str:
    """The connection options that put the store's schema first on the search path."""
    check_schema_name(config)
    return f"-c search_path={config.schema}"


@contextmanager
def connect(config: StoreConfig, *, read_only: bool = False) -> Iterator[Conn]:
    """One autocommit connection to the store, closed at the end. ``read_only`` on SQLite
    opens the file without creating it (``ConfigError`` when it does not exist)."""
    if config.kind == "sqlite":
        assert config.sqlite_path is not None
        target, uri = config.sqlite_path, False
        if read_only:
            path = Path(config.sqlite_path).expanduser().resolve()
            if not path.is_file():
                raise ConfigError(f"no database file at {config.sqlite_path}")
            target, uri = f"{path.as_uri()}?mode=ro", True
        try:
            raw = sqlite3.connect(target, timeout=BUSY_TIMEOUT, isolation_level=None, uri=uri)
        except sqlite3.Error as exc:
            raise ConfigError(f"database unreachable: {exc}") from None
        with closing(raw):
            yield Conn("sqlite", raw)
        return
    assert config.conninfo is not None
    try:
        pg = psycopg.connect(
            config.conninfo,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            options=pg_options(config),
        )
    except psycopg.OperationalError as exc:
        raise ConfigError(f"database unreachable: {first_line(exc)}") from None
    with pg:
        yield Conn("postgres", pg)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (psycopg's carry no password), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """``INSERT`` one row of ``columns``, replacing the other columns of the row with the
    same ``key`` if there is one (both dialects)."""
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608 (our own names)
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


def insert_ignore(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """``INSERT`` one row of ``columns`` unless a row with the same ``key`` exists."""
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    return (
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608 (our own names)
        f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    )


def read_time(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives text, PostgreSQL datetimes)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(at, datetime):
        raise TypeError(f"not a stored time: {value!r}")
    return at.astimezone(UTC)


def read_optional_time(value: Any) -> datetime | None:
    return None if value is None else read_time(value)


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is a duplicate-key error of either backend."""
    return isinstance(exc, psycopg.errors.UniqueViolation | sqlite3.IntegrityError)


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` says a lock was not granted in time (PostgreSQL ``lock_timeout``;
    SQLite's busy timeout: "database is locked")."""
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


__all__ = [
    "Conn",
    "Cursor",
    "Params",
    "check_schema_name",
    "connect",
    "first_line",
    "insert_ignore",
    "is_lock_timeout",
    "is_unique_violation",
    "pg_options",
    "read_optional_time",
    "read_time",
    "sqlite_value",
    "to_sqlite",
    "upsert",
]
