"""``ledger webhooks paystack --signature SIG < body.json``: apply one delivery by hand, through
the code path of ``POST /webhooks/paystack`` (signature check, parsing, the ledger, the
``webhook_deliveries`` record); and ``ledger webhooks deliveries``: the latest records.

Useful to replay a delivery an operator has from Paystack's dashboard. The source-address
allowlist does not apply (there is no source address). Exit codes as everywhere: 0 when the
delivery was acknowledged (applied, flagged, duplicate, ignored, unknown reference, refused),
2 when it was rejected (bad signature, malformed), 1 when it could not be applied now.
"""

import sys

import click

from ledger.cli.context import app_context
from ledger.cli.output import Format, emit_record, emit_rows, format_option
from ledger.errors import InvalidInput
from ledger.webhooks import WebhookOutcome


@click.group(name="webhooks")
def webhooks() -> None:
    """Apply a Paystack webhook delivery by hand; list recorded deliveries."""


@webhooks.command("paystack")
@click.option(
    "--signature",
    required=True,
    metavar="SIG",
    help="The delivery's x-paystack-signature (hex HMAC-SHA512 of the body).",
)
@format_option
def paystack(signature: str, fmt: Format) -> None:
    """Read a delivery's raw body from stdin, check SIG against PAYSTACK_SECRET_KEY, apply
    it as POST /webhooks/paystack would, and record it."""
    raw = sys.stdin.buffer.read()
    handler = app_context().components(click.get_current_context(), create=True).webhooks()
    delivery = handler.handle(raw, signature, source_ip=None)
    if delivery.outcome is WebhookOutcome.FAILED:
        raise click.ClickException(f"not applied, try again: {delivery.detail}")
    if not delivery.outcome.acknowledged:
        raise InvalidInput(f"webhook rejected ({delivery.outcome.value}): {delivery.detail}")
    if fmt == "table":
        click.echo(f"{delivery.outcome.value}: {delivery.detail} (delivery {delivery.id})")
    else:
        emit_record({k: v for k, v in delivery.view().items()}, fmt)


@webhooks.command("deliveries")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option(
    "--outcome",
    type=click.Choice([o.value for o in WebhookOutcome], case_sensitive=False),
    help="Only this outcome.",
)
@click.option("--reference", default=None, help="Only deliveries about this payment reference.")
@click.option("--oldest-first", is_flag=True, help="The earliest deliveries first.")
@format_option
def deliveries(
    limit: int, outcome: str | None, reference: str | None, oldest_first: bool, fmt: Format
) -> None:
    """The latest recorded deliveries, newest first (the webhook audit record)."""
    handler = app_context().components(click.get_current_context(), create=False).webhooks()
    found = handler.store.recent(
        limit=limit, outcome=outcome, reference=reference, oldest_first=oldest_first
    )
    columns = ["received_at", "event", "reference", "outcome", "signature_valid", "detail", "id"]
    emit_rows([d.view() for d in found], columns, fmt)


__all__ = ["webhooks"]
