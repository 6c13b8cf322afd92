"""The read side of the HTTP API, registered as a ``ledger.api`` plugin (``register``).

    GET /reports/escrow | wallets | payments | review   the queries of ``ledger report``
    GET /reports/summary                                per-currency figures
    GET /audit/{aggregate_id}/history?as_of=ISO8601     an aggregate's events and state

plus a ``projections`` readiness check for ``/readyz`` (the read tables are at most
``LEDGER_READY_MAX_LAG`` events behind the log; 0 turns the check off) and a
``ledger_projection_lag_events`` gauge for ``/metrics``.

Like ``ledger report``, each report first catches the read tables up with the event log, then
runs one typed query of ``projections.queries``. Lists are pages, newest first
(``oldest_first=true`` for the other way): ``limit`` rows (at most 1,000) and ``next_cursor``
to pass as ``after`` for the next page (null on the last), a keyset cursor, so a page costs the
same at any depth. Filters take any case (``currency=ngn``), and times ISO 8601 or a duration
ago (``since=24h``), like the CLI's. ``GET /requests`` and ``GET /transactions``, Stripe-style
lists, are ``projections.api_lists``'. Rows carry the machine format of the
CLI's json (minor units, ids as strings, ISO 8601 times). ``ledger`` never imports this module:
the app factory loads it through the entry point.
"""

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, get_type_hints
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, BeforeValidator, create_model

from ledger.api.deps import Svc, require_token
from ledger.api.errors import QUERY_ERRORS
from ledger.api.models import Currency as CurrencyCode
from ledger.api.models import upper
from ledger.api.runtime import Check, Runtime, Services
from ledger.application import Ledger
from ledger.clock import parse_time
from ledger.errors import InvalidInput
from ledger.persistence import store_config
from ledger.views import Scalar, scalar
from projections import queries
from projections.audit_history import history
from projections.db import ReadDB
from projections.report_filter import ReportFilter
from projections.summary_view import summary_view
from projections.wiring import default_projectors, read_side

T = TypeVar("T")
MAX_PAGE = 1000

# -- response models, derived from the query rows (one source of truth) -----------------------

_SCALARS: dict[Any, Any] = {UUID: str, datetime: str, int: int, bool: bool, str: str}


def _model_of(row_type: type) -> type[BaseModel]:
    hints = get_type_hints(row_type)
    spec: dict[str, Any] = {}
    for f in fields(row_type):
        hint = hints[f.name]
        optional = type(None) in getattr(hint, "__args__", ())
        base = next(a for a in getattr(hint, "__args__", (hint,)) if a is not type(None))
        python = _SCALARS[base]
        spec[f.name] = (python | None, ...) if optional else (python, ...)
    return create_model(row_type.__name__ + "View", **spec)


def _page_of(item: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        item.__name__.removesuffix("View") + "Page",
        items=(list[item], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, ...),
    )


HeldPaymentView = _model_of(queries.HeldPayment)
WalletRowView = _model_of(queries.WalletRow)
PaymentRowView = _model_of(queries.PaymentRow)
ReviewItemView = _model_of(queries.ReviewItem)


class CurrencySummaryView(BaseModel):
    currency: str
    verified: int
    held: int
    released: int
    platform_fees: int
    refunded: int
    in_review_amount: int
    in_review_count: int
    payments_by_status: dict[str, int]
    escrow_by_status: dict[str, int]
    requests_by_status: dict[str, int]
    oldest_held_at: str | None
    oldest_held_age_seconds: int | None


class Summary(BaseModel):
    currencies: list[CurrencySummaryView]


class HistoryEntry(BaseModel):
    version: int
    event: str
    timestamp: str
    recorded_at: str | None
    operator: str | None
    reason: str | None
    note: str | None
    fields: dict[str, str | int | bool | None]


class AuditHistory(BaseModel):
    id: str
    type: str
    as_of: str | None
    events: list[HistoryEntry]
    state: dict[str, str | int | bool | None] | None


# -- cursors and filters ----------------------------------------------------------------------


def encode_cursor(cursor: queries.Cursor) -> str:
    at, key = cursor
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{key}".encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> queries.Cursor | None:
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        at, key = raw.split("|", 1)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive")
        return when, UUID(key)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("malformed cursor: pass next_cursor of the previous page") from None


