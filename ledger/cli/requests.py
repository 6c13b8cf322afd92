"""``ledger requests``: create, complete, decline and show a fan's request to a celebrity.

Amounts are minor units (500000 kobo is NGN 5,000.00). ``--id`` makes creation idempotent:
the same id with the same details again is "already done", other details are refused.
REQUEST_ID is the full id or a unique prefix of at least 8 characters (``ledger.ids_lookup``).
Declining from the CLI is an operator's decision (reason ``operator_declined``, with the
operator and the ``--reason`` text recorded; a shared account such as root is refused); a
request whose payment is held is refunded through the payment provider first. (A
celebrity's own decline comes through the API: ``celebrity_declined``.)
"""

from uuid import UUID

import click

from ledger.application import Ledger
from ledger.cli.context import (
    CURRENCY,
    IdText,
    MinorUnits,
    UuidParam,
    app_context,
    current_operator,
    ids,
    operator_option,
    pass_ledger,
    pass_reader,
)
from ledger.cli.output import Format, emit_record, emit_result, format_option
from ledger.cli.plugins import add_subcommands
from ledger.domain.request import DeclineReason
from ledger.domain.user import User
from ledger.views import request_view

REQUEST_ID = IdText("request id")


@click.group()
def requests() -> None:
    """Create, complete, decline and show requests."""


@requests.command("create")
@click.option("--fan", "fan", required=True, metavar="USER_ID", help="The paying fan.")
@click.option(
    "--celebrity", "celebrity", required=True, metavar="USER_ID", help="The celebrity asked."
)
@click.option(
    "--amount", type=MinorUnits(), required=True, metavar="MINOR", help="Price in minor units."
)
@click.option(
    "--currency", type=CURRENCY, required=True, help="ISO 4217 code: NGN, GHS, ZAR, KES or USD."
)
@click.option(
    "--id",
    "request_id",
    type=UuidParam("request id"),
    default=None,
    metavar="UUID",
    help="Request id (default: a new one); repeating it is idempotent.",
)
@format_option
@pass_ledger
def create(
    ledger: Ledger,
    fan: str,
    celebrity: str,
    amount: int,
    currency: str,
    request_id: UUID | None,
    fmt: Format,
) -> None:
    """Create a PENDING request from a fan to a celebrity; prints its id."""
    emit_result(ledger.create_request(fan, celebrity, amount, currency, request_id), fmt)


@requests.command("complete")
@click.argument("request_id", type=REQUEST_ID)
@format_option
@pass_ledger
def complete(ledger: Ledger, request_id: str, fmt: Format) -> None:
    """Mark a paid (IN_PROGRESS) request COMPLETED; its escrow can then be released."""
    emit_result(ledger.complete_request(ids().request(request_id)), fmt)


@requests.command("decline")
@click.argument("request_id", type=REQUEST_ID)
@click.option(
    "--reason", "note", required=True, metavar="TEXT", help="Why (kept in the audit trail)."
)
@operator_option
@format_option
def decline(request_id: str, note: str, operator: str | None, fmt: Format) -> None:
    """An operator declines the request (operator_declined; the operator and --reason are
    recorded). A held payment is refunded to the fan through the payment provider first;
    if that fails, nothing is recorded."""
    who = current_operator(operator)  # before anything is opened: a refusal writes nothing
    ledger = app_context().ledger(click.get_current_context(), create=True)
    result = ledger.decline_request(
        ids().request(request_id),
        reason=DeclineReason.OPERATOR_DECLINED,
        note=note,
        operator=who,
    )
    emit_result(result, fmt)


@requests.command("show")
@click.argument("request_id", type=REQUEST_ID)
@format_option
@pass_reader
def show(ledger: Ledger, request_id: str, fmt: Format) -> None:
    """Show a request, its users and the state of its payment."""
    request = ledger.get_request(ids().request(request_id))
    fan: object = ledger.repository.get(request.fan_id)
    celebrity: object = ledger.repository.get(request.celebrity_id)
    view = request_view(
        request,
        transaction=ledger.find_request_transaction(request.id),
        fan=fan if isinstance(fan, User) else None,
        celebrity=celebrity if isinstance(celebrity, User) else None,
    )
    emit_record(view, fmt)


# ``requests list`` reads the read tables: it is projections' (entry point ledger.cli.requests).
add_subcommands(requests, "ledger.cli.requests")
