"""What the Paystack simulator says: the transaction ``data`` object of verify answers and
``charge.success`` webhooks, shaped by a script, and the bodies of scripted faults.

Script keys that shape ``data`` (per reference, or for one call as a fault's ``answer``):

    status            any data.status ("settled" for one Paystack never sends)
    amount, currency  what Paystack reports (another amount, "XOF", "ngn", 10**30, ...)
    gateway_response  the gateway's words
    customer_fees     fees passed on to the customer: amount = asked + fees,
                      requested_amount = asked, fees = customer_fees
    requested_amount  what was asked, as reported (default: the initialised amount)
    paid_at_key       "paid_at", "paidAt" or "both" (default, as Paystack sends)
    amount_as_string  true: amount sent as a string of digits
    answer_reference  the body names this reference instead of the one asked about
    omit              data fields left out, e.g. ["status"] or ["currency"]
    data_null         true: a verify answer whose data is null (verify only)

What it deliberately does not do: validate scripts beyond what JSON gives (a script is a test's
tool, and nonsense in is nonsense out, which is the point).
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

# Paystack's words for a refused key; other statuses answer with their HTTP phrase.
_MESSAGES = {401: "Invalid key", 403: "You do not have permission to perform this action"}

HTML_PAGE = """<html>
<head><title>{status} {phrase}</title></head>
<body>
<center><h1>{status} {phrase}</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: TID251 - simulator


def transaction_data(
    reference: str, txn: Mapping[str, Any], script: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``data`` object Paystack would send about ``reference`` (module docstring)."""
    status = str(script.get("status", "success"))
    paid = status == "success"
    asked = int(txn["amount"])
    fees = int(script.get("customer_fees", 0))
    amount: int | str = int(script.get("amount", asked + fees))
    if script.get("amount_as_string"):
        amount = str(amount)
    paid_at = txn.get("paid_at") or (now() if paid else None)
    key = str(script.get("paid_at_key", "both"))
    data: dict[str, Any] = {
        "id": txn["id"],
        "domain": "test",
        "status": status,
        "reference": str(script.get("answer_reference", reference)),
        "amount": amount,
        "requested_amount": int(script.get("requested_amount", asked)),
        "gateway_response": script.get(
            "gateway_response", "Successful" if paid else status.capitalize()
        ),
        "created_at": txn["created_at"],
        "channel": "card",
        "currency": str(script.get("currency", txn["currency"])),
        "metadata": txn.get("metadata"),
        "fees": fees,
        "customer": {"email": txn.get("email")},
        "createdAt": txn["created_at"],
    }
    if key in ("paid_at", "both"):
        data["paid_at"] = paid_at
    if key in ("paidAt", "both"):
        data["paidAt"] = paid_at
    for name in script.get("omit", ()):
        data.pop(str(name), None)
    return data


def error_body(status: int) -> dict[str, Any]:
    """Paystack's JSON error body for an HTTP error fault."""
    return {"status": False, "message": _MESSAGES.get(status, HTTPStatus(status).phrase)}


def html_page(status: int) -> bytes:
    """The HTML page a web server that is not Paystack's API answers (a wrong base URL)."""
    return HTML_PAGE.format(status=status, phrase=HTTPStatus(status).phrase).encode()


__all__ = ["error_body", "html_page", "now", "transaction_data"]
