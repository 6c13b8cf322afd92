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

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledger.addresses import check_email, check_webhook_url
from ledger.config import Settings
from ledger.errors import InvalidInput
from ledger.schema.dialect import read_time, upsert
from ledger.sidetables import SideTables

_UPSERT = upsert(
    "contacts", ("user_id", "external_id", "email", "webhook_url", "updated_at"), ("user_id",)
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
    return Contact(UUID(str(row[0])), str(row[1]), row[2], row[3], read_time(row[4]))


class Contacts:
    """The ``contacts`` table of the ledger's database (the table is ``ledger.schema``'s).
    Each call is one short transaction: contacts change rarely."""

    def __init__(self, tables: SideTables) -> None:
        self._tables = tables

    @classmethod
    def from_settings(cls, settings: Settings) -> "Contacts":
        """On ``LEDGER_DATABASE_URL``, one short connection per call (no pool to close)."""
        return cls(SideTables.from_settings(settings, pool_size=0))

    def __repr__(self) -> str:
        return f"Contacts(kind={self._tables.kind!r})"

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
        with self._tables.transaction() as conn:
            conn.execute(_UPSERT, (str(user_id), external_id, email, webhook_url, at))
        return Contact(user_id, external_id, email, webhook_url, at.astimezone(UTC))

    def get(self, user_id: UUID) -> Contact | None:
        with self._tables.connection() as conn:
            rows = conn.rows(_SELECT + "WHERE user_id = %s", (str(user_id),))
        return _contact(rows[0]) if rows else None

    def erase(self, user_id: UUID) -> bool:
        """Delete ``user_id``'s contact; False if there was none."""
        with self._tables.transaction() as conn:
            rows = conn.rows(
                "DELETE FROM contacts WHERE user_id = %s RETURNING user_id", (str(user_id),)
            )
        return bool(rows)


__all__ = ["Contact", "Contacts"]
