"""``ledger admin``: an operator's manual interventions on a payment, each one an audited event.

These replace the old runbook's direct ``UPDATE wallet_transactions ...``: the change is
recorded with the operator and the reason, so it is audited and survives a rebuild. Each
command is idempotent ("already released" exits 0) and checks the same rules as the jobs:
``refund`` of a released payment, say, is refused (exit 2) and writes nothing.

Who acts is settled before anything is opened (``ledger.cli.context.current_operator``): a
shared account such as ``root`` without ``--operator`` is refused with exit 2. The payment is
named by its full id, a unique prefix of it, or its provider reference (``ledger.ids_lookup``).
"""

from collections.abc import Callable

import click

from ledger.application import Ledger, Result
from ledger.cli.context import IdText, app_context, current_operator, ids, operator_option
from ledger.cli.output import Format, emit_result, format_option

Action = Callable[..., Result]
PAYMENT = IdText("transaction id", references=True)


@click.group()
def admin() -> None:
    """Operator interventions on a payment (audited: operator and reason are recorded)."""


def _intervention(name: str, summary: str, action: Callable[[Ledger], Action]) -> None:
    @admin.command(
        name,
        help=f"{summary}\n\nTRANSACTION_ID is the payment's id, a unique prefix of it (at "
        "least 8 characters) or its provider reference.",
    )
    @click.argument("transaction_id", type=PAYMENT)
    @click.option("--reason", required=True, metavar="TEXT", help="Why (kept in the audit trail).")
    @operator_option
    @format_option
    def command(transaction_id: str, reason: str, operator: str | None, fmt: Format) -> None:
        who = current_operator(operator)  # before anything is opened: a refusal writes nothing
        ledger = app_context().ledger(click.get_current_context(), create=True)
        tid = ids().payment(transaction_id)
        emit_result(action(ledger)(tid, operator=who, reason=reason), fmt)


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
