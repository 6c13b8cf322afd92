"""What the operations gauges show, read from the read tables in one pass.

``read_figures(db, now=...)`` returns, as of the read tables' last catch-up:

- money held in escrow per currency and the age of each currency's oldest held payment:
  ``projections.queries.summary``'s own figures, so the gauges always equal
  ``ledger report summary``;
- payments still pending verification (status and escrow PENDING, not flagged) and the age
  of the oldest;
- flagged payments awaiting an operator, per flag reason (every ``FlagReason``), and how
  long the longest has waited since its payment last changed (when it was flagged);
- held payments of COMPLETED requests that the release job cannot release, per reason:
  ``no_wallet`` (a verified celebrity with no wallet in that currency yet: the daily
  ``create_wallets`` opens it) and ``celebrity_unverified`` (nobody will open one until the
  celebrity is verified: a person must act);
- refunds asked of the provider with no outcome yet (``queries.count_refunds_without_outcome``);
- the outbox's notifications per status and channel, and the age of the oldest one due;
- each projector's lag behind the head of the event log, in events.

Every label value that can occur appears, with 0 when there is none (a series that vanishes
cannot be told from a scrape that failed). Amounts are minor units; ages are whole seconds.

What it deliberately does not do: catch the projections up (the gauges report what the jobs
and reports would read) or hold anything between calls.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ledger.domain.money import CURRENCIES
from ledger.domain.transaction import FlagReason
from projections import queries
from projections.db import ReadDB
from projections.notifications.queries import STATUSES as NOTIFICATION_STATUSES

CHANNELS = ("email", "webhook")
DEFERRAL_REASONS = ("no_wallet", "celebrity_unverified")

_IN_REVIEW = (
    "SELECT COALESCE(flagReason, 'unknown') AS reason, COUNT(*) AS n, MIN(updatedAt) AS oldest "
    "FROM wallet_transactions WHERE needsReview = true GROUP BY COALESCE(flagReason, 'unknown')"
)
_PENDING = (
    "SELECT COUNT(*) AS n, MIN(createdAt) AS oldest FROM wallet_transactions "
    "WHERE status = 'PENDING' AND escrowStatus = 'PENDING' AND needsReview = false"
)
# Releasable (as ``queries.list_releasable``) with no wallet of the celebrity in its currency.
_DEFERRED = (
    "SELECT CASE WHEN COALESCE(u.verified, false) THEN 'no_wallet' "
    "ELSE 'celebrity_unverified' END AS reason, COUNT(*) AS n "
    "FROM wallet_transactions t JOIN requests r ON r.id = t.requestId "
    "LEFT JOIN users u ON u.id = t.celebrityId "
    "WHERE t.isInEscrow = true AND t.escrowStatus = 'PENDING' AND t.needsReview = false "
    "AND r.status = 'COMPLETED' AND NOT EXISTS (SELECT 1 FROM wallets w "
    "WHERE w.userId = t.celebrityId AND w.currency = t.currency) "
    "GROUP BY CASE WHEN COALESCE(u.verified, false) THEN 'no_wallet' "
    "ELSE 'celebrity_unverified' END"
)
_NOTIFICATIONS = "SELECT status, channel, COUNT(*) AS n FROM notifications GROUP BY status, channel"
_OLDEST_DUE = "SELECT MIN(next_attempt_at) AS oldest FROM notifications WHERE status = 'PENDING'"


@dataclass(frozen=True)
class Figures:
    """The gauges' values at ``at`` (see the module docstring)."""

    at: datetime
    held: dict[str, int] = field(default_factory=dict)
    oldest_held_age: dict[str, int] = field(default_factory=dict)
    pending_verification: int = 0
    oldest_pending_age: int = 0
    in_review: dict[str, int] = field(default_factory=dict)
    oldest_review_age: int = 0
    releases_deferred: dict[str, int] = field(default_factory=dict)
    refunds_unresolved: int = 0
    notifications: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_due_notification_age: int = 0
    projection_lag: dict[str, int] = field(default_factory=dict)


def _age(now: datetime, value: Any) -> int:
    if value is None:
        return 0
    then = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(then, datetime)
    return max(0, int((now - then.astimezone(UTC)).total_seconds()))


def projection_lag(db: ReadDB, projectors: Iterable[str]) -> dict[str, int]:
    """Events each projector has yet to apply (the log's head minus its position)."""
    head = db.log_head()
    wanted = list(projectors)
    positions = {
        str(row["name"]): int(row["position"])
        for row in db.select_where_in("projection_tracking", ("name", "position"), "name", wanted)
    }
    return {name: max(head - positions.get(name, 0), 0) for name in wanted}


def _notifications(db: ReadDB, now: datetime) -> tuple[dict[tuple[str, str], int], int]:
    counts = {(s, c): 0 for s in NOTIFICATION_STATUSES for c in CHANNELS}
    if not db.table_exists("notifications"):
        return counts, 0
    for row in db.fetchall(_NOTIFICATIONS):
        counts[(str(row["status"]), str(row["channel"]))] = int(row["n"])
    oldest = db.fetchone(_OLDEST_DUE)
    due_age = _age(now, oldest["oldest"]) if oldest else 0
    return counts, due_age


def read_figures(db: ReadDB, *, now: datetime, projectors: Iterable[str]) -> Figures:
    """Every gauge's value from the read tables (and the outbox) at business time ``now``."""
    summaries = {s.currency: s for s in queries.summary(db, now=now)}
    held = {code: summaries[code].held if code in summaries else 0 for code in CURRENCIES}
    oldest_held = {
        code: int(summaries[code].oldest_held_age_seconds or 0) if code in summaries else 0
        for code in CURRENCIES
    }
    pending = db.fetchone(_PENDING) or {"n": 0, "oldest": None}
    in_review = dict.fromkeys((reason.value for reason in FlagReason), 0)
    oldest_review = 0
    for row in db.fetchall(_IN_REVIEW):
        in_review[str(row["reason"])] = int(row["n"])
        oldest_review = max(oldest_review, _age(now, row["oldest"]))
    deferred = dict.fromkeys(DEFERRAL_REASONS, 0)
    for row in db.fetchall(_DEFERRED):
        deferred[str(row["reason"])] = int(row["n"])
    notifications, due_age = _notifications(db, now)
    return Figures(
        at=now,
        held=held,
        oldest_held_age=oldest_held,
        pending_verification=int(pending["n"]),
        oldest_pending_age=_age(now, pending["oldest"]),
        in_review=in_review,
        oldest_review_age=oldest_review,
        releases_deferred=deferred,
        refunds_unresolved=queries.count_refunds_without_outcome(db),
        notifications=notifications,
        oldest_due_notification_age=due_age,
        projection_lag=projection_lag(db, projectors),
    )


__all__ = ["CHANNELS", "DEFERRAL_REASONS", "Figures", "projection_lag", "read_figures"]
