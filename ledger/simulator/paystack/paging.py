"""Paystack's list queries as the simulator reads them: ``from``/``to`` windows and offset paging
(``page`` from 1, ``perPage``, default 50), answered with Paystack's ``meta`` (``total``,
``skipped``, ``perPage``, ``page``, ``pageCount``).

``from`` and ``to`` are ISO 8601 instants (``2026-11-28T10:00:00.000Z``) or dates
(``2026-11-28``, midnight UTC), both ends included. A query the simulator cannot read is
``QueryError``, answered 400 in Paystack's error shape.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_PER_PAGE = 50


class QueryError(ValueError):
    """A list query the simulator cannot read; the message is Paystack-like."""


def instant(text: str, name: str) -> datetime:
    """``text`` as an aware UTC instant (a bare date is midnight UTC)."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"Invalid {name} date") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def window(query: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """The ``from``..``to`` window of a query (either end may be open)."""
    start = instant(query["from"], "from") if "from" in query else None
    end = instant(query["to"], "to") if "to" in query else None
    return start, end


def within(at: str | None, start: datetime | None, end: datetime | None) -> bool:
    """Whether the ISO instant ``at`` lies in the window (no instant: only an open window)."""
    if start is None and end is None:
        return True
    if at is None:
        return False
    moment = instant(at, "record")
    return (start is None or moment >= start) and (end is None or moment <= end)


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """(page, perPage) of a query, each at least 1."""
    try:
        page = int(query.get("page", "1"))
        per_page = int(query.get("perPage", str(DEFAULT_PER_PAGE)))
    except ValueError:
        raise QueryError("Invalid pagination parameters") from None
    if page < 1 or per_page < 1:
        raise QueryError("Invalid pagination parameters")
    return page, per_page


def page_answer(
    message: str,
    found: Sequence[T],
    query: Mapping[str, str],
    render: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """The answer for the page the query asks of ``found`` (already filtered and sorted)."""
    page, per_page = paging(query)
    skipped = (page - 1) * per_page
    items = [render(entry) for entry in found[skipped : skipped + per_page]]
    return {
        "status": True,
        "message": message,
        "data": items,
        "meta": {
            "total": len(found),
            "skipped": skipped,
            "perPage": per_page,
            "page": page,
            "pageCount": -(-len(found) // per_page),
        },
    }


__all__ = ["DEFAULT_PER_PAGE", "QueryError", "instant", "page_answer", "paging", "window", "within"]
