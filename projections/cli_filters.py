"""The filter options of ``ledger report ...`` and ``ledger requests|payments list``, spelled
once and handed to the command as one ``ReportFilter`` (``projections.report_filter``).

Every time option reads ISO 8601 with an offset or a duration ago (``--since 24h``), through
``ledger.clock.parse_time``; ``--older-than 24h`` is ``--until`` 24 hours ago. Choices and
currencies take any case (``--status completed``, ``--currency ngn``): ``ReportFilter``
upper-cases them and the query says what it expected. ``--oldest-first`` turns the one sort
order of lists and reports (newest first) around.
"""

import functools
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar, cast

import click

from ledger.clock import parse_duration, parse_time, system_clock
from ledger.errors import InvalidInput
from projections.report_filter import ReportFilter

F = TypeVar("F", bound=Callable[..., Any])

ESCROW_HELP = "Only this escrow status (PENDING, RELEASED, REFUNDED, CANCELLED; any case)."


class TimeParam(click.ParamType[datetime]):
    """A time: ISO 8601 with a UTC offset (``2026-01-31T10:00:00+00:00``, ``...Z``), or a
    duration ago (``24h``, ``7d``, ``90m``) from now."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        what = f"--{param.name.replace('_', '-')}" if param is not None and param.name else "time"
        try:
            return parse_time(str(value), now=system_clock(), what=what)
        except InvalidInput as exc:
            self.fail(str(exc), param, ctx)


oldest_first_option = click.option(
    "--oldest-first", is_flag=True, help="Oldest first (lists and reports are newest first)."
)


def filter_options(
    *,
    status: str | None = None,
    escrow_status: bool = False,
    fan: bool = False,
    reference: bool = False,
    flagged: bool = False,
    older_than: bool = False,
    celebrity: str = "Only this celebrity (external user id).",
) -> Callable[[F], F]:
    """The filter options a command takes, handed to it as one ``filters: ReportFilter``;
    ``status`` is the ``--status`` help text if it takes one; the flags say which of the
    others it takes."""
    options = [
        click.option("--currency", help="Only this ISO 4217 currency (NGN, GHS, ...; any case)."),
        click.option(
            "--since",
            type=TimeParam(),
            metavar="TIME",
            help="Created at or after this time (ISO 8601, or a duration ago: 24h, 7d).",
        ),
        click.option(
            "--until",
            type=TimeParam(),
            metavar="TIME",
            help="Created before this time (ISO 8601, or a duration ago: 24h, 7d).",
        ),
        click.option("--celebrity", metavar="USER_ID", help=celebrity),
    ]
    if older_than:
        options.append(
            click.option(
                "--older-than",
                metavar="DURATION",
                help="Created more than this long ago (24h, 7d, 90m): --until that time.",
            )
        )
    if fan:
        options.append(click.option("--fan", metavar="USER_ID", help="Only this fan."))
    if status is not None:
        options.append(click.option("--status", help=status))
    if escrow_status:
        options.append(click.option("--escrow-status", help=ESCROW_HELP))
    if reference:
        options.append(
            click.option("--reference", metavar="REF", help="Only the payment with this reference.")
        )
    if flagged:
        options.append(
            click.option(
                "--flagged/--not-flagged",
                default=None,
                help="Only payments flagged for an operator (or only those not flagged).",
            )
        )
    names = [f.name for f in fields(ReportFilter)]

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in names if name in kwargs}
            older = kwargs.pop("older_than", None)
            if older is not None:
                if given.get("until") is not None:
                    raise InvalidInput("give --older-than or --until, not both")
                given["until"] = system_clock() - parse_duration(older, unit_required=True)
            return command(filters=ReportFilter(**given), **kwargs)

        for option in reversed(options):
            run = option(run)
        return cast(F, run)

    return decorate


__all__ = ["ESCROW_HELP", "TimeParam", "filter_options", "oldest_first_option"]
