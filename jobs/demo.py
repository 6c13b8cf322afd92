"""``ledger demo``: the whole system end to end, offline, in well under a minute.

On the configured store (``make demo``: a fresh SQLite file) it starts the Paystack simulator
on loopback, registers fans and celebrities, and sends 20 requests to mixed fates: paid with
the webhook received, paid but the webhook missed, failed, abandoned, never paid, paid the
wrong amount, a provider outage during the sweep, and a payment stuck at the provider. It
completes some requests, then runs the jobs at simulated business times (+25h, +49h, the next
10:00, then a release run), and prints the summary report, every request's final state, and
the notifications it would have sent (the users get email contacts; no SMTP server is set, so
the outbox's messages stay PENDING and are listed, not mailed).

Business time is simulated (a fixed clock the demo moves); Paystack is the simulator, reached
over HTTP by the real client. Webhooks are signed by the simulator and checked with the real
signature check before they are applied. Nothing leaves the machine.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import click

from jobs.registry import BY_NAME
from jobs.runner import JobRunner, RunRecord
from ledger.bootstrap import Components
from ledger.cli.context import app_context
from ledger.cli.output import table
from ledger.clock import FixedClock, parse_instant
from ledger.config import Settings, load_settings
from ledger.domain import ids
from ledger.domain.money import format_major
from ledger.simulator.paystack import PaystackSimulator, sign, webhook_body
from ledger.views import scalar
from ledger.webhooks import WebhookOutcome
from projections import queries
from projections.notifications import Outbox
from projections.wiring import read_side

SECRET = "sk_test_demo_simulator"  # noqa: S105 - the simulator's key, not a real one
START = "2026-01-05T07:00:00+00:00"
FANS = ["demo-fan-ada", "demo-fan-bayo", "demo-fan-chi"]
STARS = ["demo-star-tems", "demo-star-wiz", "demo-star-new"]  # the last gets its wallet at 10:00

# fate -> how many requests, and what the simulator says about their payments
FATES: list[tuple[str, int, dict[str, Any] | None]] = [
    ("paid, webhook received", 4, {}),
    ("paid, webhook missed", 4, {}),
    ("payment failed", 2, {"status": "failed", "gateway_response": "Declined"}),
    ("payment abandoned", 2, {"status": "abandoned"}),
    ("never paid", 3, None),
    ("paid the wrong amount", 2, {"amount": 100_000}),
    ("provider outage in first sweep", 2, {"faults": [{"http": 503}] * 4}),
    ("stuck at the provider", 1, {"status": "ongoing"}),
]
COMPLETE = {"paid, webhook received": 3, "paid, webhook missed": 2}


@dataclass
class Entry:
    fate: str
    request_id: UUID
    star: str
    reference: str | None = None


class Demo:
    def __init__(self, settings: Settings, sim: PaystackSimulator, out: bool) -> None:
        self.clock = FixedClock(parse_instant(START))
        self.sim = sim
        self.out = out
        self.parts = Components(settings, create=True, clock=self.clock)
        try:
            self.ledger = self.parts.ledger()  # its provider: the Paystack client
            self.runner = JobRunner(
                settings, clock=self.clock, provider=self.parts.provider(), ledger=self.ledger
            )
            self.webhooks = self.parts.webhooks()
        except BaseException:
            self.parts.close()
            raise
        self.entries: list[Entry] = []
        self.runs: list[tuple[str, RunRecord]] = []

    def close(self) -> None:
        try:
            self.runner.close()
        finally:
            self.parts.close()

    def say(self, text: str) -> None:
        if self.out:
            click.echo(text)

    def at(self, hours: float) -> datetime:
        when = parse_instant(START) + timedelta(hours=hours)
        self.clock.set(when)
        return when

    # -- the story -------------------------------------------------------------------------

    def setup(self) -> None:
        for fan in FANS:
            self.ledger.register_user(fan, "fan")
        for star in STARS:
            self.ledger.register_user(star, "celebrity", verified=True)
        contacts = self.parts.contacts()
        for user in FANS + STARS:
            email = f"{user.removeprefix('demo-').replace('-', '.')}@example.com"
            contacts.set(ids.user_id(user), user, email=email, webhook_url=None, at=self.clock())
        for star in STARS[:2]:
            self.ledger.create_wallet(star, "NGN")
        self.say(f"{START}  registered {len(FANS)} fans and {len(STARS)} celebrities")

    def create_requests(self) -> None:
        n = 0
        for fate, count, script in FATES:
            for _ in range(count):
                star = STARS[n % len(STARS)]
                amount = 250_000 + 50_000 * (n % 5)
                rid = uuid4()
                self.ledger.create_request(FANS[n % len(FANS)], star, amount, "NGN", rid)
                entry = Entry(fate, rid, star)
                if script is not None:
                    init = self.ledger.initiate_payment(rid, email=f"fan{n}@example.com")
                    entry.reference = str((init.data or {})["reference"])
                    if script:
                        self.sim.script({"references": {entry.reference: script}})
                self.entries.append(entry)
                n += 1
        self.say(f"{START}  created {n} requests; fans sent to Paystack checkout for most")

    def deliver_webhooks(self) -> None:
        """Paystack's charge.success for the first fate: signed by the simulator, then
        checked, applied and recorded by the handler behind POST /webhooks/paystack."""
        delivered = 0
        for entry in self.entries:
            if entry.fate != "paid, webhook received" or entry.reference is None:
                continue
            body = webhook_body(self.sim.state, "charge.success", entry.reference)
            raw = json.dumps(body, separators=(",", ":")).encode()
            delivery = self.webhooks.handle(raw, sign(raw, SECRET), source_ip=None)
            if delivery.outcome is not WebhookOutcome.APPLIED:
                raise click.ClickException(f"webhook not applied: {delivery.outcome.value}")
            delivered += 1
        self.say(f"{self.clock().isoformat()}  {delivered} charge.success webhooks received")

    def complete(self) -> None:
        done = 0
        for fate, count in COMPLETE.items():
            for entry in [e for e in self.entries if e.fate == fate][:count]:
                self.ledger.complete_request(entry.request_id)
                done += 1
        self.say(f"{self.clock().isoformat()}  celebrities completed {done} paid requests")

    def job(self, name: str) -> None:
        record = self.runner.run(BY_NAME[name])
        self.runs.append((self.clock().isoformat(), record))
        c = record.counts
        self.say(
            f"{self.clock().isoformat()}  {name}: {record.status}, processed {c.processed}, "
            f"succeeded {c.succeeded}, failed {c.failed}, skipped {c.skipped}"
            + (f" ({c.detail})" if c.detail else "")
        )

    def run(self) -> None:
        self.setup()
        self.create_requests()
        self.at(0.5)
        self.deliver_webhooks()
        self.at(25)
        self.job("check_pending_payments")
        self.at(26)
        self.complete()
        self.at(49)
        self.job("check_pending_payments")
        self.job("release_escrow_payments")
        self.at(51)  # the next 10:00 in UTC
        self.job("create_wallets")
        self.at(53)  # the next even hour
        self.job("release_escrow_payments")

    # -- what came of it -------------------------------------------------------------------

    def final_rows(self) -> list[dict[str, Any]]:
        rows = []
        for entry in self.entries:
            request = self.ledger.get_request(entry.request_id)
            txn = self.ledger.find_request_transaction(entry.request_id)
            rows.append(
                {
                    "fate": entry.fate,
                    "request": str(entry.request_id)[:8],
                    "celebrity": entry.star,
                    "amount": format_major(request.amount, request.currency),
                    "request_status": request.status.value,
                    "decline_reason": request.decline_reason.value
                    if request.decline_reason
                    else None,
                    "payment": txn.status.value if txn else None,
                    "escrow": txn.escrow_status.value if txn else None,
                    "review": (txn.flag_reason.value if txn.flag_reason else None)
                    if txn and txn.needs_review
                    else None,
                }
            )
        return rows

    def notifications(self) -> list[dict[str, Any]]:
        """The outbox's email messages, in order, with the address each would go to."""
        with read_side(ledger=self.ledger) as side:
            side.engine.catch_up([Outbox.name])
            rows = side.db.fetchall(
                "SELECT n.created_at, n.recipient, n.template, n.subject, n.status, c.email "
                "FROM notifications n LEFT JOIN contacts c ON c.user_id = n.recipient "
                "WHERE n.channel = 'email' ORDER BY n.position, n.id"
            )
        return [
            {
                "at": str(scalar(row["created_at"]))[:16].replace("T", " "),
                "to": row["email"] or row["recipient"],
                "template": row["template"],
                "subject": row["subject"],
            }
            for row in rows
        ]

    def summary(self) -> list[dict[str, Any]]:
        with read_side(ledger=self.ledger, catch_up=True) as side:
            figures = queries.summary(side.db, now=self.clock())
        return [
            {
                "currency": s.currency,
                "held": format_major(s.held, s.currency),
                "released": format_major(s.released, s.currency),
                "platform_fees": format_major(s.platform_fees, s.currency),
                "refunded": format_major(s.refunded, s.currency),
                "in_review": format_major(s.in_review_amount, s.currency),
                "in_review_count": s.in_review_count,
                "payments": _counts(s.payments_by_status),
                "requests": _counts(s.requests_by_status),
            }
            for s in figures
        ]


