"""Transactions at the simulated Paystack: ``POST /transaction/initialize``,
``GET /transaction/verify/:reference``, ``GET /transaction`` (the list), and the control routes
that plant transactions the ledger never saw and reverse one.

What a transaction says is its record (amount, currency, status, times) shaped by its
reference's script (``ledger.simulator.answers``): a scripted ``status`` or ``amount`` wins over
the record, except a reversal (``POST /_sim/transactions/reverse``, or refunds processed for
its whole amount), which is final. An initialised transaction is paid (``success``) unless
scripted otherwise; the list shows it paid at its creation time unless its record says when.
"""

from typing import Any

from ledger.simulator.answers import now, transaction_data
from ledger.simulator.paystack.handler import Handler
from ledger.simulator.paystack.paging import QueryError, instant, page_answer, window, within
from ledger.simulator.paystack.state import SimState

NOT_FOUND = {
    "status": False,
    "message": "Transaction reference not found",
    "meta": {
        "nextStep": "Ensure that you're passing the reference of a transaction that exists "
        "on this integration"
    },
    "type": "validation_error",
    "code": "transaction_not_found",
}
PLANTED_KEYS = ("requested_amount", "customer_fees", "gateway_response", "paid_at_key")


def effective_script(state: SimState, reference: str, txn: dict[str, Any]) -> dict[str, Any]:
    """What the transaction says: its record's status and planted keys, its script on top, a
    reversal above all. Call with ``state.lock`` held."""
    script: dict[str, Any] = {"status": txn.get("status", "success")}
    script.update({k: txn[k] for k in PLANTED_KEYS if k in txn})
    script.update({k: v for k, v in state.scripts.get(reference, {}).items() if k != "faults"})
    if txn.get("reversed"):
        script["status"] = "reversed"
    return script


def status_of(state: SimState, reference: str, txn: dict[str, Any]) -> str:
    return str(effective_script(state, reference, txn)["status"])


def initialize(h: Handler) -> None:
    body = h.body
    reference = str(body.get("reference") or f"sim_{h.state.new_id()}")
    if h.answered_early("initialize", reference):
        return
    try:
        amount = int(body["amount"])
    except (KeyError, TypeError, ValueError):
        h.refuse(400, "Invalid amount")
        return
    state = h.state
    with state.lock:
        if reference in state.transactions:
            duplicate = True
        else:
            duplicate = False
            state.transactions[reference] = {
                "id": state.new_id(),
                "amount": amount,
                "currency": str(body.get("currency") or "NGN"),
                "email": body.get("email"),
                "metadata": body.get("metadata"),
                "created_at": now(),
            }
        code = f"ac{state.new_id()}"
    if duplicate:
        h.refuse(400, "Duplicate Transaction Reference")
        return
    data = {
        "authorization_url": f"https://checkout.paystack.test/{code}",
        "access_code": code,
        "reference": reference,
    }
    h.send(200, {"status": True, "message": "Authorization URL created", "data": data})


def verify(h: Handler) -> None:
    reference = h.path_only.removeprefix("/transaction/verify/")
    if h.answered_early("verify", reference):
        return
    state = h.state
    with state.lock:
        own = {**state.script_of(reference), **h.shape}
        txn = state.transactions.get(reference)
        if txn is None and own and not own.get("unknown"):
            txn = {
                "id": state.new_id(),
                "amount": int(own.get("amount", 0)),
                "currency": str(own.get("currency", "NGN")),
                "created_at": now(),
            }
            state.transactions[reference] = txn
        script = {**effective_script(state, reference, txn), **h.shape} if txn else own
    if txn is None or script.get("unknown"):
        h.send(400, NOT_FOUND)
        return
    data = None if script.get("data_null") else transaction_data(reference, txn, script)
    h.send(200, {"status": True, "message": "Verification successful", "data": data})


def list_transactions(h: Handler) -> None:
    """``GET /transaction``: newest first, filtered by ``from``/``to`` (creation time) and
    ``status``, paged."""
    if h.answered_early("list_transactions", None):
        return
    state = h.state
    try:
        start, end = window(h.query)
        wanted = h.query.get("status")
        with state.lock:
            found = []
            for reference, txn in state.transactions.items():
                script = effective_script(state, reference, txn)
                if script.get("unknown") or not within(txn["created_at"], start, end):
                    continue
                if wanted is None or script["status"] == wanted:
                    listed = dict(txn)
                    if script["status"] == "success":
                        listed.setdefault("paid_at", txn["created_at"])
                    found.append((reference, listed, script))
            found.sort(key=lambda item: (item[1]["created_at"], item[1]["id"]), reverse=True)
            answer = page_answer(
                "Transactions retrieved", found, h.query, lambda e: transaction_data(*e)
            )
    except QueryError as exc:
        h.refuse(400, str(exc), type="validation_error", code="invalid_params")
        return
    h.send(200, answer)


def plant(h: Handler) -> None:
    """``POST /_sim/transactions``: ``{"transactions": [{"reference", "amount", ...}]}``,
    transactions Paystack has that nobody initialised through the simulator."""
    entries = h.body.get("transactions")
    if not isinstance(entries, list) or not entries:
        h.refuse(400, "transactions: a non-empty list is required")
        return
    state = h.state
    with state.lock:
        try:
            records = [_planted(state, entry) for entry in entries]
            if len({reference for reference, _ in records}) != len(records):
                raise ValueError("a reference appears twice")
        except (KeyError, TypeError, ValueError) as exc:
            h.refuse(400, f"bad transaction: {exc}")
            return
        for reference, record in records:
            state.transactions[reference] = record
    h.send(200, {"status": True, "planted": [reference for reference, _ in records]})


def _planted(state: SimState, entry: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(entry, dict):
        raise TypeError("each transaction is an object")
    reference = str(entry["reference"])
    if not reference or reference in state.transactions:
        raise ValueError(f"reference {reference!r} is empty or already known")
    created = str(entry.get("created_at") or now())
    instant(created, "created_at")
    record: dict[str, Any] = {
        "id": state.new_id(),
        "amount": int(entry["amount"]),
        "currency": str(entry.get("currency") or "NGN"),
        "status": str(entry.get("status") or "success"),
        "email": entry.get("email") or "customer@example.com",
        "metadata": entry.get("metadata"),
        "created_at": created,
    }
    if entry.get("paid_at"):
        record["paid_at"] = str(entry["paid_at"])
    record.update({k: entry[k] for k in PLANTED_KEYS if k in entry})
    return reference, record


def reverse(h: Handler) -> None:
    """``POST /_sim/transactions/reverse``: ``{"reference": "..."}``: Paystack now says
    ``reversed`` for it (verify and the list), whatever its script said."""
    reference = str(h.body.get("reference") or "")
    with h.state.lock:
        txn = h.state.transactions.get(reference)
        if txn is not None:
            txn["reversed"] = True
    if txn is None:
        h.send(404, NOT_FOUND)
        return
    h.send(200, {"status": True, "reference": reference, "transaction_status": "reversed"})


__all__ = [
    "NOT_FOUND",
    "effective_script",
    "initialize",
    "list_transactions",
    "plant",
    "reverse",
    "status_of",
    "verify",
]
