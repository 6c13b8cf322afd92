"""``send_notifications``: deliver the outbox's due messages by email and webhook.

Every minute. It catches the outbox up with the event log, skips messages never tried whose
event is older than ``LEDGER_NOTIFY_MAX_AGE``, then, channel by channel, claims due rows in
small batches and delivers each (``jobs.notifications.store`` has the states and the claim):

- email (when ``LEDGER_SMTP_URL`` is set; otherwise email rows wait, and the run says so): to
  the user's contact email, or to ``LEDGER_OPERATOR_EMAILS`` for operators' messages;
- webhook: to the user's contact webhook URL, else ``LEDGER_NOTIFY_WEBHOOK_URL``, signed with
  ``LEDGER_NOTIFY_WEBHOOK_SECRET``.

A row with nowhere to go (no contact, no address, no URL) is SKIPPED and counted, never
retried. A server that is down costs one timeout: the rest of the batch waits for the next
attempt and the channel sends no more batches this run, so the job ends promptly and never
holds up the other jobs. Delivery is at-least-once (see ``store``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from jobs.base import JobContext, JobCounts, kv, log
from jobs.notifications import store
from jobs.notifications.smtp import ChannelDown, Mailer, Rejected, build_message
from jobs.notifications.store import Claimed
from jobs.notifications.webhook import WebhookSender
from ledger.addresses import parse_smtp_url
from ledger.config import Settings
from projections.db import ReadDB
from projections.notifications import Outbox
from projections.notifications.messages import OPERATORS

JOB = "send_notifications"
CLAIM_BATCH = 50  # rows per claim: what one outage can touch in a run


@dataclass(frozen=True)
class Route:
    """Where a row goes: ``server`` names what may be down (one SMTP server, a URL's host)."""

    server: str
    target: Any


class Channel(Protocol):
    name: str

    def route(self, row: Claimed, contact: dict[str, Any] | None) -> Route | str:
        """The row's route, or why it has none (it is then skipped)."""

    def send(self, row: Claimed, route: Route) -> None:
        """Deliver; raise ``ChannelDown`` or ``Rejected``."""


class EmailChannel:
    name = "email"

    def __init__(self, mailer: Mailer, settings: Settings, wall_clock: Callable[[], datetime]):
        self.mailer, self.settings, self.clock = mailer, settings, wall_clock  # for Date:

    def route(self, row: Claimed, contact: dict[str, Any] | None) -> Route | str:
        if row.recipient == OPERATORS:
            to = list(self.settings.operator_emails)
            return Route("smtp", to) if to else "LEDGER_OPERATOR_EMAILS not set"
        email = (contact or {}).get("email")
        return Route("smtp", [email]) if email else "no email address on file"

    def send(self, row: Claimed, route: Route) -> None:
        sender = self.settings.smtp_from
        assert sender is not None  # settings require it with LEDGER_SMTP_URL
        msg = build_message(
            key=row.id,
            sender=sender,
            to=route.target,
            subject=row.subject,
            text=row.body_text,
            html=row.body_html,
            at=self.clock(),
        )
        self.mailer.send(msg, route.target)


class WebhookChannel:
    name = "webhook"

    def __init__(self, sender: WebhookSender | None, settings: Settings):
        self.sender, self.settings = sender, settings

    def route(self, row: Claimed, contact: dict[str, Any] | None) -> Route | str:
        own = (contact or {}).get("webhook_url") if row.recipient != OPERATORS else None
        url = own or self.settings.notify_webhook_url
        if not url:
            return "no webhook URL"
        if self.sender is None:
            return "LEDGER_NOTIFY_WEBHOOK_SECRET not set"
        return Route(urlsplit(url).netloc, url)

    def send(self, row: Claimed, route: Route) -> None:
        assert self.sender is not None
        self.sender.send(route.target, row)


def _contacts(db: ReadDB, rows: Sequence[Claimed]) -> dict[str, dict[str, Any]]:
    users = {row.recipient for row in rows if row.recipient != OPERATORS}
    found = db.select_where_in("contacts", ("user_id", "email", "webhook_url"), "user_id", users)
    return {str(row["user_id"]): row for row in found}


def _deliver(ctx: JobContext, counts: JobCounts, channel: Channel) -> None:
    """Claim and deliver ``channel``'s due rows until none are left, the runner stops, or a
    server is found down."""
    db, clock, settings = ctx.db, ctx.ledger.clock, ctx.settings
    down: dict[str, str] = {}
    while not down and not ctx.stop.is_set():
        rows = store.claim(db, channel.name, clock(), CLAIM_BATCH)
        if not rows:
            return
        contacts = _contacts(db, rows)
        for index, row in enumerate(rows):
            if ctx.stop.is_set():
                store.release(db, rows[index:], clock())
                return
            fields = {
                "job": JOB,
                "id": row.id[:12],
                "template": row.template,
                "channel": channel.name,
                "attempt": row.attempts,
            }
            route = channel.route(row, contacts.get(row.recipient))
            if isinstance(route, str):
                store.mark_skipped(db, row.id, route, clock())
                counts.skip()
                log.info(kv(event="notification_skipped", **fields, reason=route))
                continue
            error = down.get(route.server)
            if error is None:
                try:
                    channel.send(row, route)
                except ChannelDown as exc:
                    error = down[route.server] = str(exc)
                except Rejected as exc:
                    error = str(exc)
            if error is None:
                store.mark_sent(db, row.id, clock())
                counts.succeed()
                log.info(kv(event="notification_sent", **fields))
                continue
            status, due = store.mark_failed_attempt(db, row, error, clock(), settings)
            counts.fail()
            log.warning(
                kv(
                    event="notification_not_sent",
                    **fields,
                    status=status,
                    next_attempt=due.isoformat() if due else None,
                    error=error,
                )
            )


def send_notifications(ctx: JobContext) -> JobCounts:
    counts = JobCounts()
    settings = ctx.settings
    ctx.engine.catch_up([Outbox.name])  # only the outbox: the other tables are not read
    notes: list[str] = []
    expired = store.expire(ctx.db, ctx.ledger.clock(), settings.notify_max_age)
    if expired:
        counts.processed += expired
        counts.skipped += expired
        notes.append(f"{expired} expired")
    timeout = settings.notify_timeout.total_seconds()
    if settings.smtp_url is None or settings.smtp_from is None:
        notes.append("email waits: LEDGER_SMTP_URL not set")
    else:
        server = parse_smtp_url(settings.smtp_url.get_secret_value())
        mailer = Mailer(server, settings.smtp_from, timeout=timeout, ca_file=settings.smtp_ca_file)
        try:
            _deliver(ctx, counts, EmailChannel(mailer, settings, ctx.ledger.wall_clock))
        finally:
            mailer.close()
    secret = settings.notify_webhook_secret
    sender = WebhookSender(secret, timeout=timeout) if secret is not None else None
    try:
        _deliver(ctx, counts, WebhookChannel(sender, settings))
    finally:
        if sender is not None:
            sender.close()
    counts.detail = "; ".join(notes) or None
    return counts


__all__ = ["JOB", "send_notifications"]
