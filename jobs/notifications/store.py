"""Delivery state of the outbox's rows: claim what is due, record what came of it.

States: ``PENDING`` (due at ``next_attempt_at``) -> ``SENT``; or, after a failed attempt, back
to ``PENDING`` with an exponential delay (``LEDGER_NOTIFY_RETRY_AFTER`` doubled per attempt,
at most ``MAX_DELAY``) until ``LEDGER_NOTIFY_MAX_ATTEMPTS``, then ``FAILED``; ``SKIPPED`` when
there is nowhere to send it (no contact, no operator address, no webhook URL) or it expired
(never tried, and its event is older than ``LEDGER_NOTIFY_MAX_AGE``). ``retry`` puts FAILED
or SKIPPED rows back to PENDING, due now, with their attempts reset.

Claiming is safe for several runners: a claim takes due rows (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``; SQLite: under ``BEGIN IMMEDIATE``, the database's write lock), counts the attempt
and hides them for ``LEASE`` in one short transaction; delivery happens outside any
transaction. A runner that dies mid-delivery leaves its rows to reappear when the lease ends,
so a message may be delivered twice (at-least-once; receivers dedupe on the idempotency key).

What it deliberately does not do: hold a database transaction open while talking to a mail
server or a webhook, or store where a message went (addresses are looked up at delivery).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledger.config import Settings
from projections.db import ReadDB

LEASE = timedelta(minutes=10)  # a claimed row is hidden this long (a run takes far less)
MAX_DELAY = timedelta(hours=6)

_DUE = (
    "SELECT id, position, event_id, template, channel, recipient, recipient_ref, subject, "
    "body_text, body_html, data, attempts, created_at FROM notifications "
    "WHERE status = 'PENDING' AND channel = %s AND next_attempt_at <= %s "
    "ORDER BY next_attempt_at, id LIMIT %s"
)
# Never tried (due since their event), and the event older than the cutoff: a row retried
# by an operator is due later than that, and one being retried runs out of attempts instead.
_COUNT_STALE = (
    "SELECT COUNT(*) AS n FROM notifications WHERE status = 'PENDING' AND created_at < %s "
    "AND next_attempt_at = created_at"
)
_EXPIRE_STALE = (
    "UPDATE notifications SET status = 'SKIPPED', updated_at = %s, "
    "last_error = 'expired: older than LEDGER_NOTIFY_MAX_AGE' WHERE status = 'PENDING' "
    "AND created_at < %s AND next_attempt_at = created_at"
)


@dataclass(frozen=True)
class Claimed:
    """A row claimed for delivery (``attempts`` counts this one)."""

    id: str
    position: int
    event_id: str
    template: str
    channel: str
    recipient: str
    recipient_ref: str | None
    subject: str
    body_text: str
    body_html: str
    data: str
    attempts: int
    created_at: Any


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The delay after the ``attempts``-th failed attempt: 1x, 2x, 4x ... the base, capped."""
    delay: timedelta = settings.notify_retry_after * (2 ** min(max(attempts - 1, 0), 30))
    return min(delay, MAX_DELAY)


def claim(db: ReadDB, channel: str, now: datetime, limit: int) -> list[Claimed]:
    """Up to ``limit`` due rows of ``channel``, oldest due first, now claimed."""
    lock = " FOR UPDATE SKIP LOCKED" if db.kind == "postgres" else ""
    with db.transaction():
        rows = db.fetchall(_DUE + lock, [channel, now, limit])
        db.executemany(
            "UPDATE notifications SET attempts = attempts + 1, "
            "next_attempt_at = %(lease)s, updated_at = %(now)s WHERE id = %(id)s",
            [{"id": row["id"], "lease": now + LEASE, "now": now} for row in rows],
        )
    return [Claimed(**{**row, "attempts": int(row["attempts"]) + 1}) for row in rows]


def mark_sent(db: ReadDB, row_id: str, now: datetime) -> None:
    with db.transaction():
        db.execute(
            "UPDATE notifications SET status = 'SENT', sent_at = %s, updated_at = %s, "
            "last_error = NULL WHERE id = %s AND status = 'PENDING'",
            [now, now, row_id],
        )


def mark_skipped(db: ReadDB, row_id: str, reason: str, now: datetime) -> None:
    with db.transaction():
        db.execute(
            "UPDATE notifications SET status = 'SKIPPED', last_error = %s, updated_at = %s, "
            "attempts = attempts - 1 "
            "WHERE id = %s AND status = 'PENDING'",
            [reason[:500], now, row_id],
        )


def mark_failed_attempt(
    db: ReadDB, row: Claimed, error: str, now: datetime, settings: Settings
) -> tuple[str, datetime | None]:
    """Record a failed attempt: PENDING again after the backoff, or FAILED at the last
    attempt. Returns the new status and when it is due next (None when FAILED)."""
    final = row.attempts >= settings.notify_max_attempts
    due = None if final else now + backoff(settings, row.attempts)
    with db.transaction():
        db.execute(
            "UPDATE notifications SET status = %s, last_error = %s, updated_at = %s, "
            "next_attempt_at = COALESCE(%s, next_attempt_at) "
            "WHERE id = %s AND status = 'PENDING'",
            ["FAILED" if final else "PENDING", error[:500], now, due, row.id],
        )
    return ("FAILED" if final else "PENDING"), due


def release(db: ReadDB, rows: Sequence[Claimed], now: datetime) -> None:
    """Give back claimed rows that were not tried (the runner is stopping): due now, the
    attempt not counted."""
    with db.transaction():
        db.executemany(
            "UPDATE notifications SET attempts = attempts - 1, next_attempt_at = %(now)s, "
            "updated_at = %(now)s WHERE id = %(id)s AND status = 'PENDING'",
            [{"id": row.id, "now": now} for row in rows],
        )


def expire(db: ReadDB, now: datetime, max_age: timedelta) -> int:
    """SKIP pending rows whose event is older than ``max_age`` (a week-old "payment received"
    helps nobody, and enabling notifications on an old ledger must not mail its history)."""
    cutoff = now - max_age
    with db.transaction():
        row = db.fetchone(_COUNT_STALE, [cutoff])
        count = int(row["n"]) if row else 0
        if count:
            db.execute(_EXPIRE_STALE, [now, cutoff])
    return count


def retry(db: ReadDB, row_ids: Sequence[str], now: datetime) -> int:
    """Put FAILED or SKIPPED rows back to PENDING, due ``now``, attempts reset; return how
    many changed (SENT and PENDING rows are left as they are)."""
    changed = 0
    with db.transaction():
        for row_id in row_ids:
            found = db.fetchone("SELECT status FROM notifications WHERE id = %s", [row_id])
            if found is None or found["status"] not in ("FAILED", "SKIPPED"):
                continue
            db.execute(
                "UPDATE notifications SET status = 'PENDING', attempts = 0, "
                "next_attempt_at = %s, updated_at = %s, last_error = NULL WHERE id = %s",
                [now, now, row_id],
            )
            changed += 1
    return changed


__all__ = [
    "LEASE",
    "MAX_DELAY",
    "Claimed",
    "backoff",
    "claim",
    "expire",
    "mark_failed_attempt",
    "mark_sent",
    "mark_skipped",
    "release",
    "retry",
]
