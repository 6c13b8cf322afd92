"""``ledger requests list`` and ``ledger payments list``: find things, a page at a time.

Both catch the read tables up first, then read one page (``projections.lists.page``): newest
first (``--oldest-first`` for the other way), ``--limit`` rows (default 50) after the row named
by ``--after`` (the last id of the previous page: full, a unique prefix, or for payments a
reference). Filters are ``projections.cli_filters``' (one ``ReportFilter``): ``--status``,
``--escrow-status``, ``--fan``, ``--celebrity`` (external user ids), ``--reference``,
``--older-than 24h``, ``--since``/``--until``, ``--flagged``, ``--currency``; any case.

A table ends with the ``--after`` to pass for the next page when there is one; json and csv
carry the rows only (a page shorter than ``--limit`` is the last). The commands live in the
``requests`` and ``payments`` groups through the ``ledger.cli.requests`` and
``ledger.cli.payments`` entry points (``ledger`` never imports this module).
"""

from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

import click

from ledger.cli.context import app_context, ids
from ledger.cli.output import Format, emit_rows, format_option, table
from ledger.ids_lookup import IdResolver
from ledger.views import View
from projections import queries
from projections.cli_filters import filter_options, oldest_first_option
from projections.cli_report import _duration, _human, _view
from projections.lists import LIST_TABLES, Page, RequestRow, page, requests_report
from projections.report_filter import ReportFilter
from projections.wiring import read_side

DEFAULT_ROWS = 50

PAYMENT_COLUMNS = (
    "id",
    "reference",
    "amount",
    "status",
    "escrow_status",
    "needs_review",
    "fan",
    "celebrity",
    "created_at",
    "age",
)
REQUEST_COLUMNS = (
    "id",
    "status",
    "amount",
    "fan",
    "celebrity",
    "reference",
    "escrow_status",
    "flagged",
    "created_at",
    "age",
)


def _page_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--after",
        metavar="ID",
        help="The last id of the previous page (full, a unique prefix, or a reference).",
    )(command)
    command = click.option(
        "--limit",
        type=click.IntRange(1, queries.MAX_LIMIT - 1),
        default=DEFAULT_ROWS,
        show_default=True,
        help="Rows in this page.",
    )(command)
    return oldest_first_option(format_option(command))


def _show(
    kind: str,
    query: Callable[..., list[Any]],
    resolve: Callable[[IdResolver], Callable[[str], Any]],
    columns: Sequence[str],
    row_type: type,
    filters: ReportFilter,
    after: str | None,
    limit: int,
    oldest_first: bool,
    fmt: Format,
) -> None:
    ledger = app_context().ledger(click.get_current_context(), create=False)
    start = resolve(ids())(after) if after is not None else None
    with read_side(ledger=ledger, catch_up=True) as side:
        found: Page[Any] = page(
            query,
            side.db,
            filters,
            table=LIST_TABLES[kind],
            limit=limit,
            starting_after=start,
            oldest_first=oldest_first,
        )
        now = ledger.clock()
    views = [_view(row) for row in found.rows]
    if fmt != "table":
        emit_rows(views, [f.name for f in fields(row_type)], fmt)
        return
    if not views:
        click.echo(f"no {kind} match")
        return
    people: list[View] = []
    for row, view in zip(found.rows, views, strict=True):
        human = _human(view)
        human["age"] = _duration(max(0, int((now - row.created_at).total_seconds())))
        people.append(human)
    click.echo(table(people, columns))
    if found.has_more:
        click.echo(f"more: --after {found.rows[-1].id}")


@click.command("list")
@filter_options(
    status="Only payments with this status (PENDING, COMPLETED, FAILED; any case).",
    escrow_status=True,
    fan=True,
    reference=True,
    flagged=True,
    older_than=True,
)
@_page_options
def payments_list(
    filters: ReportFilter, after: str | None, limit: int, oldest_first: bool, fmt: Format
) -> None:
    """Payments, newest first, a page at a time (--after the last id for the next).

    Examples: --reference REF; --older-than 24h --escrow-status pending; --flagged."""
    _show(
        "payments",
        queries.payments_report,
        lambda r: r.payment,
        PAYMENT_COLUMNS,
        queries.PaymentRow,
        filters,
        after,
        limit,
        oldest_first,
        fmt,
    )


@click.command("list")
@filter_options(
    status="Only requests with this status (PENDING, IN_PROGRESS, COMPLETED, DECLINED).",
    escrow_status=True,
    fan=True,
    reference=True,
    flagged=True,
    older_than=True,
)
@_page_options
def requests_list(
    filters: ReportFilter, after: str | None, limit: int, oldest_first: bool, fmt: Format
) -> None:
    """Requests with their payment, newest first, a page at a time (--after the last id
    for the next). --escrow-status, --reference and --flagged are about the payment."""
    _show(
        "requests",
        requests_report,
        lambda r: r.request,
        REQUEST_COLUMNS,
        RequestRow,
        filters,
        after,
        limit,
        oldest_first,
        fmt,
    )


__all__ = ["payments_list", "requests_list"]
