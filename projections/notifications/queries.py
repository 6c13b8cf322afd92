"""Read-side queries over the outbox: list messages, count them by status, find one by id.

Ids are the 64-hex idempotency keys; people may give any unique prefix of at least 8.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.errors import InvalidInput, NotFound
from projections.db import ReadDB

STATUSES = ("PENDING", "SENT", "FAILED", "SKIPPED")
MIN_PREFIX = 8


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: str
    created_at: datetime
    template: str
    channel: str
    recipient: str  # the host's user id, or "operators"
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime | None  # None once SENT, FAILED or SKIPPED
    sent_at: datetime | None
    last_error: str | None


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.astimezone(UTC)


def _row(row: dict[str, Any]) -> NotificationRow:
    created = _time(row["created_at"])
    assert created is not None
    return NotificationRow(
        id=str(row["id"]),
        created_at=created,
        template=str(row["template"]),
        channel=str(row["channel"]),
        recipient=str(row["recipient_ref"] or row["recipient"]),
        subject=str(row["subject"]),
        status=str(row["status"]),
        attempts=int(row["attempts"]),
        next_attempt_at=_time(row["next_attempt_at"]) if row["status"] == "PENDING" else None,
        sent_at=_time(row["sent_at"]),
        last_error=row["last_error"],
    )


_SELECT = (
    "SELECT id, created_at, template, channel, recipient, recipient_ref, subject, status, "
    "attempts, next_attempt_at, sent_at, last_error FROM notifications"
)


def check_status(status: str | None) -> str | None:
    if status is not None and status.upper() not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}")
    return status.upper() if status is not None else None


def list_notifications(
    db: ReadDB,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    oldest_first: bool = False,
) -> list[NotificationRow]:
    """The newest messages first (by their event's time; the oldest with ``oldest_first``),
    optionally of one status/channel."""
    clauses, params = [], []
    if (checked := check_status(status)) is not None:
        clauses.append("status = %s")
        params.append(checked)
    if channel is not None:
        clauses.append("channel = %s")
        params.append(channel)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    way = "" if oldest_first else " DESC"
    rows = db.fetchall(
        f"{_SELECT}{where} ORDER BY created_at{way}, id{way} LIMIT %s", [*params, limit]
    )
    return [_row(row) for row in rows]


def notification_counts(db: ReadDB) -> dict[str, int]:
    """How many messages are in each status (every status present, zero when none)."""
    counts = dict.fromkeys(STATUSES, 0)
    if not db.table_exists("notifications"):
        return counts
    for row in db.fetchall("SELECT status, COUNT(*) AS n FROM notifications GROUP BY status"):
        counts[str(row["status"])] = int(row["n"])
    return counts


def find_notification(db: ReadDB, prefix: str) -> NotificationRow:
    """The message whose id starts with ``prefix`` (at least 8 hex digits, unique)."""
    text = prefix.strip().lower()
    if len(text) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in text):
        raise InvalidInput(f"invalid notification id {prefix!r}: give at least 8 hex digits")
    rows = db.fetchall(f"{_SELECT} WHERE id LIKE %s ORDER BY id LIMIT 2", [text + "%"])
    if not rows:
        raise NotFound(f"no notification with id {text}")
    if len(rows) > 1:
        raise InvalidInput(f"notification id {text} is ambiguous: give more digits")
    return _row(rows[0])


def notification_body(db: ReadDB, notification_id: str) -> tuple[str, str]:
    """The subject and plain-text body of one message."""
    row = db.fetchone(
        "SELECT subject, body_text FROM notifications WHERE id = %s", [notification_id]
    )
    if row is None:
        raise NotFound(f"no notification with id {notification_id}")
    return str(row["subject"]), str(row["body_text"])


__all__ = [
    "STATUSES",
    "NotificationRow",
    "check_status",
    "find_notification",
    "list_notifications",
    "notification_body",
    "notification_counts",
]
