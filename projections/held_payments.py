"""The ``held_payments`` view: money held in escrow now, for people at a psql or sqlite3
prompt (docs/operations.md "Finding things").

One row per held payment (``isInEscrow = true AND escrowStatus = 'PENDING'``, the runbook's
condition) with what a person needs and no UUID soup: the payment's id and reference, the fan
and celebrity by their external ids, the amount in major units as text (``5,000.00``) beside
its currency and the minor units, the request's status, whether it is flagged, when it was
created, and its age (an ``interval`` on PostgreSQL, ``2d 03h 15m`` text on SQLite, and
``age_seconds`` on both, measured at query time). Unordered, like any view:
``SELECT * FROM held_payments ORDER BY created_at DESC;``.

The view belongs to the ``ledger_tables`` projector: it is created with the read tables, and a
rebuild drops it before swapping the tables in and creates it again after (PostgreSQL refuses
to drop a table a view depends on; SQLite refuses to rename one under a view).
"""

from typing import Final

from ledger.domain.money import MINOR_UNIT_DIGITS

# Every supported currency has two minor-unit digits; the formatting below relies on it.
assert set(MINOR_UNIT_DIGITS.values()) == {2}, "held_payments formats two decimals"

_FROM: Final = (
    "FROM wallet_transactions t JOIN requests r ON r.id = t.requestId "
    "LEFT JOIN users f ON f.id = t.fanId LEFT JOIN users c ON c.id = t.celebrityId "
    "WHERE t.isInEscrow = true AND t.escrowStatus = 'PENDING'"
)

_POSTGRES: Final = (
    "SELECT t.id AS id, t.reference AS reference, f.externalId AS fan, "
    "c.externalId AS celebrity, "
    "to_char(t.amount / 100, 'FM999,999,999,999,990') || '.' "
    "|| lpad((t.amount % 100)::text, 2, '0') AS amount, "
    "t.currency AS currency, t.amount AS amount_minor, r.status AS request_status, "
    "t.needsReview AS flagged, t.createdAt AS created_at, "
    "date_trunc('second', now() - t.createdAt) AS age, "
    "CAST(EXTRACT(EPOCH FROM now() - t.createdAt) AS BIGINT) AS age_seconds, "
    "t.requestId AS request_id "
)

_SECONDS: Final = "CAST((julianday('now') - julianday(t.createdAt)) * 86400 AS INTEGER)"
_SQLITE: Final = (
    "SELECT t.id AS id, t.reference AS reference, f.externalId AS fan, "
    "c.externalId AS celebrity, "
    "printf('%,d.%02d', t.amount / 100, t.amount % 100) AS amount, "
    "t.currency AS currency, t.amount AS amount_minor, r.status AS request_status, "
    "t.needsReview AS flagged, t.createdAt AS created_at, "
    f"printf('%dd %02dh %02dm', {_SECONDS} / 86400, ({_SECONDS} % 86400) / 3600, "
    f"({_SECONDS} % 3600) / 60) AS age, "
    f"{_SECONDS} AS age_seconds, "
    "t.requestId AS request_id "
)


def held_payments(kind: str) -> str:
    """The view's SELECT for the backend ``kind`` (``postgres`` or ``sqlite``)."""
    return (_POSTGRES if kind == "postgres" else _SQLITE) + _FROM


__all__ = ["held_payments"]
