"""``ledger notifications list | show | retry``: see the outbox and retry failed deliveries.

``list`` catches the outbox up first, then shows the newest messages (``--status FAILED`` for
what needs an operator); ``show ID`` prints one message as it is sent; ``retry ID...`` (or
``--all-failed``) puts FAILED or SKIPPED messages back to PENDING, due now, with their
attempts reset: the next ``send_notifications`` run (every minute) delivers them. IDs may be
shortened to a unique prefix of at least 8 hex digits. Addresses are never shown: they live
in the contacts table (``ledger users contact``).

The main CLI loads this group through the ``ledger.cli`` entry point.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import click

from jobs.notifications import store
from ledger.cli.context import app_context
from ledger.cli.output import Format, emit_record, emit_rows, format_option
from ledger.errors import InvalidInput
from ledger.views import View, scalar
from projections.notifications import Outbox
from projections.notifications.queries import (
    STATUSES,
    NotificationRow,
    find_notification,
    list_notifications,
    notification_body,
)
from projections.wiring import ReadSide, read_side

COLUMNS = (
    "id",
    "created_at",
    "template",
    "channel",
    "recipient",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
)


@contextmanager
def _side() -> Iterator[ReadSide]:
    ledger = app_context().ledger(click.get_current_context(), create=False)
    with read_side(ledger=ledger) as side:
        side.engine.catch_up([Outbox.name])
        yield side


def _view(row: NotificationRow, *, short: bool) -> View:
    return {
        "id": row.id[:12] if short else row.id,
        "created_at": scalar(row.created_at),
        "template": row.template,
        "channel": row.channel,
        "recipient": row.recipient,
        "subject": row.subject,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": scalar(row.next_attempt_at),
        "sent_at": scalar(row.sent_at),
        "last_error": row.last_error,
    }


@click.group(name="notifications")
def notifications() -> None:
    """The notifications outbox: what was sent, what waits, what failed; retry failures."""


@notifications.command("list")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False), help="Only these.")
@click.option(
    "--channel",
    type=click.Choice(["email", "webhook"], case_sensitive=False),
    help="Only this channel.",
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--oldest-first", is_flag=True, help="The earliest messages first.")
@format_option
def list_command(
    status: str | None, channel: str | None, limit: int, oldest_first: bool, fmt: Format
) -> None:
    """The newest messages first, with their delivery state and last error."""
    with _side() as side:
        rows = list_notifications(
            side.db, status=status, channel=channel, limit=limit, oldest_first=oldest_first
        )
    short = fmt == "table"
    columns = COLUMNS if short else (*COLUMNS[:5], "subject", *COLUMNS[5:], "sent_at")
    if short and not rows:
        click.echo("no notifications")
        return
    emit_rows([_view(row, short=short) for row in rows], columns, fmt)


@notifications.command("show")
@click.argument("notification_id")
@format_option
def show(notification_id: str, fmt: Format) -> None:
    """One message: its delivery state and, in a table, its text as sent."""
    with _side() as side:
        row = find_notification(side.db, notification_id)
        subject, text = notification_body(side.db, row.id)
    view = _view(row, short=False)
    if fmt != "table":
        emit_record({**view, "text": text}, fmt)
        return
    emit_record(view, fmt)
    click.echo(f"\nSubject: {subject}\n\n{text}")


@notifications.command("retry")
@click.argument("notification_ids", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Retry every FAILED message.")
def retry(notification_ids: tuple[str, ...], all_failed: bool) -> None:
    """Put FAILED or SKIPPED messages back to PENDING, due now (attempts reset)."""
    if bool(notification_ids) == all_failed:
        raise InvalidInput("give notification ids or --all-failed (not both)")
    with _side() as side:
        if all_failed:
            rows = list_notifications(side.db, status="FAILED", limit=1_000_000)
        else:
            rows = [find_notification(side.db, prefix) for prefix in notification_ids]
        changed = store.retry(side.db, [row.id for row in rows], side.ledger.clock())
    skipped = len(rows) - changed
    note = f" ({skipped} already PENDING or SENT, left as they were)" if skipped else ""
    click.echo(f"{changed} notification(s) due again{note}")


__all__ = ["notifications"]
