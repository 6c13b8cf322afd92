"""Versions of the operational tables: read them, initialise an empty store, upgrade.

The version is kept in ``schema_version`` (one row per applied migration: version, name, when,
which release applied it) beside the tables, in the same database and PostgreSQL schema. A
store is in one of five states:

- ``empty``: no version and none of the operational tables: ``ensure_schema`` initialises it
  to the latest version at once (a first run needs no extra step);
- ``unversioned``: no version, but tables of the release before versions: only
  ``ledger db upgrade`` touches it (it adopts them as version 1, then upgrades);
- ``behind``: versioned, older than this release needs: only ``ledger db upgrade``;
- ``current``; ``ahead`` (a newer release upgraded it: usable, migrations only ever expand).

Concurrency: every change happens under one lock: PostgreSQL a transaction-level advisory lock
(``LOCK_KEY``), SQLite ``BEGIN IMMEDIATE`` (the database's write lock). The state is read
again under the lock, so replicas starting or upgrading together apply each migration once;
the primary key on ``schema_version.version`` would refuse a second row anyway. Each migration
commits with its ``schema_version`` row (transactional DDL on both dialects); initialising an
empty store applies them all in one transaction, so no replica ever sees it half made.

What it deliberately does not do: downgrade (migrations only expand, see
``ledger.schema.migrations``), or touch the event store and the read tables (the library
creates the former; the latter are rebuilt from events, see ``projections``).
"""

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from importlib import metadata

import psycopg
from psycopg import sql

from ledger.clock import system_clock
from ledger.errors import ConfigError, SchemaError
from ledger.persistence import StoreConfig
from ledger.schema.dialect import Conn, check_schema_name, connect, first_line, read_time
from ledger.schema.migrations import (
    BASELINE_COLUMNS,
    MIGRATIONS,
    OPERATIONAL_TABLES,
    Migration,
    check_numbering,
)

log = logging.getLogger("ledger.schema")

VERSION_TABLE = "schema_version"
LOCK_KEY = 0x4C45444745520003  # "LEDGER" + 3: serialises changes to the operational tables
UPGRADE_COMMAND = "ledger db upgrade"
_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at {time} NOT NULL, release TEXT NOT NULL)"
)
_RECORD = "INSERT INTO schema_version (version, name, applied_at, release) VALUES (%s, %s, %s, %s)"


class State(StrEnum):
    EMPTY = "empty"
    UNVERSIONED = "unversioned"
    BEHIND = "behind"
    CURRENT = "current"
    AHEAD = "ahead"


@dataclass(frozen=True)
class Applied:
    """One row of ``schema_version``."""

    version: int
    name: str
    applied_at: datetime
    release: str


@dataclass(frozen=True)
class SchemaStatus:
    state: State
    version: int  # 0 when empty or unversioned
    latest: int  # the newest version this release knows
    pending: tuple[Migration, ...]
    applied: tuple[Applied, ...]

    @property
    def usable(self) -> bool:
        """Whether this release can run on the store as it is."""
        return self.state in (State.CURRENT, State.AHEAD)

    def problem(self) -> str | None:
        """Why this release cannot run on the store (one line naming the command), or None."""
        if self.state is State.UNVERSIONED:
            return (
                "schema is unversioned (tables of a release before schema versions) and older "
                f'than this release needs ({self.latest}): run "{UPGRADE_COMMAND}"'
            )
        if self.state is State.BEHIND:
            return (
                f"schema version {self.version} is older than this release needs "
                f'({self.latest}): run "{UPGRADE_COMMAND}"'
            )
        return None


def release() -> str:
    """This release's version (recorded with each migration it applies)."""
    try:
        return metadata.version("escrow-ledger")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- reading -----------------------------------------------------------------------------


def existing_tables(conn: Conn, config: StoreConfig, names: Sequence[str]) -> set[str]:
    """Which of ``names`` are tables in the store (its PostgreSQL schema)."""
    if conn.kind == "postgres":
        rows = conn.rows(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'p') "
            "AND c.relname = ANY(%s)",
            [config.schema, list(names)],
        )
    else:
        marks = ", ".join(["%s"] * len(names))
        rows = conn.rows(
            f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",  # noqa: S608
            list(names),
        )
    return {str(row[0]) for row in rows}


def table_columns(conn: Conn, config: StoreConfig, table: str) -> set[str]:
    """The column names of ``table``, lower case (empty when there is no such table)."""
    if conn.kind == "postgres":
        rows = conn.rows(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            [config.schema, table],
        )
    else:
        rows = conn.rows("SELECT name FROM pragma_table_info(%s)", [table])
    return {str(row[0]).lower() for row in rows}


def read_status(
    conn: Conn, config: StoreConfig, migrations: Sequence[Migration] = MIGRATIONS
) -> SchemaStatus:
    """The store's schema state as this release (knowing ``migrations``) sees it."""
    found = existing_tables(conn, config, [VERSION_TABLE, *OPERATIONAL_TABLES])
    applied: tuple[Applied, ...] = ()
    if VERSION_TABLE in found:
        rows = conn.rows(
            "SELECT version, name, applied_at, release FROM schema_version ORDER BY version"
        )
        applied = tuple(Applied(int(v), str(n), read_time(at), str(r)) for v, n, at, r in rows)
    version = max((a.version for a in applied), default=0)
    latest = migrations[-1].version if migrations else 0
    if version == 0:
        state = State.UNVERSIONED if found - {VERSION_TABLE} else State.EMPTY
    elif version < latest:
        state = State.BEHIND
    elif version == latest:
        state = State.CURRENT
    else:
        state = State.AHEAD
    pending = tuple(m for m in migrations if m.version > version)
    return SchemaStatus(state, version, latest, pending, applied)


