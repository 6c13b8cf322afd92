"""``GET /requests`` and ``GET /transactions``: the CLI's ``requests list`` and ``payments
list`` over HTTP, paged like Stripe's lists.

    GET /transactions?reference=REF
    GET /transactions?older_than=24h&escrow_status=pending&limit=100
    GET /transactions?limit=100&starting_after=<the last id of the previous page>

The answer is ``{"object": "list", "url": ..., "has_more": ..., "data": [...]}``, newest first
(``oldest_first=true`` for the other way). ``starting_after`` names the last row of the
previous page (its full id, a unique prefix, or for transactions its reference); the page is
the rows after it in the list's order, read with the keyset ``(createdAt, id)``
(``projections.lists.page``), so paging while rows are added returns each row exactly once.
Filters are one ``ReportFilter``, as everywhere: any case, times ISO 8601 or a duration ago.
Rows are the machine format of the CLI's json. Every route needs a bearer token; a bad filter
is 422 ``invalid_input``. Registered as a ``ledger.api`` plugin (``ledger`` never imports it).
"""

from collections.abc import Callable
from dataclasses import fields
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, create_model

from ledger.api.deps import Svc, require_token
from ledger.api.errors import QUERY_ERRORS
from ledger.api.runtime import Services
from ledger.clock import parse_duration
from ledger.errors import InvalidInput
from ledger.ids_lookup import IdResolver
from ledger.views import scalar
from projections import queries
from projections.api import (
    Celebrity,
    Currency,
    EscrowStatus,
    OldestFirst,
    PaymentRowView,
    PaymentStatus,
    RequestStatus,
    Since,
    Until,
    _model_of,
    _read,
    time_filter,
)
from projections.lists import LIST_TABLES, RequestRow, page, requests_report
from projections.report_filter import ReportFilter

MAX_ROWS = 100
RequestRowView = _model_of(RequestRow)

UserId = Annotated[
    str | None,
    Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"),
]
Fan = Annotated[UserId, Query(description="Only this fan (external user id).")]
Reference = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$",
        description="Only the payment with this Paystack reference.",
    ),
]
OlderThan = Annotated[
    str | None,
    Query(max_length=32, description="Created more than this long ago (24h, 7d, 90m)."),
]
Flagged = Annotated[
    bool | None, Query(description="Only payments flagged for an operator (or not).")
]
Limit = Annotated[int, Query(ge=1, le=MAX_ROWS, description="Rows in this page.")]
StartingAfter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$",
        description="The last id of the previous page.",
    ),
]


def _list_model(name: str, row: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        name,
        object=(str, "list"),
        url=(str, ...),
        has_more=(bool, ...),
        data=(list[row], ...),  # type: ignore[valid-type]
    )


def _filter(
    svc: Services,
    *,
    currency: str | None,
    since: str | None,
    until: str | None,
    older_than: str | None,
    **given: Any,
) -> ReportFilter:
    """One ``ReportFilter`` from the query; ``older_than`` is ``until`` that long ago."""
    bound = time_filter(svc, until, "until")
    if older_than is not None:
        if bound is not None:
            raise InvalidInput("give older_than or until, not both")
        bound = svc.ledger.clock() - parse_duration(older_than, unit_required=True)
    return ReportFilter(
        currency=currency, since=time_filter(svc, since, "since"), until=bound, **given
    )


def _list(
    svc: Services,
    kind: str,
    query: Callable[..., list[Any]],
    resolve: Callable[[IdResolver], Callable[[str], Any]],
    filters: ReportFilter,
    limit: int,
    starting_after: str | None,
    oldest_first: bool,
) -> dict[str, Any]:
    start = resolve(svc.components.ids())(starting_after) if starting_after else None
    found = _read(
        svc.ledger,
        lambda db, _now: page(
            query,
            db,
            filters,
            table=LIST_TABLES[kind],
            limit=limit,
            starting_after=start,
            oldest_first=oldest_first,
        ),
    )
    url = "/transactions" if kind == "payments" else "/requests"
    return {
        "object": "list",
        "url": url,
        "has_more": found.has_more,
        "data": [{f.name: scalar(getattr(r, f.name)) for f in fields(r)} for r in found.rows],
    }


router = APIRouter(dependencies=[Depends(require_token)])


@router.get(
    "/transactions",
    tags=["payments"],
    response_model=_list_model("TransactionList", PaymentRowView),
    responses=QUERY_ERRORS,
    summary="Find payments: filters, newest first, Stripe-style paging",
)
def list_transactions(
    svc: Svc,
    status: Annotated[PaymentStatus | None, Query(description="The payment's status.")] = None,
    escrow_status: Annotated[EscrowStatus | None, Query(description="The escrow status.")] = None,
    fan: Fan = None,
    celebrity: Celebrity = None,
    reference: Reference = None,
    older_than: OlderThan = None,
    since: Since = None,
    until: Until = None,
    flagged: Flagged = None,
    currency: Currency = None,
    limit: Limit = 10,
    starting_after: StartingAfter = None,
    oldest_first: OldestFirst = False,
) -> dict[str, Any]:
    filters = _filter(
        svc,
        currency=currency,
        since=since,
        until=until,
        older_than=older_than,
        status=status,
        escrow_status=escrow_status,
        fan=fan,
        celebrity=celebrity,
        reference=reference,
        flagged=flagged,
    )
    return _list(
        svc,
        "payments",
        queries.payments_report,
        lambda r: r.payment,
        filters,
        limit,
        starting_after,
        oldest_first,
    )


@router.get(
    "/requests",
    tags=["requests"],
    response_model=_list_model("RequestList", RequestRowView),
    responses=QUERY_ERRORS,
    summary="Find requests (with their payment): filters, newest first, Stripe-style paging",
)
def list_requests(
    svc: Svc,
    status: Annotated[RequestStatus | None, Query(description="The request's status.")] = None,
    escrow_status: Annotated[
        EscrowStatus | None, Query(description="Its payment's escrow status.")
    ] = None,
    fan: Fan = None,
    celebrity: Celebrity = None,
    reference: Reference = None,
    older_than: OlderThan = None,
    since: Since = None,
    until: Until = None,
    flagged: Flagged = None,
    currency: Currency = None,
    limit: Limit = 10,
    starting_after: StartingAfter = None,
    oldest_first: OldestFirst = False,
) -> dict[str, Any]:
    filters = _filter(
        svc,
        currency=currency,
        since=since,
        until=until,
        older_than=older_than,
        status=status,
        escrow_status=escrow_status,
        fan=fan,
        celebrity=celebrity,
        reference=reference,
        flagged=flagged,
    )
    return _list(
        svc,
        "requests",
        requests_report,
        lambda r: r.request,
        filters,
        limit,
        starting_after,
        oldest_first,
    )


__all__ = ["router"]