Currency = Annotated[CurrencyCode | None, Query(description="ISO 4217 code (any case).")]
TIME_TEXT = "ISO 8601 with an offset, or a duration ago (24h, 7d, 90m)"
Since = Annotated[
    str | None, Query(max_length=64, description=f"Created at or after: {TIME_TEXT}.")
]
Until = Annotated[str | None, Query(max_length=64, description=f"Created before: {TIME_TEXT}.")]
Celebrity = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$",
        description="A celebrity's user id.",
    ),
]
PaymentStatus = Annotated[Literal["PENDING", "COMPLETED", "FAILED"], BeforeValidator(upper)]
RequestStatus = Annotated[
    Literal["PENDING", "IN_PROGRESS", "COMPLETED", "DECLINED"], BeforeValidator(upper)
]
EscrowStatus = Annotated[
    Literal["PENDING", "RELEASED", "REFUNDED", "CANCELLED"], BeforeValidator(upper)
]
OldestFirst = Annotated[
    bool, Query(description="Oldest first (lists and reports are newest first).")
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")]
After = Annotated[
    str | None, Query(max_length=200, description="next_cursor of the previous page.")
]


def _read(ledger: Ledger, query: Callable[[ReadDB, datetime], T]) -> T:
    """Catch the read tables up, then run ``query(db, now)``."""
    with read_side(ledger=ledger, catch_up=True) as side:
        return query(side.db, ledger.clock())


def _row(row: object) -> dict[str, Scalar]:
    return {f.name: scalar(getattr(row, f.name)) for f in fields(row)}  # type: ignore[arg-type]


def time_filter(svc: Services, text: str | None, what: str) -> datetime | None:
    """A time parameter (``ledger.clock.parse_time``: ISO 8601, or a duration before the
    ledger's now)."""
    return None if text is None else parse_time(text, now=svc.ledger.clock(), what=what)


def report_filter(
    svc: Svc,
    currency: Currency = None,
    since: Since = None,
    until: Until = None,
    celebrity: Celebrity = None,
) -> ReportFilter:
    """The filters every report takes, from the query (a report's own are added to it)."""
    return ReportFilter(
        currency=currency,
        since=time_filter(svc, since, "since"),
        until=time_filter(svc, until, "until"),
        celebrity=celebrity,
    )


Filters = Annotated[ReportFilter, Depends(report_filter)]


def _escrow_filter(
    filters: Filters,
    status: Annotated[
        RequestStatus | None, Query(description="The request's status (any case).")
    ] = None,
) -> ReportFilter:
    return replace(filters, status=status)


def _payments_filter(
    filters: Filters,
    status: Annotated[PaymentStatus | None, Query(description="The payment's status.")] = None,
    escrow_status: Annotated[EscrowStatus | None, Query(description="The escrow status.")] = None,
) -> ReportFilter:
    return replace(filters, status=status, escrow_status=escrow_status)


def _review_filter(
    filters: Filters,
    status: Annotated[PaymentStatus | None, Query(description="The payment's status.")] = None,
) -> ReportFilter:
    return replace(filters, status=status)


@dataclass(frozen=True)
class PageQuery:
    """Which page of a report: ``limit`` rows after the cursor ``after`` (None: the first),
    newest first unless ``oldest_first``."""

    limit: int
    after: str | None
    oldest_first: bool = False


def page_query(
    limit: Limit = 100, after: After = None, oldest_first: OldestFirst = False
) -> PageQuery:
    return PageQuery(limit, after, oldest_first)


Page = Annotated[PageQuery, Depends(page_query)]


def _page(
    svc: Services,
    report: Callable[..., list[Any]],
    filters: ReportFilter,
    page: PageQuery,
    *,
    now: bool = False,
) -> dict[str, Any]:
    cursor, limit = decode_cursor(page.after), page.limit

    def query(db: ReadDB, at: datetime) -> list[Any]:
        extra: dict[str, Any] = {"now": at} if now else {}
        return report(
            db, filters, limit=limit, after=cursor, oldest_first=page.oldest_first, **extra
        )

    rows = _read(svc.ledger, query)
    full = len(rows) == limit
    return {
        "items": [_row(r) for r in rows],
        "next_cursor": encode_cursor(rows[-1].cursor) if full and rows else None,
    }


# -- routes -----------------------------------------------------------------------------------

router = APIRouter(dependencies=[Depends(require_token)], tags=["reports"])


@router.get(
    "/reports/escrow",
    response_model=_page_of(HeldPaymentView),
    responses=QUERY_ERRORS,
    summary="Money held in escrow now, payment by payment, with its age",
)
def escrow_report(
    svc: Svc, filters: Annotated[ReportFilter, Depends(_escrow_filter)], page: Page
) -> dict[str, Any]:
    return _page(svc, queries.escrow_report, filters, page, now=True)


@router.get(
    "/reports/wallets",
    response_model=_page_of(WalletRowView),
    responses=QUERY_ERRORS,
    summary="Wallets with balance, credits and debits, and their owner",
)
def wallets_report(svc: Svc, filters: Filters, page: Page) -> dict[str, Any]:
    return _page(svc, queries.wallets_report, filters, page)


@router.get(
    "/reports/payments",
    response_model=_page_of(PaymentRowView),
    responses=QUERY_ERRORS,
    summary="Payment transactions with their status and escrow status",
)
def payments_report(
    svc: Svc, filters: Annotated[ReportFilter, Depends(_payments_filter)], page: Page
) -> dict[str, Any]:
    return _page(svc, queries.payments_report, filters, page)


@router.get(
    "/reports/review",
    response_model=_page_of(ReviewItemView),
    responses=QUERY_ERRORS,
    summary="Flagged payments waiting for an operator",
)
def review_report(
    svc: Svc, filters: Annotated[ReportFilter, Depends(_review_filter)], page: Page
) -> dict[str, Any]:
    return _page(svc, queries.review_report, filters, page)


@router.get(
    "/reports/summary",
    response_model=Summary,
    responses=QUERY_ERRORS,
    summary="Per currency: money verified, held, released, refunded, fees, in review",
)
def summary_report(svc: Svc, filters: Filters) -> dict[str, Any]:
    summaries = _read(svc.ledger, lambda db, now: queries.summary(db, filters, now=now))
    return {"currencies": [summary_view(s) for s in summaries]}


@router.get(
    "/audit/{aggregate_id}/history",
    tags=["audit"],
    response_model=AuditHistory,
    responses=QUERY_ERRORS,
    summary="Every event of an aggregate and its state as of a business time",
)
def audit_history(
    aggregate_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=128,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@=-]*$",
            description="Any aggregate's id or a unique prefix of at least 8 characters, a "
            "payment reference, or a user's external id.",
        ),
    ],
    svc: Svc,
    as_of: Annotated[
        str | None,
        Query(max_length=64, description=f"Business time: {TIME_TEXT}; default now."),
    ] = None,
) -> dict[str, Any]:
    at = time_filter(svc, as_of, "as_of")
    return history(svc.ledger, svc.components.ids().aggregate(aggregate_id), at).view()


