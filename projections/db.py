"""A thin, portable connection to the read-side database (SQLite or PostgreSQL).

The read tables live in the same database as the event store, so a projector writes its rows
and its tracking position in one transaction. SQL is written once with ``%(name)s`` or ``%s``
placeholders (psycopg style) and translated for sqlite3. Identifiers are unquoted, so the
runbook's SQL runs verbatim in psql. Timestamps are stored as ``timestamptz`` on PostgreSQL and
as ISO 8601 text on SQLite (which has no time type); both compare in time order.

What it deliberately does not do: pooling (one connection per engine), or ORMs.
"""

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import dict_row

from ledger.persistence import StoreConfig

Params = Mapping[str, Any] | Sequence[Any] | None
_NAMED = re.compile(r"%\((\w+)\)s")


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


class ReadDB:
    """One connection to the read-side database, with explicit transactions."""

    def __init__(self, config: StoreConfig) -> None:
        self.kind = config.kind
        self.schema = config.schema
        if config.kind == "sqlite":
            assert config.sqlite_path is not None
            self._sqlite = sqlite3.connect(
                config.sqlite_path, isolation_level=None, check_same_thread=False, timeout=10
            )
            self._sqlite.row_factory = sqlite3.Row
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._pg: psycopg.Connection[dict[str, Any]] | None = None
        else:
            assert config.conninfo is not None
            self._pg = psycopg.connect(config.conninfo, autocommit=True, row_factory=dict_row)
            self._pg.execute(
                pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(config.schema))
            )

    @property
    def pg(self) -> "psycopg.Connection[dict[str, Any]]":
        assert self._pg is not None, "PostgreSQL only"
        return self._pg

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
        else:
            self._sqlite.close()

    def _translate(self, statement: str, params: Params) -> tuple[str, Any]:
        if self._pg is not None:
            return statement, params
        if isinstance(params, Mapping):
            return _NAMED.sub(r":\1", statement), {k: _sqlite_value(v) for k, v in params.items()}
        args = [_sqlite_value(v) for v in params or ()]
        return statement.replace("%s", "?"), args

    def execute(self, statement: str, params: Params = None) -> None:
        query, args = self._translate(statement, params)
        if self._pg is not None:
            self._pg.execute(query.encode(), args)
        else:
            self._sqlite.execute(query, args or ())

    def executemany(self, statement: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if self._pg is not None:
            with self._pg.cursor() as cur:
                cur.executemany(statement.encode(), rows)
        else:
            query, _ = self._translate(statement, rows[0])
            self._sqlite.executemany(
                query, [{k: _sqlite_value(v) for k, v in r.items()} for r in rows]
            )

    def fetchall(self, statement: str, params: Params = None) -> list[dict[str, Any]]:
        query, args = self._translate(statement, params)
        if self._pg is not None:
            return self._pg.execute(query.encode(), args).fetchall()
        return [dict(row) for row in self._sqlite.execute(query, args or ()).fetchall()]

    def fetchone(self, statement: str, params: Params = None) -> dict[str, Any] | None:
        rows = self.fetchall(statement, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator["ReadDB"]:
        """Everything inside commits together or not at all."""
        if self._pg is not None:
            with self._pg.transaction():
                yield self
            return
        self._sqlite.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._sqlite.execute("ROLLBACK")
            raise
        self._sqlite.execute("COMMIT")

    def table_exists(self, name: str) -> bool:
        if self._pg is not None:
            row = self.fetchone(
                "SELECT 1 AS one FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s",
                [self.schema, name],
            )
        else:
            row = self.fetchone(
                "SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = %s", [name]
            )
        return row is not None


__all__ = ["ReadDB"]
