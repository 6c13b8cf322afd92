"""Refunds at the simulated Paystack: ``POST /refund``, ``GET /refund/:id``, ``GET /refund`` (the
list), and the control routes that refund from "the dashboard" (nobody asked the ledger) and
move a held refund on.

Opening and refusing follow ``refund_records`` (partial refunds up to the payment's amount;
Paystack's refusals); each refund then lives its life in ``lifecycle``, which sends its
webhooks. The list is newest first, filtered by the payment's ``reference``, ``currency`` and
creation time (``from``/``to``), and paged like Paystack's (``perPage``, ``page``, ``meta``).
"""

from typing import Any

from ledger.simulator.paystack.handler import Handler
from ledger.simulator.paystack.paging import QueryError, page_answer, window, within
from ledger.simulator.paystack.refund_records import (
    OUTCOMES,
    Refusal,
    created_answer,
    find_transaction,
    listed_answer,
    open_refund,
)

ENTITY_NOT_FOUND = {"status": False, "message": "Entity not found"}
PLAN_KEYS = ("outcome", "delay", "hold")


def create(h: Handler) -> None:
    """``POST /refund``: ``{"transaction", "amount"?, "currency"?, "merchant_note"?,
    "customer_note"?}``."""
    given = str(h.body.get("transaction") or "")
    with h.state.lock:
        found = find_transaction(h.state, given)
    reference = found[0] if found else given
    if h.answered_early("refund", reference):
        return
    _open(h, given, h.body, source="api", message="Refund has been queued for processing")


def dashboard(h: Handler) -> None:
    """``POST /_sim/refunds``: a refund made in Paystack's dashboard: ``{"reference",
    "amount"?, "merchant_note"?, "customer_note"?, "refund": {plan}?}``. Refused as
    ``POST /refund`` would be; otherwise it lives and sends its webhooks like any refund."""
    reference = str(h.body.get("reference") or "")
    _open(h, reference, h.body, source="dashboard", message="Refund created in the dashboard")


def _open(h: Handler, given: str, body: dict[str, Any], *, source: str, message: str) -> None:
    state = h.state
    with state.lock:
        found = find_transaction(state, given)
        plan: dict[str, Any] = {}
        if found is not None:
            script = state.scripts.get(found[0], {}).get("refund", {})
            plan = {k: script[k] for k in PLAN_KEYS if k in script}
        if isinstance(body.get("refund"), dict):
            plan.update({k: body["refund"][k] for k in PLAN_KEYS if k in body["refund"]})
        opened: dict[str, Any] | Refusal | None = None
        if plan.get("outcome", "processed") in OUTCOMES:
            opened = open_refund(state, given, body, source=source, plan=plan)
        answer = opened if not isinstance(opened, dict) else created_answer(state, opened)
    if opened is None:
        h.refuse(400, f"refund.outcome must be one of {', '.join(OUTCOMES)}")
        return
    if isinstance(opened, Refusal):
        h.send(opened.http, opened.body)
        return
    h.lifecycle.begin(opened["id"])
    h.send(200, {"status": True, "message": message, "data": answer})


def fetch(h: Handler) -> None:
    """``GET /refund/:id``."""
    given = h.path_only.removeprefix("/refund/")
    if h.answered_early("fetch_refund", None):
        return
    with h.state.lock:
        refund = h.state.refunds.get(int(given)) if given.isdigit() else None
        data = None if refund is None else listed_answer(h.state, refund)
    if data is None:
        h.send(404, ENTITY_NOT_FOUND)
        return
    h.send(200, {"status": True, "message": "Refund retrieved", "data": data})


def list_refunds(h: Handler) -> None:
    """``GET /refund``: ``reference``, ``currency``, ``from``, ``to``, ``page``, ``perPage``."""
    if h.answered_early("list_refunds", h.query.get("reference")):
        return
    state = h.state
    reference, currency = h.query.get("reference"), h.query.get("currency")
    try:
        start, end = window(h.query)
        with state.lock:
            found = [
                r
                for r in state.refunds.values()
                if (reference is None or r["transaction_reference"] == reference)
                and (currency is None or r["currency"].upper() == currency.upper())
                and within(r["created_at"], start, end)
            ]
            found.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
            answer = page_answer(
                "Refunds retrieved", found, h.query, lambda r: listed_answer(state, r)
            )
    except QueryError as exc:
        h.refuse(400, str(exc), type="validation_error", code="invalid_params")
        return
    h.send(200, answer)


def advance(h: Handler) -> None:
    """``POST /_sim/refunds/advance``: ``{"id": 3018284}`` or ``{"reference": "..."}`` (every
    refund of that payment not yet final), with ``"to"`` (``processing``, ``processed``,
    ``failed``, ``needs-attention``) when given: move held refunds on."""
    to = h.body.get("to")
    if to is not None and to not in ("processing", *OUTCOMES):
        h.refuse(400, f"to must be processing or one of {', '.join(OUTCOMES)}")
        return
    given = h.body.get("id")
    if given is not None and not str(given).isdigit():
        h.refuse(400, "id must be a refund id")
        return
    with h.state.lock:
        if given is not None:
            wanted = [int(given)] if int(given) in h.state.refunds else []
        else:
            reference = str(h.body.get("reference") or "")
            wanted = [
                r["id"] for r in h.state.refunds.values() if r["transaction_reference"] == reference
            ]
    if not wanted:
        h.send(404, ENTITY_NOT_FOUND)
        return
    moved = [refund_id for refund_id in wanted if h.lifecycle.advance(refund_id, to)]
    h.send(200, {"status": True, "advanced": moved})


__all__ = ["advance", "create", "dashboard", "fetch", "list_refunds"]
