"""A refund at the simulated Paystack: opening one (or refusing it, as Paystack does), moving it
through its statuses, and the shapes Paystack shows it in.

Rules of opening (``open_refund``, under ``state.lock``, so concurrent refunds of one payment
can never add up to more than it): the transaction must exist (by reference, or by numeric
id) and be ``success``; a payment ``reversed`` or with nothing left to refund is refused with
Paystack's "Transaction has been fully reversed"; the amount (default: all that is left) must
be a positive integer (or a string of digits, as Paystack's guide sends it) no larger than the
payment nor than what is left; a ``currency``, when sent, must be the payment's. What is left
is the payment's amount minus every refund not ``failed``: a payment may be refunded in several
parts, and a failed refund's amount may be refunded again.

Moving (``move``): ``processing`` and ``processed`` deduct the amount (``deducted_amount``,
``fully_deducted``), ``processed`` sets ``refunded_at`` and the processor's reference (twelve
digits, never the refund's id) and, when the processed refunds cover the whole payment,
reverses it; ``failed`` and ``needs-attention`` get a transfer reference (``TRF_...``) and
``failed`` gives the deduction back.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.simulator.answers import now
from ledger.simulator.paystack.state import SimState
from ledger.simulator.paystack.transactions import NOT_FOUND, status_of

INTEGRATION = 463433
DASHBOARD_USER = "dashboard@merchant.test"
API_USER = "api@merchant.test"
FULLY_REVERSED = {
    "status": False,
    "message": "Transaction has been fully reversed",
    "type": "api_error",
    "code": "transaction_reversed",
}
STATUSES = ("pending", "processing", "processed", "failed", "needs-attention")
OUTCOMES = ("processed", "failed", "needs-attention")


@dataclass(frozen=True)
class Refusal:
    """Paystack's refusal of a refund: an HTTP status and its error body."""

    http: int
    body: dict[str, Any]


def _invalid(message: str) -> Refusal:
    meta = {"nextStep": "Ensure that the value(s) you're passing are valid."}
    return Refusal(
        400,
        {
            "status": False,
            "message": message,
            "meta": meta,
            "type": "validation_error",
            "code": "invalid_params",
        },
    )


def find_transaction(state: SimState, given: str) -> tuple[str, dict[str, Any]] | None:
    """The transaction named by reference or, for digits, by its numeric id."""
    txn = state.transactions.get(given)
    if txn is not None:
        return given, txn
    if given.isdigit():
        for reference, candidate in state.transactions.items():
            if str(candidate["id"]) == given:
                return reference, candidate
    return None


def open_refund(
    state: SimState,
    given: str,
    body: dict[str, Any],
    *,
    source: str,
    plan: dict[str, Any] | None = None,
) -> dict[str, Any] | Refusal:
    """A new ``pending`` refund of the transaction ``given``, or Paystack's refusal (module
    docstring). ``body`` has Paystack's fields (``amount``, ``currency``, the notes)."""
    with state.lock:
        found = find_transaction(state, given)
        if found is None:
            return Refusal(400, dict(NOT_FOUND))
        reference, txn = found
        script = state.scripts.get(reference, {}).get("refund", {})
        if script.get("refuse"):
            return _invalid(str(script["refuse"]))
        status = status_of(state, reference, txn)
        if status == "reversed":
            return Refusal(400, dict(FULLY_REVERSED))
        if status != "success":
            return _invalid("Only successful transactions can be refunded")
        left = txn["amount"] - refunded(state, reference)
        if left <= 0:
            return Refusal(400, dict(FULLY_REVERSED))
        amount = _amount(body.get("amount"), left)
        if amount is None:
            return _invalid("Invalid amount")
        if amount > txn["amount"]:
            return _invalid("Refund amount cannot be more than the original transaction amount")
        if amount > left:
            return _invalid(f"Refund amount cannot be more than the {left} left to refund")
        currency = body.get("currency")
        if currency is not None and str(currency).upper() != str(txn["currency"]).upper():
            return _invalid("Refund currency must be the transaction's currency")
        refund_id = state.new_refund_id()
        at = now()
        user = DASHBOARD_USER if source == "dashboard" else API_USER
        refund: dict[str, Any] = {
            "id": refund_id,
            "transaction_reference": reference,
            "transaction_id": txn["id"],
            "amount": amount,
            "currency": txn["currency"],
            "status": "pending",
            "merchant_note": _note(body, "merchant_note", f"Refund for {reference} by {user}"),
            "customer_note": _note(body, "customer_note", f"Refund for transaction {reference}"),
            "refunded_by": user,
            "source": source,
            "created_at": at,
            "updated_at": at,
            "expected_at": _later(at, days=9),
            "refunded_at": None,
            "deducted_amount": 0,
            "fully_deducted": False,
            "processor_reference": None,
            "plan": dict(plan or {}),
            "history": ["pending"],
        }
        state.refunds[refund_id] = refund
        return refund


def refunded(state: SimState, reference: str) -> int:
    """What the refunds of ``reference`` take from it: every refund not failed."""
    return sum(
        r["amount"]
        for r in state.refunds.values()
        if r["transaction_reference"] == reference and r["status"] != "failed"
    )


