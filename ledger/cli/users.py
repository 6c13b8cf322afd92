"""``ledger users``: register and verify users of the host application, and show one.

A user is known by the host application's id (``USER_ID``, e.g. ``fan-42``); the event log
keeps nothing else about them but the role. Registering or verifying twice is "already done".
``contact`` keeps where notifications reach them in the mutable ``contacts`` table.
"""

import click

from ledger.application import Ledger, Result
from ledger.cli.context import app_context, pass_ledger, pass_reader
from ledger.cli.output import Format, emit_record, emit_result, format_option
from ledger.contacts import Contact
from ledger.errors import InvalidInput, NotFound
from ledger.views import View, user_view


@click.group()
def users() -> None:
    """Register, verify and show users (fans and celebrities)."""


@users.command("register")
@click.argument("user_id")
@click.option(
    "--role",
    type=click.Choice(["fan", "celebrity"], case_sensitive=False),
    required=True,
    help="The user's role.",
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
@pass_reader
def show(ledger: Ledger, user_id: str, fmt: Format) -> None:
    """Show USER_ID: role, verification, ids and times."""
    emit_record(user_view(ledger.get_user(user_id)), fmt)


@users.command("contact")
@click.argument("user_id")
@click.option("--email", help="Email address for the user's notifications.")
@click.option("--webhook-url", help="The user's own webhook URL (instead of the platform's).")
@click.option("--erase", is_flag=True, help="Delete the contact (history is untouched).")
@format_option
def contact(
    user_id: str,
    email: str | None,
    webhook_url: str | None,
    erase: bool,
    fmt: Format,
) -> None:
    """Show, set or erase where USER_ID's notifications go. Addresses are personal data: they
    live in the contacts table, never in the event log, and --erase deletes them for good.
    Setting replaces both fields (one not given is cleared)."""
    writes = erase or email is not None or webhook_url is not None
    parts = app_context().components(click.get_current_context(), create=writes)
    ledger = parts.ledger()
    user = ledger.get_user(user_id)  # NotFound (exit 2) for a user the ledger does not know
    contacts = parts.contacts()
    if erase:
        if email is not None or webhook_url is not None:
            raise InvalidInput("--erase takes no --email or --webhook-url")
        erased = contacts.erase(user.id)
        message = f"contact of {user_id} erased" if erased else f"{user_id} has no contact"
        emit_result(Result(erased, message, user.id), fmt)
        return
    if email is None and webhook_url is None:
        found = contacts.get(user.id)
        if found is None:
            raise NotFound(f"{user_id} has no contact on file")
        emit_record(contact_view(found), fmt)
        return
    saved = contacts.set(
        user.id, user_id, email=email, webhook_url=webhook_url, at=ledger.wall_clock()
    )
    emit_record(contact_view(saved), fmt)


def contact_view(found: Contact) -> View:
    return {
        "user": found.external_id,
        "email": found.email,
        "webhook_url": found.webhook_url,
        "updated_at": found.updated_at.isoformat(),
    }