# -- changing ----------------------------------------------------------------------------


@contextmanager
def _locked(conn: Conn, config: StoreConfig) -> Iterator[None]:
    """One transaction holding the schema lock (see the module docstring)."""
    with conn.transaction():
        if conn.kind == "postgres":
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            schema = sql.Identifier(config.schema).as_string()
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        yield


def _apply(conn: Conn, migration: Migration) -> None:
    """Run ``migration``'s statements and record it (inside the caller's transaction)."""
    time_type = "TIMESTAMPTZ" if conn.kind == "postgres" else "TEXT"
    conn.execute(_VERSION_DDL.format(time=time_type))
    for statement in migration.statements(conn.kind):
        conn.execute(statement)
    conn.execute(_RECORD, [migration.version, migration.name, system_clock(), release()])


def _check_baseline(conn: Conn, config: StoreConfig) -> None:
    """``SchemaError`` unless every operational table already there has exactly the columns
    migration 1 gives it (so adopting it as version 1 is true)."""
    for table in sorted(existing_tables(conn, config, OPERATIONAL_TABLES)):
        have, want = table_columns(conn, config, table), set(BASELINE_COLUMNS[table])
        if have != want:
            extra = ", ".join(sorted(have - want)) or "none"
            missing = ", ".join(sorted(want - have)) or "none"
            raise SchemaError(
                f"table {table} is not one this release knows (extra columns: {extra}; "
                f"missing: {missing}): nothing was changed"
            )


@contextmanager
def _session(
    config: StoreConfig,
    conn: Conn | None,
    migrations: Sequence[Migration],
    *,
    read_only: bool = False,
) -> Iterator[Conn]:
    """``conn``, or a new connection; a database error inside is one ``ConfigError`` line."""
    check_schema_name(config)
    check_numbering(migrations)
    if not migrations:
        raise ValueError("no migrations")
    try:
        with nullcontext(conn) if conn is not None else connect(config, read_only=read_only) as c:
            yield c
    except (psycopg.Error, sqlite3.Error) as exc:
        raise ConfigError(f"database error on the operational tables: {first_line(exc)}") from exc


def ensure_schema(
    config: StoreConfig,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    conn: Conn | None = None,
) -> SchemaStatus:
    """Make sure this release can run on the store: an empty store is initialised to the
    latest version (one transaction); a current or newer one is left as it is; an older or
    unversioned one raises ``SchemaError`` naming ``ledger db upgrade`` (nothing is changed:
    upgrading is an operator's decision). Cheap when current: two catalogue reads, no lock.
    ``conn`` (autocommit, outside any transaction) is used instead of a new connection."""
    with _session(config, conn, migrations) as session:
        status = read_status(session, config, migrations)
        if status.state is State.EMPTY:
            with _locked(session, config):
                status = read_status(session, config, migrations)
                if status.state is State.EMPTY:
                    for migration in migrations:
                        _apply(session, migration)
                    log.info("event=schema_initialised version=%s", migrations[-1].version)
            status = read_status(session, config, migrations)
        problem = status.problem()
        if problem is not None:
            raise SchemaError(problem)
        if status.state is State.AHEAD:
            log.info("event=schema_newer version=%s latest=%s", status.version, status.latest)
        return status


def upgrade(
    config: StoreConfig,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    conn: Conn | None = None,
    on_applied: Callable[[Migration], None] | None = None,
) -> list[Migration]:
    """Apply every pending migration, each in its own transaction with its version row, and
    return those this call applied (none when another process got there first, or when the
    store is current or newer). An empty store is initialised in one transaction; an
    unversioned one has its tables checked and adopted as version 1 first. Idempotent."""
    done: list[Migration] = []
    with _session(config, conn, migrations) as session:
        while True:
            with _locked(session, config):
                status = read_status(session, config, migrations)
                if not status.pending:
                    break
                batch = status.pending if status.state is State.EMPTY else status.pending[:1]
                if status.state is State.UNVERSIONED:
                    _check_baseline(session, config)
                for migration in batch:
                    _apply(session, migration)
            for migration in batch:
                log.info(
                    "event=schema_migration_applied version=%s name=%s",
                    migration.version,
                    migration.name,
                )
                done.append(migration)
                if on_applied is not None:
                    on_applied(migration)
    return done


def schema_status(
    config: StoreConfig,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    conn: Conn | None = None,
) -> SchemaStatus:
    """The store's state, read without changing anything (on SQLite the file is opened
    read-only: a missing file is a ``ConfigError``, never created)."""
    with _session(config, conn, migrations, read_only=True) as session:
        return read_status(session, config, migrations)


__all__ = [
    "LOCK_KEY",
    "UPGRADE_COMMAND",
    "VERSION_TABLE",
    "Applied",
    "SchemaStatus",
    "State",
    "ensure_schema",
    "existing_tables",
    "read_status",
    "release",
    "schema_status",
    "table_columns",
    "upgrade",
]
