"""The simulator's own control API (``/_sim/...``, no secret, loopback only) and its route table.

    POST /_sim/script               merge a script (docs/simulator.md)
    POST /_sim/reset                forget everything (the secret and webhook URL stay)
    GET  /_sim/state                transactions, refunds, calls, scripts, webhook deliveries
    POST /_sim/webhook              deliver one signed webhook now
    POST /_sim/transactions         plant transactions the ledger never saw
    POST /_sim/transactions/reverse Paystack reversed a transaction
    POST /_sim/refunds              a refund made in Paystack's dashboard
    POST /_sim/refunds/advance      move held refunds on

What it deliberately does not do: check a script beyond what JSON gives (nonsense in is nonsense
out, which is what a test of bad answers needs).
"""

from collections.abc import Mapping

import httpx

from ledger.simulator.paystack import refunds, transactions
from ledger.simulator.paystack.handler import Handler, Route
from ledger.simulator.paystack.webhooks import deliver_webhook


def script(h: Handler) -> None:
    h.state.apply_script(h.body)
    h.send(200, {"status": True, "message": "scripted"})


def reset(h: Handler) -> None:
    h.lifecycle.clear()
    h.state.reset()
    h.send(200, {"status": True, "message": "reset"})


def state(h: Handler) -> None:
    h.send(200, h.state.snapshot())


def webhook(h: Handler) -> None:
    """``{"event", "reference", "url"?, "refund_id"?, "data"?, "signature"?, "unsigned"?,
    "raw"?}``: the receiver's status and answer."""
    try:
        status, answer = deliver_webhook(h.state, h.body)
    except (KeyError, ValueError) as exc:
        h.refuse(400, f"bad webhook request: {exc}")
        return
    except httpx.HTTPError as exc:
        h.refuse(502, f"delivery failed: {type(exc).__name__}")
        return
    h.send(200, {"status": True, "delivered_status": status, "answer": answer})


ROUTES: Mapping[tuple[str, str], Route] = {
    ("POST", "/transaction/initialize"): transactions.initialize,
    ("GET", "/transaction"): transactions.list_transactions,
    ("POST", "/refund"): refunds.create,
    ("GET", "/refund"): refunds.list_refunds,
    ("POST", "/_sim/script"): script,
    ("POST", "/_sim/reset"): reset,
    ("GET", "/_sim/state"): state,
    ("POST", "/_sim/webhook"): webhook,
    ("POST", "/_sim/transactions"): transactions.plant,
    ("POST", "/_sim/transactions/reverse"): transactions.reverse,
    ("POST", "/_sim/refunds"): refunds.dashboard,
    ("POST", "/_sim/refunds/advance"): refunds.advance,
}
PREFIXES: Mapping[tuple[str, str], Route] = {
    ("GET", "/transaction/verify/"): transactions.verify,
    ("GET", "/refund/"): refunds.fetch,
}

__all__ = ["PREFIXES", "ROUTES"]
