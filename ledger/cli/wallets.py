"""``ledger wallets``: open a verified user's wallet in a currency, and show it.

One wallet per user and currency (a deterministic id), so creating it twice is "already
done". The ``create_wallets`` job does the same daily for every verified user.
"""

import click

from ledger.application import Ledger
from ledger.cli.context import CURRENCY as CURRENCY_CODE
from ledger.cli.context import pass_ledger, pass_reader
from ledger.cli.output import Format, emit_record, emit_result, format_option
from ledger.views import wallet_view

CURRENCY = click.option(
    "--currency",
    type=CURRENCY_CODE,
    default="NGN",
    show_default=True,
    help="ISO 4217 code of the wallet (any case).",
)


@click.group()
def wallets() -> None:
    """Create and show wallets (per user and currency)."""


@wallets.command("create")
@click.argument("user_id")
@CURRENCY
@format_option
@pass_ledger
def create(ledger: Ledger, user_id: str, currency: str, fmt: Format) -> None:
    """Open USER_ID's wallet in --currency (verified users only)."""
    emit_result(ledger.create_wallet(user_id, currency), fmt)


@wallets.command("show")
@click.argument("user_id")
@CURRENCY
@format_option
@pass_reader
def show(ledger: Ledger, user_id: str, currency: str, fmt: Format) -> None:
    """Show USER_ID's wallet in --currency: balance, credits and debits."""
    emit_record(wallet_view(ledger.get_wallet(user_id, currency), owner=user_id), fmt)
