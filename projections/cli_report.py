"""``ledger report escrow | wallets | payments | review | summary``: the reports, for people
(``table``) and machines (``json``, ``csv``).

Each command catches the read tables up with the event log first, then runs one of the typed
queries of ``projections.queries``, page by page, newest first (``--oldest-first`` for the
other way). Filters are ``projections.cli_filters``' (any case; times ISO 8601 or ``24h``).
Machine formats carry amounts as integers in minor units, ids as strings and times as ISO 8601
with their offset (UTC); tables show amounts in major units (``NGN 5,000.00``), and ``csv``
starts with a header row. A bad filter (an unknown currency or status, a time without offset)
is one ``error:`` line and exit 2, through the main CLI's error handling
(``ledger.cli.errors``). The main CLI loads the ``report`` group through the ``ledger.cli``
entry point; this module never imports ``ledger.cli.main``.
"""

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

import click

from ledger.cli.context import app_context
from ledger.cli.output import Format, emit_rows, format_option, table
from ledger.domain.money import CURRENCIES, format_major
from ledger.views import Scalar, View, scalar
from projections import queries
from projections.cli_filters import filter_options, oldest_first_option
from projections.db import ReadDB
from projections.notifications.queries import notification_counts
from projections.queries import CurrencySummary
from projections.report_filter import ReportFilter
from projections.summary_view import MONEY_FIGURES, summary_view
from projections.wiring import read_side

T = TypeVar("T")

# Amount field -> the field holding its currency (for the major-unit form in tables).
MONEY = {
    "amount": "currency",
    "fee": "currency",
    "payout": "currency",
    "balance": "currency",
    "credited": "currency",
    "debited": "currency",
    "flagged_amount": "flagged_currency",
}


limit_option = click.option(
    "--limit", type=click.IntRange(min=1), help="At most this many rows (default: all)."
)


def _read(query: Callable[[ReadDB, datetime], T]) -> T:
    """Catch the projections up, then run ``query(db, now)``."""
    ctx = click.get_current_context()
    ledger = app_context().ledger(ctx, create=False)
    with read_side(ledger=ledger, catch_up=True) as side:
        return query(side.db, ledger.clock())


def _view(row: object) -> View:
    return {f.name: scalar(getattr(row, f.name)) for f in fields(row)}  # type: ignore[arg-type]


def _human(view: Mapping[str, Scalar]) -> View:
    """Amounts in major units, times to the second (for tables)."""
    out: View = {}
    for name, value in view.items():
        currency = view.get(MONEY.get(name, ""))
        if isinstance(value, int) and not isinstance(value, bool) and currency in CURRENCIES:
            out[name] = format_major(value, str(currency))
        elif isinstance(value, str) and name.endswith("_at"):
            out[name] = datetime.fromisoformat(value).isoformat(timespec="seconds")
        else:
            out[name] = value
    return out


