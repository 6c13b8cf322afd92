"""Contacts: where to reach a user (email address, webhook URL), outside the event log.

The event store holds no personal data (docs/design.md), so addresses live in a mutable
``contacts`` table of the same database, keyed by the user's aggregate id (with the host's id
beside it). Setting a contact replaces what was there; erasing deletes the row, and nothing
else: no event records an address, and the notifications outbox stores no address either (it
is looked up when a message is delivered), so an erased contact leaves no copy behind. A
message due for a user without a contact is skipped (see ``jobs.notifications``).

What it deliberately does not do: verify an address (the host application does), or keep a
history of changes (that would be personal data kept after erasure).
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from ledger.addresses import check_email, check_webhook_url
from ledger.config import Settings
from ledger.errors import ConfigError, InvalidInput
from ledger.persistence import StoreConfig, store_config

CONTACTS_DDL = (
    "CREATE TABLE IF NOT EXISTS contacts (user_id TEXT PRIMARY KEY, external_id TEXT NOT NULL, "
    "email TEXT, webhook_url TEXT, updated_at TIMESTAMPTZ NOT NULL)"
)
_UPSERT = (
    "INSERT INTO contacts (user_id, external_id, email, webhook_url, updated_at) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
    "external_id = excluded.external_id, email = excluded.email, "
    "webhook_url = excluded.webhook_url, updated_at = excluded.updated_at"
)
_SELECT = "SELECT user_id, external_id, email, webhook_url, updated_at FROM contacts "


@dataclass(frozen=True)
class Contact:
    user_id: UUID
    external_id: str
    email: str | None
    webhook_url: str | None
    updated_at: datetime


def _contact(row: tuple[Any, ...]) -> Contact:
    at = row[4] if isinstance(row[4], datetime) else datetime.fromisoformat(str(row[4]))
    return Contact(UUID(str(row[0])), str(row[1]), row[2], row[3], at.astimezone(UTC))


class Contacts:
    """The ``contacts`` table of the ledger's database. Each call opens (and closes) one
    short connection: contacts change rarely. The table is created on first use."""

    def __init__(self, config: StoreConfig) -> None:
        self._config = config
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "Contacts":
        return cls(store_config(settings.database_url, schema=settings.postgres_schema))

    def __repr__(self) -> str:
        return f"Contacts(kind={self._config.kind!r})"

    @contextmanager
    def _execute(self) -> Iterator[Any]:
        """A function ``run(statement, params) -> rows``, in one transaction."""
        config = self._config
        if config.kind == "sqlite":
            assert config.sqlite_path is not None
            raw = sqlite3.connect(config.sqlite_path, timeout=10, isolation_level=None)
            with closing(raw):
                raw.execute("BEGIN IMMEDIATE")

                def run_sqlite(statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
                    values = [v.isoformat() if isinstance(v, datetime) else v for v in params]
                    return raw.execute(statement.replace("%s", "?"), values).fetchall()

                if not self._ready:
                    raw.execute(CONTACTS_DDL)
                yield run_sqlite
                raw.execute("COMMIT")
            self._ready = True
            return
        assert config.conninfo is not None
        try:
            conn = psycopg.connect(config.conninfo, connect_timeout=5, autocommit=True)
        except psycopg.OperationalError:
            raise ConfigError("database unreachable: cannot open a connection") from None
        with conn, conn.transaction():
            conn.execute(
                sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(config.schema))
            )

            def run_pg(statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
                cursor = conn.execute(statement.encode(), params)
                return cursor.fetchall() if cursor.description else []

            if not self._ready:
                run_pg(CONTACTS_DDL)
            yield run_pg
        self._ready = True

    def set(
        self,
        user_id: UUID,
        external_id: str,
        *,
        email: str | None,
        webhook_url: str | None,
        at: datetime,
    ) -> Contact:
        """Replace ``user_id``'s contact (None clears a field; both None is refused: erase)."""
        if email is None and webhook_url is None:
            raise InvalidInput("give an email address or a webhook URL (or erase the contact)")
        email = check_email(email.strip()) if email is not None else None
        webhook_url = check_webhook_url(webhook_url.strip()) if webhook_url is not None else None
        with self._execute() as run:
            run(_UPSERT, (str(user_id), external_id, email, webhook_url, at.astimezone(UTC)))
        return Contact(user_id, external_id, email, webhook_url, at.astimezone(UTC))

    def get(self, user_id: UUID) -> Contact | None:
        with self._execute() as run:
            rows = run(_SELECT + "WHERE user_id = %s", (str(user_id),))
        return _contact(rows[0]) if rows else None

    def erase(self, user_id: UUID) -> bool:
        """Delete ``user_id``'s contact; False if there was none."""
        with self._execute() as run:
            rows = run("DELETE FROM contacts WHERE user_id = %s RETURNING user_id", (str(user_id),))
        return bool(rows)


__all__ = ["CONTACTS_DDL", "Contact", "Contacts"]