# -- readiness and metrics --------------------------------------------------------------------


def projection_lag(ledger: Ledger) -> dict[str, int]:
    """Events each projector is behind the head of the log (read from its tracking row)."""
    head = int(ledger.recorder.max_notification_id() or 0)
    s = ledger.settings
    db = ReadDB(store_config(s.database_url, schema=s.postgres_schema))
    try:
        positions: dict[str, int] = {}
        if db.table_exists("projection_tracking"):
            for row in db.fetchall("SELECT name, position FROM projection_tracking"):
                positions[str(row["name"])] = int(row["position"])
    finally:
        db.close()
    return {p.name: max(head - positions.get(p.name, 0), 0) for p in default_projectors()}


def readiness(services: Services) -> Check:
    limit = services.settings.ready_max_lag
    lag = projection_lag(services.ledger)
    worst = max(lag.values(), default=0)
    detail = ", ".join(f"{name} {events} behind" for name, events in sorted(lag.items()))
    if limit and worst > limit:
        return Check(False, f"lag over {limit} events: {detail}")
    return Check(True, f"ok ({detail})" if detail else "ok")


class _LagCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            if not self._runtime.watch().up:  # no scrape waits on a database that is gone
                return
            lag = projection_lag(self._runtime.services().ledger)
        except Exception:  # a scrape must never fail the API
            return
        gauge = GaugeMetricFamily(
            "ledger_projection_lag_events",
            "Events not yet in the read tables",
            labels=["projector"],
        )
        for name, events in sorted(lag.items()):
            gauge.add_metric([name], events)
        yield gauge


def register(app: FastAPI, runtime: Runtime) -> None:
    """The ``ledger.api`` entry point: the routes, the readiness check and the gauge."""
    app.include_router(router)
    runtime.add_readiness_check("projections", readiness)
    runtime.metrics.add_collector(_LagCollector(runtime))


__all__ = ["decode_cursor", "encode_cursor", "projection_lag", "register"]
