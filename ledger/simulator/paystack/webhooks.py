"""The webhooks the simulated Paystack sends: their bodies in the real shapes, the signature, and
the delivery.

Refund events follow Paystack's published samples (tests/fixtures/paystack/webhook_refund_*):
the payment is ``transaction_reference`` (never ``reference``), ``refund_reference`` is null
while ``pending``/``processing`` and then the processor's reference (never the refund's
``data.id``), ``amount`` is a **string** in ``refund.pending|processing|processed`` and a
**number** in ``refund.failed|needs-attention``; ``needs-attention`` carries the refund's ``id``
(a string) and both notes and no ``processor``. ``x-paystack-signature`` is the hex HMAC-SHA512
of the raw body with the secret key.

A delivery is one POST with a 10 s timeout; its outcome (HTTP status, or the error) is recorded
in ``state.deliveries``. Paystack retries failed deliveries later; the simulator does not
(``POST /_sim/webhook`` sends one again).
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from ledger.simulator.answers import now, transaction_data
from ledger.simulator.paystack.refund_records import INTEGRATION, processor_reference
from ledger.simulator.paystack.state import SimState
from ledger.simulator.paystack.transactions import effective_script

log = logging.getLogger("ledger.simulator")
PROCESSORS = {"processed": "mpgs_zen"}


def sign(body: bytes, secret: str) -> str:
    """Paystack's ``x-paystack-signature``: hex HMAC-SHA512 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def refund_event(state: SimState, refund: Mapping[str, Any]) -> dict[str, Any]:
    """The ``refund.<status>`` webhook body for ``refund`` as it is now (module docstring)."""
    status = str(refund["status"])
    ref = refund.get("processor_reference")
    with state.lock:
        txn = state.transactions.get(str(refund["transaction_reference"]), {})
    as_string = status in ("pending", "processing", "processed")
    data: dict[str, Any] = {
        "status": status,
        "transaction_reference": refund["transaction_reference"],
        "refund_reference": None if status in ("pending", "processing") else ref,
        "amount": str(refund["amount"]) if as_string else int(refund["amount"]),
        "currency": refund["currency"],
    }
    if status != "needs-attention":
        data["processor"] = PROCESSORS.get(status, "instant-transfer")
    data["customer"] = {"first_name": None, "last_name": None, "email": txn.get("email")}
    data["integration"] = INTEGRATION
    data["domain"] = "test"
    if status == "needs-attention":
        data["id"] = str(refund["id"])
        data["customer_note"] = refund["customer_note"]
        data["merchant_note"] = refund["merchant_note"]
    return {"event": f"refund.{status}", "data": data}


def webhook_body(
    state: SimState, event: str, reference: str, *, refund_id: int | None = None
) -> dict[str, Any]:
    """The body Paystack would send for ``event`` about ``reference``: ``charge.success``, or
    a ``refund.*`` event for refund ``refund_id`` (default: the payment's latest refund; with
    none, one for the whole payment) as if it had that status."""
    with state.lock:
        txn = state.transactions.get(reference)
        if txn is None:
            raise KeyError(f"unknown reference {reference}")
        script = effective_script(state, reference, txn)
        mine = [r for r in state.refunds.values() if r["transaction_reference"] == reference]
        refund = next((r for r in mine if r["id"] == refund_id), None) if refund_id else None
        if refund_id is not None and refund is None:
            raise KeyError(f"no refund {refund_id} of {reference}")
        refund = dict(refund or (mine[-1] if mine else _whole(txn, reference)))
    if event == "charge.success":
        data = transaction_data(reference, txn, {**script, "status": "success"})
        return {"event": event, "data": data}
    if event.startswith("refund."):
        status = event.removeprefix("refund.")
        refund["status"] = status
        if status in ("processed", "failed", "needs-attention"):
            refund["processor_reference"] = processor_reference(int(refund["id"]), status)
        return refund_event(state, refund)
    return {"event": event, "data": {"reference": reference}}


def _whole(txn: Mapping[str, Any], reference: str) -> dict[str, Any]:
    return {
        "id": 0,
        "transaction_reference": reference,
        "amount": txn["amount"],
        "currency": txn["currency"],
        "processor_reference": None,
        "merchant_note": f"Refund for {reference}",
        "customer_note": f"Refund for transaction {reference}",
    }


def post(state: SimState, url: str, body: Mapping[str, Any], **how: Any) -> tuple[int, str]:
    """POST ``body`` (compact JSON) signed with the secret (``signature`` forges it,
    ``unsigned`` leaves it out, ``raw`` sends those bytes instead); the receiver's status and
    the start of its answer."""
    if "raw" in how:
        raw = str(how["raw"]).encode()
    else:
        raw = json.dumps(body, separators=(",", ":")).encode()
    signature = str(how.get("signature") or sign(raw, state.secret))
    headers = {"Content-Type": "application/json", "x-paystack-signature": signature}
    if how.get("unsigned"):
        del headers["x-paystack-signature"]
    response = httpx.post(url, content=raw, headers=headers, timeout=10)
    return response.status_code, response.text[:1000]


def deliver_webhook(state: SimState, request: Mapping[str, Any]) -> tuple[int, str]:
    """``POST /_sim/webhook``: send one signed webhook to ``request["url"]`` (or the configured
    webhook URL); ``data`` overrides fields of the body. The receiver's status and body."""
    with state.lock:
        url = str(request.get("url") or state.webhook_url or "")
    if not url:
        raise ValueError("no url given and no webhook_url configured")
    body: dict[str, Any] = {}
    if "raw" not in request:
        refund_id = request.get("refund_id")
        body = webhook_body(
            state,
            str(request["event"]),
            str(request["reference"]),
            refund_id=None if refund_id is None else int(refund_id),
        )
        body["data"].update(dict(request.get("data") or {}))
    how = {k: request[k] for k in ("raw", "signature", "unsigned") if k in request}
    return post(state, url, body, **how)


def send_event(state: SimState, body: Mapping[str, Any], refund_id: int) -> None:
    """Deliver a lifecycle event to the configured webhook URL and record the outcome."""
    with state.lock:
        url = state.webhook_url
    entry: dict[str, Any] = {"event": body["event"], "refund_id": refund_id, "at": now()}
    entry["reference"] = body["data"].get("transaction_reference")
    entry["body"] = body
    if url is None:
        entry["status"], entry["error"] = None, "no webhook_url configured"
    else:
        try:
            entry["status"], _ = post(state, url, body)
            entry["error"] = None
        except httpx.HTTPError as exc:
            entry["status"], entry["error"] = None, type(exc).__name__
            log.info("simulator webhook %s to %s failed: %s", body["event"], url, entry["error"])
    with state.lock:
        state.deliveries.append(entry)


__all__ = [
    "deliver_webhook",
    "post",
    "refund_event",
    "send_event",
    "sign",
    "webhook_body",
]
