"""``ledger payments``: initiate a Paystack payment, record one the host initialised, show one.

A request has at most one payment transaction; its reference (Paystack's) is unique across
the ledger. Every id argument takes the full id or a unique prefix of at least 8 characters;
a payment's also takes its reference (``ledger.ids_lookup``).
"""

import click

from ledger.application import Ledger
from ledger.cli.context import IdText, ids, pass_ledger, pass_reader
from ledger.cli.output import Format, emit_record, emit_result, format_option
from ledger.cli.plugins import add_subcommands
from ledger.errors import NotFound
from ledger.views import transaction_view

REQUEST_ID = IdText("request id")


@click.group()
def payments() -> None:
    """Record and show payments (one per request, held in escrow)."""


@payments.command("record")
@click.argument("request_id", type=REQUEST_ID)
@click.option("--reference", required=True, metavar="REF", help="The provider's reference.")
@format_option
@pass_ledger
def record(ledger: Ledger, request_id: str, reference: str, fmt: Format) -> None:
    """Record a PENDING payment for REQUEST_ID; prints the transaction id. The payment is
    held once verified (webhook, the hourly job, or `ledger admin mark-paid`)."""
    result = ledger.record_payment(ids().request(request_id), reference)
    emit_result(result, fmt, table_line=f"{result.message} (transaction {result.id})")


@payments.command("initiate")
@click.argument("request_id", type=REQUEST_ID)
@click.option("--email", required=True, help="The fan's email, passed to Paystack only.")
@click.option("--callback-url", default=None, help="Where Paystack sends the fan afterwards.")
@format_option
@pass_ledger
def initiate(
    ledger: Ledger, request_id: str, email: str, callback_url: str | None, fmt: Format
) -> None:
    """Initialise a Paystack payment for REQUEST_ID and record it; prints the reference and
    the authorization_url to send the fan to. Nothing is recorded if Paystack refuses."""
    result = ledger.initiate_payment(
        ids().request(request_id), email=email, callback_url=callback_url
    )
    data = dict(result.data or {})
    if fmt == "table":
        click.echo(f"reference          {data.get('reference')}")
        click.echo(f"authorization_url  {data.get('authorization_url')}")
        click.echo(f"transaction        {result.id}")
        return
    emit_record(
        {
            "changed": result.changed,
            "transaction_id": str(result.id),
            "reference": str(data.get("reference")),
            "authorization_url": str(data.get("authorization_url")),
            "access_code": str(data.get("access_code")),
        },
        fmt,
    )


@payments.command("show")
@click.argument("transaction_id", type=IdText("transaction id", references=True), required=False)
@click.option(
    "--reference", default=None, metavar="REF", help="Find the payment by its reference only."
)
@format_option
@pass_reader
def show(ledger: Ledger, transaction_id: str | None, reference: str | None, fmt: Format) -> None:
    """Show a payment by TRANSACTION_ID (its id, a unique prefix, or its reference), or by
    --reference REF."""
    if (transaction_id is None) == (reference is None):
        raise click.UsageError("give either TRANSACTION_ID or --reference REF")
    if reference is not None:
        try:
            tid = ledger.find_transaction_id(reference)
        except NotFound:
            raise NotFound(f"no payment with reference {reference!r}") from None
    else:
        assert transaction_id is not None
        tid = ids().payment(transaction_id)
    emit_record(transaction_view(ledger.get_transaction(tid)), fmt)


# ``payments list`` reads the read tables: it is projections' (entry point ledger.cli.payments).
add_subcommands(payments, "ledger.cli.payments")
