"""``ledger admin``: an operator's manual interventions on a payment, each one an audited event.

These replace the old runbook's direct ``UPDATE wallet_transactions ...``: the change is
recorded with the operator and the reason, so it is audited and survives a rebuild. Each
command is idempotent ("already released" exits 0) and checks the same rules as the jobs:
``refund`` of a released payment, say, is refused (exit 2) and writes nothing.
"""

from collections.abc import Callable
from uuid import UUID

import click

from ledger.application import Ledger, Result
from ledger.cli.context import OPERATOR_ENV, UuidParam, default_operator, pass_ledger
from ledger.cli.output import Format, emit_result, format_option

Action = Callable[..., Result]


@click.group()
def admin() -> None:
    """Operator interventions on a payment (audited: operator and reason are recorded)."""


def _intervention(name: str, summary: str, action: Callable[[Ledger], Action]) -> None:
    @admin.command(name, help=f"{summary}\n\nTRANSACTION_ID is the payment's id.")
    @click.argument("transaction_id", type=UuidParam("transaction id"))
    @click.option("--reason", required=True, metavar="TEXT", help="Why (kept in the audit trail).")
    @click.option(
        "--operator",
        default=None,
        metavar="NAME",
        help=f"Who is acting (default: ${OPERATOR_ENV}, else the OS user name).",
    )
    @format_option
    @pass_ledger
    def command(
        ledger: Ledger, transaction_id: UUID, reason: str, operator: str | None, fmt: Format
    ) -> None:
        who = operator if operator is not None else default_operator()
        emit_result(action(ledger)(transaction_id, operator=who, reason=reason), fmt)


_intervention(
    "mark-paid",
    "Confirm a pending payment was received in full: the money is held in escrow.",
    lambda ledger: ledger.admin_mark_paid,
)
_intervention(
    "release",
    "Release held money to the celebrity's wallet (the request must be COMPLETED).",
    lambda ledger: ledger.admin_release,
)
_intervention(
    "refund",
    "Refund held or flagged money to the fan through the payment provider.",
    lambda ledger: ledger.admin_refund,
)
_intervention(
    "resolve",
    "Close a flagged payment that was settled outside the ledger (a note, no money moves).",
    lambda ledger: ledger.admin_resolve,
)
