"""``ledger payments``: record a payment the host initialised with Paystack, and show one.

A request has at most one payment transaction; its reference (Paystack's) is unique across
the ledger, so ``payments show --reference REF`` finds it without a read table.
"""

from uuid import UUID

import click

from ledger.application import Ledger
from ledger.cli.context import UuidParam, pass_ledger
from ledger.cli.output import Format, emit_record, emit_result, format_option
from ledger.errors import NotFound
from ledger.views import transaction_view


@click.group()
def payments() -> None:
    """Record and show payments (one per request, held in escrow)."""


@payments.command("record")
@click.argument("request_id", type=UuidParam("request id"))
@click.option("--reference", required=True, metavar="REF", help="The provider's reference.")
@format_option
@pass_ledger
def record(ledger: Ledger, request_id: UUID, reference: str, fmt: Format) -> None:
    """Record a PENDING payment for REQUEST_ID; prints the transaction id. The payment is
    held once verified (webhook, the hourly job, or `ledger admin mark-paid`)."""
    result = ledger.record_payment(request_id, reference)
    emit_result(result, fmt, table_line=f"{result.message} (transaction {result.id})")


@payments.command("show")
@click.argument("transaction_id", type=UuidParam("transaction id"), required=False)
@click.option(
    "--reference", default=None, metavar="REF", help="Find the payment by its reference instead."
)
@format_option
@pass_ledger
def show(ledger: Ledger, transaction_id: UUID | None, reference: str | None, fmt: Format) -> None:
    """Show a payment by TRANSACTION_ID, or by --reference REF."""
    if (transaction_id is None) == (reference is None):
        raise click.UsageError("give either TRANSACTION_ID or --reference REF")
    if reference is not None:
        try:
            transaction_id = ledger.find_transaction_id(reference)
        except NotFound:
            raise NotFound(f"no payment with reference {reference!r}") from None
    assert transaction_id is not None
    emit_record(transaction_view(ledger.get_transaction(transaction_id)), fmt)
