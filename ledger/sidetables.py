"""Connections for the operational tables beside the event store (``webhook_deliveries``,
``idempotency_keys``, ``contacts``, ``provider_tokens``): the same database as the events,
written with plain SQL through ``ledger.schema.dialect``.

These tables are not projections: nothing in them is derived from events, and a rebuild never
touches them. Their DDL belongs to ``ledger.schema``: on first use each ``SideTables`` calls
``ensure_schema`` once (an empty store is initialised, an older one is refused with a
``SchemaError`` naming ``ledger db upgrade``). On PostgreSQL connections come from a small pool
(opened on first use, so building one connects to nothing; each connection checked as it is
taken, so one the server dropped is replaced), or with ``pool_size=0`` one short connection
per use (for stores built per request); on SQLite each use opens the file (cheap)
with a busy timeout. One ``SideTables`` may serve every store of a process.

What it deliberately does not do: create or alter tables, or ORMs.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ledger.config import Settings
from ledger.errors import ConfigError
from ledger.persistence import StoreConfig, store_config
from ledger.schema import ensure_schema
from ledger.schema.dialect import (
    CONNECT_TIMEOUT,
    Conn,
    check_schema_name,
    connect,
    is_lock_timeout,
    is_unique_violation,
    pg_options,
    read_time,
)


class SideTables:
    """Connections to the ledger's database for the operational tables. Thread-safe.
    ``close()`` when done."""

    def __init__(self, config: StoreConfig, *, pool_size: int = 5) -> None:
        check_schema_name(config)
        self.kind = config.kind
        self.config = config
        self._pool_size = pool_size
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] | None = None
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, pool_size: int | None = None) -> "SideTables":
        """On ``LEDGER_DATABASE_URL``; pooled with ``LEDGER_POSTGRES_POOL_SIZE`` unless
        ``pool_size`` says otherwise (0: no pool)."""
        size = settings.postgres_pool_size if pool_size is None else pool_size
        config = store_config(settings.database_url, schema=settings.postgres_schema)
        return cls(config, pool_size=size)

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
                assert self.config.conninfo is not None
                self._pool = ConnectionPool(
                    self.config.conninfo,
                    min_size=1,
                    max_size=self._pool_size,
                    kwargs={
                        "autocommit": True,
                        "connect_timeout": CONNECT_TIMEOUT,
                        "options": pg_options(self.config),
                    },
                    timeout=10,
                    open=False,
                    name="ledger-side-tables",
                    # A connection the server dropped (a restart, pg_terminate_backend) is
                    # found on checkout and replaced, not handed to a request to fail.
                    check=ConnectionPool.check_connection,
                )
                self._pool.open(wait=False)
            return self._pool

    @contextmanager
    def _connect(self) -> Iterator[Conn]:
        if self.kind == "sqlite" or self._pool_size <= 0:
            with connect(self.config) as conn:
                yield conn
            return
        try:
            with self._pg_pool().connection() as pg:
                yield Conn("postgres", pg)
        except PoolTimeout:
            raise ConfigError("database unreachable: no connection within 10 s") from None

    def _prepare(self, conn: Conn) -> None:
        if not self._ready:
            ensure_schema(self.config, conn=conn)
            self._ready = True

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A connection in autocommit mode (each statement commits on its own)."""
        with self._connect() as conn:
            self._prepare(conn)
            yield conn

    @contextmanager
    def transaction(self, *, lock_timeout: timedelta | None = None) -> Iterator[Conn]:
        """A connection inside one transaction: commits at the end, rolls back on error
        (SQLite: ``BEGIN IMMEDIATE``, the database's write lock). ``lock_timeout`` bounds the
        wait for a lock (PostgreSQL ``lock_timeout``; SQLite's busy timeout)."""
        with self._connect() as conn:
            self._prepare(conn)
            with conn.transaction(lock_timeout=lock_timeout):
                yield conn


__all__ = ["Conn", "SideTables", "is_lock_timeout", "is_unique_violation", "read_time"]
