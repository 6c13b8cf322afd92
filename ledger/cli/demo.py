"""``ledger demo``: a walk-through of the escrow ledger on the configured store.

It registers a fan and a celebrity, verifies the celebrity, opens their NGN wallet, and sends
a few requests to different fates: paid, completed and released; declined before payment;
paid then declined by the celebrity (refunded to the fan); and a payment that failed. Then it
prints each request's final state and the wallet's balance.

It is domain-only: payments are confirmed as a Paystack webhook would confirm them, and
refunds go to ``OfflineDemoProvider``, the demo's offline stand-in for Paystack until the
Paystack simulator exists. Nothing leaves the machine. Running it again on the same store adds
new requests (users and wallet are "already done").
"""

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import click

from ledger.application import Ledger
from ledger.cli.context import app_context, build_ledger
from ledger.cli.output import Format, table
from ledger.providers.port import Initialized, Outcome, RefundAccepted, Verification
from ledger.views import View, request_view, scalar, wallet_view

FAN, CELEBRITY = "demo-fan", "demo-celebrity"
COLUMNS = ("fate", "id", "amount", "status", "decline_reason", "payment_status", "escrow_status")
WALLET_COLUMNS = ("user_id", "currency", "balance", "credited", "debited")


@dataclass
class OfflineDemoProvider:
    """The demo's offline stand-in for Paystack (until the Paystack simulator exists):
    accepts every refund, knows no payments. Never used outside ``ledger demo``."""

    refunds: list[tuple[str, int]] = field(default_factory=list)

    def initialize(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        email: str,
        callback_url: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Initialized:
        return Initialized(f"https://demo.invalid/{reference}", f"demo_{reference}", reference)

    def verify(self, reference: str) -> Verification:
        return Verification(Outcome.NOT_FOUND, "not_found")

    def refund(self, *, reference: str, amount: int) -> RefundAccepted:
        self.refunds.append((reference, amount))
        return RefundAccepted(f"demo-refund-{len(self.refunds)}-{reference}", "pending")


class Walkthrough:
    """The demo's steps, each printing what the ledger said (unless ``quiet``)."""

    def __init__(self, ledger: Ledger, provider: OfflineDemoProvider, *, quiet: bool) -> None:
        self.ledger = ledger
        self.provider = provider
        self.quiet = quiet
        self.fates: list[tuple[str, UUID]] = []

    def say(self, message: str) -> None:
        if not self.quiet:
            click.echo(f"  {message}")

    def setup(self) -> None:
        self.say(self.ledger.register_user(FAN, "fan").message)
        self.say(self.ledger.register_user(CELEBRITY, "celebrity").message)
        self.say(self.ledger.verify_user(CELEBRITY).message)
        self.say(self.ledger.create_wallet(CELEBRITY, "NGN").message)

    def request(self, fate: str, amount: int) -> UUID:
        rid = uuid4()
        self.say(self.ledger.create_request(FAN, CELEBRITY, amount, "NGN", rid).message)
        self.fates.append((fate, rid))
        return rid

    def pay(self, rid: UUID, amount: int) -> UUID:
        """Record a payment and confirm it as Paystack's ``charge.success`` webhook would."""
        result = self.ledger.record_payment(rid, f"demo-{rid.hex}")
        self.say(result.message)
        confirmed = self.ledger.confirm_payment(
            result.id, amount=amount, currency="NGN", provider_transaction_id=f"demo-{rid.hex}"
        )
        self.say(f"payment confirmed: {confirmed.message}")
        return result.id

    def run(self) -> None:
        self.setup()
        rid = self.request("paid, completed, released", 500_000)
        tid = self.pay(rid, 500_000)
        self.say(self.ledger.complete_request(rid).message)
        self.say(self.ledger.release_escrow(tid, run_id="demo").message)

        rid = self.request("declined before payment", 250_000)
        self.say(self.ledger.decline_request(rid, note="demo: not this week").message)

        rid = self.request("paid, then declined: refunded", 750_000)
        self.pay(rid, 750_000)
        self.say(self.ledger.decline_request(rid, note="demo: cannot do it").message)
        reference, amount = self.provider.refunds[-1]
        self.say(f"refund of {amount} kobo for {reference} accepted by the offline stand-in")

        rid = self.request("payment failed", 100_000)
        tid = self.ledger.record_payment(rid, f"demo-{rid.hex}").id
        failed = self.ledger.fail_payment(
            tid, reason="demo: card declined", provider_status="failed"
        )
        self.say(f"payment failed: {failed.message}")

    def rows(self) -> list[View]:
        fan, celebrity = self.ledger.get_user(FAN), self.ledger.get_user(CELEBRITY)
        rows = []
        for fate, rid in self.fates:
            txn = self.ledger.find_request_transaction(rid)
            request = self.ledger.get_request(rid)
            view = request_view(request, transaction=txn, fan=fan, celebrity=celebrity)
            rows.append({"fate": scalar(fate), **view})
        return rows


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people; json (one object: requests and wallet) for machines.",
)
def demo(fmt: Format) -> None:
    """Walk through the escrow ledger on the configured store (LEDGER_DATABASE_URL):
    a fan, a celebrity, a wallet and requests with different fates. Offline: refunds go to
    an in-process stand-in for Paystack."""
    provider = OfflineDemoProvider()
    ledger = build_ledger(app_context().settings(), provider=provider)
    try:
        walk = Walkthrough(ledger, provider, quiet=fmt != "table")
        if fmt == "table":
            click.echo("Escrow ledger demo (offline: refunds go to an in-process stand-in)")
        walk.run()
        rows = walk.rows()
        wallet = wallet_view(ledger.get_wallet(CELEBRITY, "NGN"), owner=CELEBRITY)
    finally:
        ledger.close()
    if fmt == "json":
        click.echo(json.dumps({"requests": rows, "wallet": wallet}, indent=2))
        return
    click.echo(f"\nRequests\n{table(rows, COLUMNS)}")
    click.echo(f"\nWallet\n{table([wallet], WALLET_COLUMNS)}")
