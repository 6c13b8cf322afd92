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
from importlib import metadata

import psycopg
from psycopg import sql

from ledger.clock import system_clock
from ledger.errors import ConfigError, SchemaError
from ledger.persistence import StoreConfig
from ledger.schema.dialect import Conn, check_schema_name, connect, first_line
from ledger.schema.migrations import (
    BASELINE_COLUMNS,
    MIGRATIONS,
    OPERATIONAL_TABLES,
    Migration,
    check_numbering,
)
from ledger.schema.status import (
    SchemaStatus,
    State,
    existing_tables,
    read_status,
    table_columns,
)

log = logging.getLogger("ledger.schema")

LOCK_KEY = 0x4C45444745520003  # "LEDGER" + 3: serialises changes to the operational tables
_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at {time} NOT NULL, release TEXT NOT NULL)"
)
_RECORD = "INSERT INTO schema_version (version, name, applied_at, release) VALUES (%s, %s, %s, %s)"


def release() -> str:
    """This release's version (recorded with each migration it applies)."""
    try:
        return metadata.version("escrow-ledger")
    except metadata.PackageNotFoundError:
        return "unknown"


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


__all__ = ["LOCK_KEY", "ensure_schema", "release", "schema_status", "upgrade"]
