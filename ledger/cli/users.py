"""``ledger users``: register and verify users of the host application, and show one.

A user is known by the host application's id (``USER_ID``, e.g. ``fan-42``); the ledger keeps
nothing else about them but the role. Registering or verifying twice is "already done".
"""

import click

from ledger.application import Ledger
from ledger.cli.context import pass_ledger
from ledger.cli.output import Format, emit_record, emit_result, format_option
from ledger.views import user_view


@click.group()
def users() -> None:
    """Register, verify and show users (fans and celebrities)."""


@users.command("register")
@click.argument("user_id")
@click.option(
    "--role", type=click.Choice(["fan", "celebrity"]), required=True, help="The user's role."
)
@click.option("--verified", is_flag=True, help="Also mark the user verified.")
@format_option
@pass_ledger
def register(ledger: Ledger, user_id: str, role: str, verified: bool, fmt: Format) -> None:
    """Register USER_ID (the host application's id) as a fan or a celebrity."""
    emit_result(ledger.register_user(user_id, role, verified=verified), fmt)


@users.command("verify")
@click.argument("user_id")
@format_option
@pass_ledger
def verify(ledger: Ledger, user_id: str, fmt: Format) -> None:
    """Mark USER_ID verified (a verified celebrity can have a wallet)."""
    emit_result(ledger.verify_user(user_id), fmt)


@users.command("show")
@click.argument("user_id")
@format_option
@pass_ledger
def show(ledger: Ledger, user_id: str, fmt: Format) -> None:
    """Show USER_ID: role, verification, ids and times."""
    emit_record(user_view(ledger.get_user(user_id)), fmt)
