"""Persistence configuration: ``LEDGER_DATABASE_URL`` -> the eventsourcing environment.

``sqlite:///path/to/ledger.db`` selects eventsourcing's SQLite module (the embedded default);
``postgresql://user:pass@host:port/dbname`` its PostgreSQL module over psycopg 3, in the schema
``LEDGER_POSTGRES_SCHEMA`` (created when missing). The store is checked once at start-up so an
unreachable database is one clear ``ConfigError``, not a retry loop. We never enable
``POSTGRES_ENABLE_DB_FUNCTIONS`` (in 9.5.6 it skips the table lock that keeps notification ids
gap-safe). Passwords never appear in messages: see ``redact``.

On PostgreSQL the event store uses ``OneTripRecorder``: the library's statements in the
library's transaction (lock the table, NOTIFY, INSERT, COMMIT), sent as one query string, so
a save costs one round trip instead of five.
"""

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import sql
from psycopg.rows import tuple_row

from ledger.errors import ConfigError, PaymentBusy
from ledger.locks import GUARD_SQLSTATE, STALE_READ_SQLSTATE


@dataclass(frozen=True)
class StoreConfig:
    """Where the event store and read tables live."""

    kind: str  # "sqlite" or "postgres"
    env: dict[str, str]  # the eventsourcing environment
    sqlite_path: str | None = None
    conninfo: str | None = None  # psycopg connection string (postgres only)
    schema: str = "public"


class OneTripRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, saving in one round trip.

    ``insert_events`` runs the statements of the library's (9.5.6) non-function path, in one
    explicit transaction: ``BEGIN; SET LOCAL lock_timeout; LOCK TABLE ... IN EXCLUSIVE MODE;
    NOTIFY; INSERT ... RETURNING notification_id; COMMIT``. The library sends them through
    nested pipelines that sync five times per save; here they go as one query string (the
    values bound and escaped by psycopg's ``ClientCursor``), so a save costs one round trip.
    The guarantees are the library's: the table lock is held until COMMIT, so notification ids
    are assigned in commit order (no gaps a reader could pass over); a version collision
    raises ``IntegrityError`` and nothing is written (the transaction is rolled back); lock
    and connection failures are retried like the library's.
    """

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        table = sql.Identifier(self.datastore.schema, self.events_table_name)
        head = sql.SQL("BEGIN; {lock}; NOTIFY {channel}; INSERT INTO {table} ").format(
            lock=sql.SQL("; ").join(self.lock_table_statements),
            channel=sql.Identifier(self.channel_name),
            table=table,
        )
        # Rendered once, with any literal % doubled: the values are bound by ClientCursor.
        self._table_sql = table.as_string().replace("%", "%%")
        self._head = head.as_string().replace("%", "%%")
        self._head += "(originator_id, originator_version, topic, state) VALUES "
        self._tail = " RETURNING notification_id; COMMIT"

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None
        query = self._head + ", ".join(["(%s, %s, %s, %s)"] * len(stored_events)) + self._tail
        guard: Sequence[int] = kwargs.get("payment_guard") or ()
        if guard:
            # Fail the whole save, inside its own transaction, if another command holds one of
            # these payments (ledger.locks): a shared try-lock held until COMMIT.
            checks = "".join(
                f"IF NOT pg_try_advisory_xact_lock_shared({int(key)}) THEN "
                f"RAISE EXCEPTION USING ERRCODE = '{GUARD_SQLSTATE}', "
                f"MESSAGE = 'payment busy'; END IF; "
                for key in guard
            )
            query = query.replace("BEGIN; ", f"BEGIN; DO $$BEGIN {checks}END$$; ", 1)
        expected: Sequence[tuple[UUID, int]] = kwargs.get("expect_versions") or ()
        if expected:
            # Read-set validation, under the table lock (no insert can slip in before COMMIT):
            # an aggregate the decision read but does not write must not have moved since.
            # Every value is ours and re-typed here (the table's quoted name, a UUID, an int).
            table = self._table_sql
            checks = "".join(
                f"IF EXISTS (SELECT 1 FROM {table} WHERE originator_id = "  # noqa: S608
                f"'{UUID(str(aggregate_id))}'::uuid AND originator_version > {int(version)}) "
                f"THEN RAISE EXCEPTION USING ERRCODE = '{STALE_READ_SQLSTATE}', "
                f"MESSAGE = 'stale read'; END IF; "
                for aggregate_id, version in expected
            )
            query = query.replace(" NOTIFY ", f" DO $$BEGIN {checks}END$$; NOTIFY ", 1)
        params: list[Any] = []
        for e in stored_events:
            params += (e.originator_id, e.originator_version, e.topic, e.state)
        with (
            self.datastore.get_connection() as conn,
            psycopg.ClientCursor(conn, row_factory=tuple_row) as curs,
        ):
            try:
                curs.execute(query, params)
                while curs.description is None and curs.nextset():
                    pass  # to the INSERT's result
                notification_ids = [row[0] for row in curs.fetchall()]
            except psycopg.Error as exc:
                if conn.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    with contextlib.suppress(psycopg.Error):  # if broken, the pool drops it
                        conn.execute("ROLLBACK")
                if exc.sqlstate == GUARD_SQLSTATE:
                    raise PaymentBusy(
                        "payment is busy (a refund or another change is in progress); try again"
                    ) from None
                if exc.sqlstate == STALE_READ_SQLSTATE:
                    raise IntegrityError("an aggregate read by the decision changed") from None
                raise  # get_connection() maps it to eventsourcing's exceptions
        if len(notification_ids) != len(stored_events):
            raise OperationalError(
                f"expected {len(stored_events)} notification ids, got {len(notification_ids)}"
            )
        return notification_ids


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def store_config(url: str, *, schema: str = "public", pool_size: int = 5) -> StoreConfig:
    """Translate a database URL into the environment eventsourcing expects."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise ConfigError("invalid setting LEDGER_DATABASE_URL: sqlite:/// needs a file path")
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
        return StoreConfig(kind="sqlite", env=env, sqlite_path=path)
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        dbname = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not dbname:
            raise ConfigError(
                "invalid setting LEDGER_DATABASE_URL: expected postgresql://USER@HOST:PORT/DBNAME"
            )
        user = unquote(parts.username or "postgres")
        password = unquote(parts.password or "")
        port = str(parts.port or 5432)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": port,
            "POSTGRES_USER": user,
            "POSTGRES_PASSWORD": password,
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
            "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
            "APPLICATION_RECORDER_TOPIC": "ledger.persistence:OneTripRecorder",
        }
        conninfo = psycopg.conninfo.make_conninfo(
            dbname=dbname, host=parts.hostname, port=port, user=user, password=password
        )
        return StoreConfig(kind="postgres", env=env, conninfo=conninfo, schema=schema)
    raise ConfigError(
        "invalid setting LEDGER_DATABASE_URL: expected sqlite:///PATH or postgresql://..."
    )