def _counts(by_status: Mapping[str, int]) -> str:
    return ", ".join(f"{status} {count}" for status, count in sorted(by_status.items()))


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"], case_sensitive=False),
    default="table",
    show_default=True,
    help="table for people; json (summary, requests, job runs) for machines.",
)
def demo(fmt: str) -> None:
    """Run the whole system end to end on the configured store (LEDGER_DATABASE_URL) against
    the built-in Paystack simulator on loopback, at simulated business times."""
    base = app_context().settings()
    # The story's own lines say what happened; the retries and deferrals the jobs log as
    # warnings and errors are expected here, so they are not shown.
    logging.disable(logging.ERROR)
    with PaystackSimulator(SECRET) as sim:
        settings = load_settings(
            LEDGER_DATABASE_URL=base.database_url,
            LEDGER_POSTGRES_SCHEMA=base.postgres_schema,
            PAYSTACK_URL=sim.url,
            PAYSTACK_SECRET_KEY=SECRET,
            LEDGER_PLATFORM_FEE_BPS=base.platform_fee_bps,
        )
        story = Demo(settings, sim, out=fmt == "table")
        try:
            story.say(f"Escrow ledger demo: Paystack simulator on {sim.url}\n")
            story.run()
            rows = story.final_rows()
            summary = story.summary()
            sent = story.notifications()
        finally:
            story.close()
            logging.disable(logging.NOTSET)
    if fmt == "json":
        runs = [
            {"at": at, "job": r.job, "status": r.status, "processed": r.counts.processed}
            for at, r in story.runs
        ]
        click.echo(
            json.dumps(
                {"summary": summary, "requests": rows, "runs": runs, "notifications": sent},
                indent=2,
            )
        )
        return
    click.echo("\nSummary report\n" + table(summary, list(summary[0]) if summary else []))
    click.echo("\nRequests, final state\n" + table(rows, list(rows[0])))
    click.echo(
        f"\nNotifications it would have sent ({len(sent)} emails; no SMTP server set, so "
        "they wait in the outbox: ledger notifications list)\n"
        + table(sent, ["at", "to", "template", "subject"])
    )


__all__ = ["demo"]
