"""A thin, portable connection to the read-side database (SQLite or PostgreSQL).

The read tables live in the same database as the event store, so a projector writes its rows
and its tracking position in one transaction. SQL is written once with ``%(name)s`` or ``%s``
placeholders (psycopg style) and translated for sqlite3 by ``ledger.schema.dialect`` (the
same translation as the operational tables'). Identifiers are unquoted, so the
runbook's SQL runs verbatim in psql. Timestamps are stored as ``timestamptz`` on PostgreSQL and
as ISO 8601 text on SQLite (which has no time type); both compare in time order.

Bulk helpers for projectors that write a batch at once: ``select_where_in`` (one query for
many keys), ``insert_rows`` (binary ``COPY`` on PostgreSQL) and ``update_columns`` (one
``COPY`` into a temporary table and one ``UPDATE ... FROM`` it on PostgreSQL).

What it deliberately does not do: pooling (one connection per engine, and ``reopen`` for a
second one), or ORMs.
"""

import contextlib
import hashlib
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import dict_row

from ledger.persistence import SCHEMA_LOCK_KEY, StoreConfig
from ledger.schema.dialect import CONNECT_TIMEOUT, Conn, Params, sqlite_value, to_sqlite

_SQLITE_CHUNK = 500  # values per IN (...) list, well under SQLite's variable limit
_COPY_UPDATE_MIN = 50  # rows from which update_columns goes through COPY on PostgreSQL