def move(state: SimState, refund: dict[str, Any], status: str) -> None:
    """Refund ``refund`` is now ``status`` (module docstring). Call with ``state.lock``."""
    refund["status"] = status
    refund["updated_at"] = now()
    refund["history"].append(status)
    if status in ("processing", "processed", "needs-attention"):
        refund["deducted_amount"], refund["fully_deducted"] = refund["amount"], True
    if status == "failed":
        refund["deducted_amount"], refund["fully_deducted"] = 0, False
    if status in ("processed", "failed", "needs-attention"):
        refund["processor_reference"] = processor_reference(refund["id"], status)
    if status == "processed":
        refund["refunded_at"] = refund["updated_at"]
        reference = refund["transaction_reference"]
        txn = state.transactions.get(reference)
        processed = sum(
            r["amount"]
            for r in state.refunds.values()
            if r["transaction_reference"] == reference and r["status"] == "processed"
        )
        if txn is not None and processed >= txn["amount"]:
            txn["reversed"] = True


def processor_reference(refund_id: int, status: str) -> str:
    """The ``refund_reference`` of a refund's webhooks once it is ``status``: the card
    processor's twelve digits when processed, a transfer reference (``TRF_...``) when it
    failed or needs attention. Never the refund's own id."""
    digest = hashlib.sha256(f"{refund_id}:{status}".encode()).hexdigest()
    if status == "processed":
        return str(10**11 + int(digest, 16) % (9 * 10**11))
    return f"TRF_{digest[:15]}"


def created_answer(state: SimState, refund: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of Paystack's answer to ``POST /refund`` (tests/fixtures refund.json)."""
    txn = state.transactions[refund["transaction_reference"]]
    paid_at = txn.get("paid_at") or txn["created_at"]
    return {
        "transaction": {
            "id": txn["id"],
            "domain": "test",
            "reference": refund["transaction_reference"],
            "amount": txn["amount"],
            "paid_at": paid_at,
            "channel": "card",
            "currency": txn["currency"],
            "authorization": {"exp_month": "12", "exp_year": "2030", "account_name": None},
            "customer": {"international_format_phone": None},
            "plan": {},
            "subaccount": {"currency": None},
            "split": {},
            "order_id": None,
            "paidAt": paid_at,
            "pos_transaction_data": None,
            "source": None,
            "fees_breakdown": None,
        },
        "integration": INTEGRATION,
        "deducted_amount": refund["deducted_amount"],
        "channel": None,
        "merchant_note": refund["merchant_note"],
        "customer_note": refund["customer_note"],
        "status": refund["status"],
        "refunded_by": refund["refunded_by"],
        "expected_at": refund["expected_at"],
        "currency": refund["currency"],
        "domain": "test",
        "amount": refund["amount"],
        "fully_deducted": refund["fully_deducted"],
        "id": refund["id"],
        "createdAt": refund["created_at"],
        "updatedAt": refund["updated_at"],
    }


def listed_answer(state: SimState, refund: dict[str, Any]) -> dict[str, Any]:
    """A refund as ``GET /refund/:id`` and ``GET /refund`` show it (the payment by id and by
    ``transaction_reference``, as Paystack's OpenAPI description has it)."""
    txn = state.transactions.get(refund["transaction_reference"], {})
    return {
        "integration": INTEGRATION,
        "transaction": refund["transaction_id"],
        "dispute": None,
        "settlement": None,
        "id": refund["id"],
        "domain": "test",
        "currency": refund["currency"],
        "amount": refund["amount"],
        "status": refund["status"],
        "refunded_at": refund["refunded_at"],
        "refunded_by": refund["refunded_by"],
        "customer_note": refund["customer_note"],
        "merchant_note": refund["merchant_note"],
        "deducted_amount": refund["deducted_amount"],
        "fully_deducted": refund["fully_deducted"],
        "expected_at": refund["expected_at"],
        "channel": "card",
        "createdAt": refund["created_at"],
        "updatedAt": refund["updated_at"],
        "bank_reference": None,
        "transaction_reference": refund["transaction_reference"],
        "reason": refund["status"].upper().replace("-", "_"),
        "customer": {"email": txn.get("email"), "first_name": None, "last_name": None},
        "refund_type": "full" if refund["amount"] == txn.get("amount") else "partial",
        "transaction_amount": txn.get("amount"),
        "initiated_by": refund["refunded_by"],
        "refund_channel": "card",
        "session_id": None,
        "collect_account_number": False,
    }


def _amount(given: object, left: int) -> int | None:
    if given is None:
        return left
    if isinstance(given, bool):
        return None
    if isinstance(given, str) and given.strip().isdigit():
        given = int(given)
    if not isinstance(given, int) or given < 1:
        return None
    return given


def _note(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name)
    return str(value) if isinstance(value, str) and value else default


def _later(at: str, *, days: int) -> str:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(days=days)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


__all__ = [
    "FULLY_REVERSED",
    "OUTCOMES",
    "STATUSES",
    "Refusal",
    "created_answer",
    "find_transaction",
    "listed_answer",
    "move",
    "open_refund",
    "processor_reference",
    "refunded",
]