SCHEMA_LOCK_KEY = 0x4C45444745520001  # "LEDGER" + 1: serialises schema creation


@contextlib.contextmanager
def schema_lock(config: StoreConfig) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while the event store creates its tables, types and
    functions: two processes doing ``CREATE OR REPLACE FUNCTION`` at once fail with "tuple
    concurrently updated". A no-op on SQLite (its creation statements are serialised)."""
    if config.kind != "postgres":
        yield
        return
    assert config.conninfo is not None
    with psycopg.connect(config.conninfo, connect_timeout=5, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [SCHEMA_LOCK_KEY])
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [SCHEMA_LOCK_KEY])


NO_LEDGER = "no ledger at {url}: set LEDGER_DATABASE_URL or run a command that writes"


def no_ledger(url: str) -> ConfigError:
    """The error of a command that only reads, on a store that holds no ledger."""
    return ConfigError(NO_LEDGER.format(url=redact(url)))


def prepare_store(config: StoreConfig, url_for_messages: str, *, create: bool = True) -> None:
    """Check the store is reachable; with ``create``, create the PostgreSQL schema when
    missing (the SQLite file is created by connecting). Without ``create`` nothing is
    created: a missing SQLite file is ``no_ledger`` (a missing schema is found out by
    ``holds_table``)."""
    where = redact(url_for_messages)
    if config.kind == "sqlite":
        assert config.sqlite_path is not None
        parent = Path(config.sqlite_path).expanduser().resolve().parent
        if not create and not Path(config.sqlite_path).expanduser().is_file():
            raise no_ledger(url_for_messages)
        if not parent.is_dir():
            raise ConfigError(f"database unreachable: directory {parent} does not exist ({where})")
        try:
            sqlite3.connect(config.sqlite_path).close()
        except sqlite3.Error as exc:
            raise ConfigError(f"database unreachable: {exc} ({where})") from None
        return
    assert config.conninfo is not None
    try:
        # Another process may create the schema at the same moment: that is what we wanted.
        with (
            psycopg.connect(config.conninfo, connect_timeout=5, autocommit=True) as conn,
            contextlib.suppress(psycopg.errors.UniqueViolation),
        ):
            if create:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(config.schema))
                )
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"database unreachable: {reason} ({where})") from None


def holds_table(config: StoreConfig, table: str, url_for_messages: str) -> bool:
    """Whether the store already has ``table`` (in its schema), creating nothing.
    ``ConfigError`` when the store cannot be reached or read."""
    where = redact(url_for_messages)
    if config.kind == "sqlite":
        assert config.sqlite_path is not None
        path = Path(config.sqlite_path).expanduser()
        if not path.is_file():
            return False
        try:
            # A read-only URI: never creates the file.
            with contextlib.closing(
                sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
            ) as conn:
                found = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
                ).fetchone()
        except sqlite3.Error as exc:
            raise ConfigError(f"event store unusable: {exc} ({where})") from None
        return found is not None
    assert config.conninfo is not None
    try:
        with psycopg.connect(config.conninfo, connect_timeout=5, autocommit=True) as conn:
            qualified = sql.Identifier(config.schema, table).as_string(conn)
            row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [qualified]).fetchone()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"database unreachable: {reason} ({where})") from None
    return bool(row and row[0])


__all__ = [
    "NO_LEDGER",
    "OneTripRecorder",
    "StoreConfig",
    "holds_table",
    "no_ledger",
    "prepare_store",
    "redact",
    "schema_lock",
    "store_config",
]
