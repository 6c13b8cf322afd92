"""Rendering views and command results as a table (for people), JSON or CSV (for machines).

Machine formats carry the view unchanged: amounts in minor units, ids as strings, ISO 8601
times. Tables add the major-unit form next to each amount (``NGN 5,000.00 (500000)``) and show
absent values as ``-``. Everything goes to stdout; errors are ``ledger.cli.errors``' business.
"""

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import click

from ledger.application import Result
from ledger.domain.money import CURRENCIES, format_major
from ledger.views import MONEY_FIELDS, Scalar, View

Format = Literal["table", "json", "csv"]
F = TypeVar("F", bound=Callable[..., Any])


def format_option(command: F) -> F:
    """``--format table|json|csv`` (default table), passed to the command as ``fmt``."""
    option = click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "csv"], case_sensitive=False),
        default="table",
        show_default=True,
        help="table for people; json or csv for machines (amounts in minor units).",
    )
    return option(command)


def human(view: Mapping[str, Scalar], field: str) -> str:
    """One field of a view as people read it."""
    value = view.get(field)
    if value is None:
        return "-"
    currency = view.get(MONEY_FIELDS.get(field, ""))
    if isinstance(value, int) and not isinstance(value, bool) and currency in CURRENCIES:
        return f"{format_major(value, str(currency))} ({value})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(rows: Sequence[Mapping[str, Scalar]], columns: Sequence[str]) -> str:
    """Rows as an aligned text table with a header line."""
    cells = [[human(row, c) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _csv_cell(value: Scalar) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv(rows: Sequence[Mapping[str, Scalar]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue().rstrip("\n")


def emit_record(view: View, fmt: Format) -> None:
    """One aggregate: key/value lines in a table, an object in JSON, one row in CSV."""
    if fmt == "json":
        click.echo(json.dumps(view, indent=2))
    elif fmt == "csv":
        click.echo(_csv([view], list(view)))
    else:
        width = max(len(k) for k in view)
        click.echo("\n".join(f"{k.ljust(width)}  {human(view, k)}" for k in view))


def emit_rows(rows: Sequence[View], columns: Sequence[str], fmt: Format) -> None:
    """Several records: a table with ``columns``, a JSON array, or CSV with a header."""
    if fmt == "json":
        click.echo(json.dumps([{c: row.get(c) for c in columns} for row in rows], indent=2))
    elif fmt == "csv":
        click.echo(_csv(rows, columns))
    else:
        click.echo(table(rows, columns))


def result_view(result: Result) -> View:
    view: View = {"changed": result.changed, "message": result.message, "id": str(result.id)}
    for key, value in (result.data or {}).items():
        view[key] = value if value is None or isinstance(value, str | int | bool) else str(value)
    return view


def emit_result(result: Result, fmt: Format, *, table_line: str | None = None) -> None:
    """What a command did: its message (or ``table_line``) for people; ``changed``,
    ``message``, ``id`` and any data for machines. "Already done" is a normal result."""
    if fmt == "table":
        click.echo(table_line or result.message)
    else:
        emit_record(result_view(result), fmt)


__all__ = ["Format", "emit_record", "emit_result", "emit_rows", "format_option", "human", "table"]
