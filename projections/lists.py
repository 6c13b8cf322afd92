"""Finding things: the requests list, and one page of any list with Stripe's paging.

``requests_report`` is the requests table with each request's payment beside it (reference,
payment status, escrow status, flag), filtered by a ``ReportFilter``: ``status`` is the
request's, ``escrow_status``, ``reference`` and ``flagged`` its payment's. The payments list is
``projections.queries.payments_report`` (one query for ``ledger report payments``, ``ledger
payments list`` and ``GET /transactions``).

``page`` reads one page the way Stripe's lists do: ``limit`` rows after the row
``starting_after`` (an id: the last one of the previous page), and ``has_more``, known by
asking for one row more than shown. The cursor is the keyset ``(createdAt, id)`` of that row,
so a page costs the same at any depth and paging while rows are added returns each row once.
Newest first unless ``oldest_first``, like every list and report.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Generic, TypeVar
from uuid import UUID

from ledger.errors import InvalidInput
from projections.db import ReadDB
from projections.queries import (
    DEFAULT_LIMIT,
    ESCROW_STATUSES,
    MAX_LIMIT,
    REQUEST_STATUSES,
    Cursor,
    Keyed,
    _build,
    _limit,
    _resume,
    _status,
    _Where,
    order_by,
)
from projections.report_filter import NO_FILTER, ReportFilter

T = TypeVar("T", bound=Keyed)

# The table each list pages over (its rows' ids are what ``starting_after`` names).
LIST_TABLES: Final = {"requests": "requests", "payments": "wallet_transactions"}


@dataclass(frozen=True, slots=True)
class RequestRow:
    """A request, its users (external ids) and its payment, if one was recorded."""

    id: UUID
    status: str
    amount: int
    currency: str
    fan: str | None
    celebrity: str | None
    decline_reason: str | None
    created_at: datetime
    updated_at: datetime
    transaction_id: UUID | None
    reference: str | None
    payment_status: str | None
    escrow_status: str | None
    flagged: bool

    @property
    def cursor(self) -> Cursor:
        return (self.created_at, self.id)


def requests_report(
    db: ReadDB,
    filters: ReportFilter = NO_FILTER,
    *,
    limit: int = DEFAULT_LIMIT,
    after: Cursor | None = None,
    oldest_first: bool = False,
) -> list[RequestRow]:
    """Requests created in the window, newest first, with their payment (see the module
    docstring for what each filter means here)."""
    where = _Where()
    if (status := _status(filters.status, REQUEST_STATUSES, "request status")) is not None:
        where.add("r.status = %(status)s", status=status)
    escrow = _status(filters.escrow_status, ESCROW_STATUSES, "escrow status")
    if escrow is not None:
        where.add("t.escrowStatus = %(escrow_status)s", escrow_status=escrow)
    if filters.currency is not None:
        where.add("r.currency = %(currency)s", currency=filters.currency)
    where.window("r.createdAt", filters)
    if (celebrity := filters.celebrity_id) is not None:
        where.add("r.celebrityId = %(celebrity)s", celebrity=celebrity)
    if (fan := filters.fan_id) is not None:
        where.add("r.fanId = %(fan)s", fan=fan)
    if filters.reference is not None:
        where.add("t.reference = %(reference)s", reference=filters.reference)
    if filters.flagged is not None:
        where.add("COALESCE(t.needsReview, false) = %(flagged)s", flagged=filters.flagged)
    where.keyset("r.createdAt", "r.id", after, descending=not oldest_first)
    where.params["limit"] = _limit(limit)
    rows = db.fetchall(
        "SELECT r.id AS id, r.status AS status, r.amount AS amount, r.currency AS currency, "
        "f.externalId AS fan, c.externalId AS celebrity, r.declineReason AS decline_reason, "
        "r.createdAt AS created_at, r.updatedAt AS updated_at, t.id AS transaction_id, "
        "t.reference AS reference, t.status AS payment_status, "
        "t.escrowStatus AS escrow_status, COALESCE(t.needsReview, false) AS flagged "
        "FROM requests r LEFT JOIN wallet_transactions t ON t.requestId = r.id "
        "LEFT JOIN users f ON f.id = r.fanId LEFT JOIN users c ON c.id = r.celebrityId "
        f"WHERE {where.sql()} {order_by('r.createdAt', 'r.id', oldest_first=oldest_first)} "
        "LIMIT %(limit)s",
        where.params,
    )
    return [_build(RequestRow, row) for row in rows]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows and whether more follow."""

    rows: list[T]
    has_more: bool


def cursor_of(db: ReadDB, table: str, row_id: UUID) -> Cursor:
    """The keyset position of row ``row_id`` of ``table`` (``InvalidInput`` if it is not
    one of its rows: a cursor names a row the previous page showed)."""
    cursor = _resume(db, table, row_id)
    assert cursor is not None
    return cursor


def page(
    query: Callable[..., list[T]],
    db: ReadDB,
    filters: ReportFilter,
    *,
    table: str,
    limit: int,
    starting_after: UUID | None = None,
    oldest_first: bool = False,
    **extra: Any,
) -> Page[T]:
    """``limit`` rows of ``query`` after the row ``starting_after`` of ``table`` (None: from
    the start), and whether more follow."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit < MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT - 1}, got {limit!r}")
    after = None if starting_after is None else cursor_of(db, table, starting_after)
    rows = query(db, filters, limit=limit + 1, after=after, oldest_first=oldest_first, **extra)
    return Page(rows[:limit], len(rows) > limit)


__all__ = ["LIST_TABLES", "Page", "RequestRow", "cursor_of", "page", "requests_report"]