def _duration(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours:02d}h {rest // 60:02d}m"


def _emit(rows: Iterable[object], row_type: type, columns: Sequence[str], fmt: Format) -> None:
    """Rows as a table of ``columns`` (people), or every field of ``row_type`` (machines)."""
    views = [_view(row) for row in rows]
    if fmt == "table":
        people = []
        for view in views:
            human = _human(view)
            if "age_seconds" in view:
                seconds = view["age_seconds"]
                human["age"] = _duration(seconds if isinstance(seconds, int) else None)
            people.append(human)
        click.echo(table(people, columns))
    else:
        emit_rows(views, [f.name for f in fields(row_type)], fmt)


def _rows(
    report: Callable[..., list[Any]],
    filters: ReportFilter,
    limit: int | None,
    oldest_first: bool,
    *,
    now: bool = False,
) -> list[Any]:
    """Catch up, then walk ``report``'s pages (``now``: pass the clock's time for ages)."""

    def query(db: ReadDB, at: datetime) -> list[Any]:
        extra: dict[str, Any] = {"now": at} if now else {}
        rows = queries.each(report, db, filters, oldest_first=oldest_first, **extra)
        return list(islice(rows, limit))

    return _read(query)


@click.group(name="report")
def report() -> None:
    """Reports over the read tables (caught up with the event log first).

    json and csv carry amounts in minor units, ids as strings and ISO 8601 times; tables
    show amounts in major units (NGN 5,000.00). Newest first (--oldest-first for the other
    way); times are ISO 8601 or a duration ago (24h, 7d)."""


@report.command("escrow")
@filter_options(status="Only held payments whose request has this status (IN_PROGRESS, COMPLETED).")
@limit_option
@oldest_first_option
@format_option
def escrow(filters: ReportFilter, limit: int | None, oldest_first: bool, fmt: Format) -> None:
    """Money held in escrow now, payment by payment, with its age (the runbook's query:
    isInEscrow = true AND escrowStatus = 'PENDING')."""
    rows = _rows(queries.escrow_report, filters, limit, oldest_first, now=True)
    columns = ("id", "amount", "request_status", "celebrity", "fan", "created_at", "age")
    _emit(rows, queries.HeldPayment, columns, fmt)


@report.command("wallets")
@filter_options(celebrity="Only this owner's wallets (external user id).")
@limit_option
@oldest_first_option
@format_option
def wallets(filters: ReportFilter, limit: int | None, oldest_first: bool, fmt: Format) -> None:
    """Wallets with balance, credits and debits, and their owner (--celebrity: one owner;
    --since/--until: when the wallet was created)."""
    rows = _rows(queries.wallets_report, filters, limit, oldest_first)
    columns = ("owner", "role", "balance", "credited", "debited", "created_at", "id")
    _emit(rows, queries.WalletRow, columns, fmt)


@report.command("payments")
@filter_options(
    status="Only payments with this status (PENDING, COMPLETED, FAILED; any case).",
    escrow_status=True,
    fan=True,
    reference=True,
    flagged=True,
)
@limit_option
@oldest_first_option
@format_option
def payments(filters: ReportFilter, limit: int | None, oldest_first: bool, fmt: Format) -> None:
    """Payment transactions (wallet_transactions), with their status and escrow status.
    (`ledger payments list` is the same query, a page at a time.)"""
    rows = _rows(queries.payments_report, filters, limit, oldest_first)
    columns = (
        "id",
        "amount",
        "status",
        "escrow_status",
        "fee",
        "celebrity",
        "fan",
        "created_at",
    )
    _emit(rows, queries.PaymentRow, columns, fmt)


@report.command("review")
@filter_options(status="Only flagged payments with this status (PENDING, FAILED; any case).")
@limit_option
@oldest_first_option
@format_option
def review(filters: ReportFilter, limit: int | None, oldest_first: bool, fmt: Format) -> None:
    """Flagged payments waiting for an operator (`ledger admin refund | resolve`)."""
    rows = _rows(queries.review_report, filters, limit, oldest_first)
    columns = (
        "id",
        "flag_reason",
        "status",
        "amount",
        "flagged_amount",
        "celebrity",
        "fan",
        "created_at",
    )
    _emit(rows, queries.ReviewItem, columns, fmt)


# -- summary -------------------------------------------------------------------------------


def _flat(view: Mapping[str, Any]) -> View:
    """A summary view with its counts flattened (``payments_completed``, ...) for CSV."""
    out: View = {}
    for name, value in view.items():
        if isinstance(value, Mapping):
            prefix = name.removesuffix("_by_status")
            out.update({f"{prefix}_{k.lower()}": v for k, v in value.items()})
        else:
            out[name] = value
    return out


def _summary_table(summaries: Sequence[CurrencySummary]) -> str:
    """One column per currency, one line per figure."""
    flats = [_flat(summary_view(s)) for s in summaries]
    figures = [name for name in flats[0] if name != "currency"] if flats else []
    lines: list[View] = []
    for name in figures:
        label = "oldest_held_age" if name == "oldest_held_age_seconds" else name
        line: View = {"figure": label}
        for s, flat in zip(summaries, flats, strict=True):
            value = flat[name]
            if name in MONEY_FIGURES and isinstance(value, int):
                line[s.currency] = format_major(value, s.currency)
            elif name == "oldest_held_age_seconds":
                line[s.currency] = _duration(value if isinstance(value, int) else None)
            else:
                line[s.currency] = value
        lines.append(line)
    return table(lines, ["figure", *(s.currency for s in summaries)])


@report.command("summary")
@filter_options()
@format_option
def summary(filters: ReportFilter, fmt: Format) -> None:
    """Per currency: money verified, held, released, refunded, platform fees and in review;
    payments by status and escrow status; requests by status; the oldest held payment's age.
    The table ends with the notifications outbox by status (see ledger notifications list)."""
    summaries, notified = _read(
        lambda db, now: (
            queries.summary(db, filters, now=now),
            notification_counts(db),
        )
    )
    if fmt == "json":
        click.echo(json.dumps([summary_view(s) for s in summaries], indent=2))
    elif fmt == "csv":
        flats = [_flat(summary_view(s)) for s in summaries]
        emit_rows(flats, list(flats[0]) if flats else ["currency"], "csv")
    else:
        click.echo(_summary_table(summaries) if summaries else "no payments or requests yet")
        counts = ", ".join(f"{status} {n}" for status, n in notified.items())
        click.echo(f"\nnotifications: {counts}")


__all__ = ["report"]