class ReadDB:
    """One connection to the read-side database, with explicit transactions."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.kind = config.kind
        self.schema = config.schema
        self._connect()

    def _connect(self) -> None:
        config = self.config
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
            self._pg = psycopg.connect(
                config.conninfo,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=CONNECT_TIMEOUT,
            )
            self._temp_tables: set[str] = set()
            self._pg.execute(
                pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(config.schema))
            )

    def reconnect(self) -> None:
        """Replace this connection by a fresh one (after the database went away: the old one
        is closed, errors ignored). A transaction it had open is gone, rolled back by the
        server; temporary tables too."""
        with contextlib.suppress(Exception):
            self.close()
        self._connect()

    def reopen(self) -> "ReadDB":
        """Another connection to the same database (the caller closes it)."""
        return ReadDB(self.config)

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
        return to_sqlite(statement, params)

    def conn(self) -> Conn:
        """This connection as ``ledger.schema``'s two-dialect ``Conn`` (rows as tuples), for
        code shared with the operational tables (e.g. ``ensure_schema``)."""
        return Conn(self.kind, self._pg if self._pg is not None else self._sqlite)

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
                query, [{k: sqlite_value(v) for k, v in r.items()} for r in rows]
            )

    def select_where_in(
        self, table: str, columns: Sequence[str], key: str, values: Collection[Any]
    ) -> list[dict[str, Any]]:
        """``columns`` of every row of ``table`` whose ``key`` is one of ``values``: one query
        on PostgreSQL (``= ANY(%s)``), chunks of ``IN (...)`` on SQLite."""
        wanted = list(values)
        if not wanted:
            return []
        names = ", ".join(columns)
        if self._pg is not None:
            query = f"SELECT {names} FROM {table} WHERE {key} = ANY(%s)"
            return self._pg.execute(query.encode(), [wanted]).fetchall()
        rows: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _SQLITE_CHUNK):
            chunk = [sqlite_value(v) for v in wanted[start : start + _SQLITE_CHUNK]]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT {names} FROM {table} WHERE {key} IN ({marks})"
            rows.extend(dict(row) for row in self._sqlite.execute(query, chunk))
        return rows

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        types: Sequence[str] | None = None,
    ) -> None:
        """Insert ``rows`` (values in ``columns`` order) in one go: ``COPY`` on PostgreSQL
        (binary when the columns' SQL ``types`` are given), ``executemany`` on SQLite. A
        duplicate key fails the caller's transaction."""
        names = ", ".join(columns)
        if self._pg is not None:
            self._copy(table, columns, rows, types)
            return
        marks = ", ".join("?" * len(columns))
        self._sqlite.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks})",
            ([sqlite_value(v) for v in row] for row in rows),
        )

    def _copy(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        types: Sequence[str] | None,
    ) -> None:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        if types is not None:
            statement += " (FORMAT BINARY)"
        with self.pg.cursor() as cur, cur.copy(statement.encode()) as copy:
            if types is not None:
                copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)

    def update_columns(
        self,
        table: str,
        key: str,
        columns: Sequence[str],
        changes: Sequence[tuple[Any, Mapping[str, Any]]],
        types: Sequence[str] | None = None,
    ) -> None:
        """For each ``(key value, {column: value})`` of ``changes``, set those columns of the
        row with that key (a missing row: nothing happens, as with ``UPDATE``). ``columns``
        lists every column a change may set. On PostgreSQL a large set goes in ONE ``COPY``
        into a session-private temporary table (each row with a bit mask of the columns it
        sets; binary when the SQL ``types`` of the key and ``columns`` are given) and ONE
        ``UPDATE ... FROM`` it, which also empties it; otherwise (and on SQLite) one
        ``executemany`` per set of columns."""
        if not changes:
            return
        if self._pg is not None and len(changes) >= _COPY_UPDATE_MIN:
            self._update_by_copy(table, key, columns, changes, types)
            return
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        for value, assigned in changes:
            names = tuple(sorted(assigned))
            groups.setdefault(names, []).append([*map(assigned.get, names), value])
        for names, rows in groups.items():
            assignments = ", ".join(f"{name} = %s" for name in names)
            statement = f"UPDATE {table} SET {assignments} WHERE {key} = %s"
            if self._pg is not None:
                with self._pg.cursor() as cur:
                    cur.executemany(statement.encode(), rows)
            else:
                self._sqlite.executemany(
                    statement.replace("%s", "?"),
                    ([sqlite_value(v) for v in row] for row in rows),
                )

    def _update_by_copy(
        self,
        table: str,
        key: str,
        columns: Sequence[str],
        changes: Sequence[tuple[Any, Mapping[str, Any]]],
        types: Sequence[str] | None,
    ) -> None:
        if len(columns) > 62:
            raise ValueError("at most 62 columns per bulk update")
        names = ", ".join(columns)
        digest = hashlib.blake2s(f"{table}:{key}:{names}".encode(), digest_size=6).hexdigest()
        temp = f"_upd_{digest}"  # one per table and column list, for this session only
        pg = self.pg
        if temp not in self._temp_tables:
            pg.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {temp} AS "
                f"SELECT {key}, 0::bigint AS set_mask, {names} FROM {table} WITH NO DATA".encode()
            )
            self._temp_tables.add(temp)
        bits = {name: 1 << i for i, name in enumerate(columns)}
        self._copy(
            temp,
            [key, "set_mask", *columns],
            (
                [value, sum(bits[name] for name in assigned), *map(assigned.get, columns)]
                for value, assigned in changes
            ),
            None if types is None else [types[0], "bigint", *types[1:]],
        )
        assignments = ", ".join(
            f"{name} = CASE WHEN u.set_mask & {bits[name]} = 0 THEN t.{name} ELSE u.{name} END"
            for name in columns
        )
        # One row looked up by key per change: the planner would otherwise often hash the
        # whole table to join a few thousand rows. Settings local to this statement's run.
        pg.execute(
            "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "
            f"WITH u AS (DELETE FROM {temp} RETURNING *) "
            f"UPDATE {table} AS t SET {assignments} FROM u WHERE t.{key} = u.{key}; "
            "RESET enable_hashjoin; RESET enable_mergejoin".encode()
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
            try:
                with self._pg.transaction():
                    yield self
            except BaseException:
                self._temp_tables.clear()  # any created in it are gone; IF NOT EXISTS next time
                raise
            return
        self._sqlite.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._sqlite.execute("ROLLBACK")
            raise
        self._sqlite.execute("COMMIT")

    def lock_schema_changes(self) -> None:
        """Inside a transaction: wait for other processes creating tables in this database
        (PostgreSQL's CREATE ... IF NOT EXISTS races on its catalogues). Held to the commit;
        the same key as ``ledger.persistence.schema_lock``. No-op on SQLite."""
        if self._pg is not None:
            self.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK_KEY])

    def log_head(self) -> int:
        """The event log's last notification id (0 when empty or not created yet). The table
        is eventsourcing's: ``ledger_events`` on PostgreSQL, ``stored_events`` on SQLite."""
        events_table = "ledger_events" if self._pg is not None else "stored_events"
        if not self.table_exists(events_table):
            return 0
        column = "notification_id" if self._pg is not None else "rowid"
        row = self.fetchone(f"SELECT MAX({column}) AS head FROM {events_table}")
        return int(row["head"]) if row and row["head"] is not None else 0

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
