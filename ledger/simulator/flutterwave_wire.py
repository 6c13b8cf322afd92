"""The Flutterwave simulator's answer bodies, in the v4 shapes of tests/fixtures/flutterwave:
the transfer object, a page of the transfer list, and a ``transfer.disburse`` delivery.

Pure functions of the simulator's records (amounts as ``Decimal`` major units); the caller
holds the state's lock and writes them with ``flutterwave_amounts.dumps``.
"""

import math
import time
from decimal import Decimal
from typing import Any


def fee(currency: str) -> Decimal:
    """The simulator's flat transfer fee: NGN 10.75, nothing in other currencies."""
    return Decimal("10.75") if currency == "NGN" else Decimal(0)


def transfer_json(transfer: dict[str, Any], recipient: dict[str, Any] | None) -> dict[str, Any]:
    """The v4 transfer object (tests/fixtures/flutterwave/transfer_create.json)."""
    data: dict[str, Any] = {
        "id": transfer["id"],
        "type": "bank",
        "action": "instant",
        "reference": transfer["reference"],
        "status": transfer["status"],
        "narration": transfer["narration"],
        "source_currency": transfer["currency"],
        "destination_currency": transfer["currency"],
        "amount": {"value": transfer["value"], "applies_to": "destination_currency"},
        "fee": {"currency": transfer["currency"], "value": fee(transfer["currency"])},
        "payment_information": {"proof": None},
        "recipient": recipient,
        "provider_response": transfer["provider_response"],
        "meta": {},
        "created_datetime": transfer["created"],
    }
    if transfer["reversal"]:
        data["reversal"] = transfer["reversal"]
    return data


def page_json(
    newest_first: list[tuple[dict[str, Any], dict[str, Any] | None]], page: int, size: int
) -> dict[str, Any]:
    """``GET /transfers?page=&size=`` over transfers (with their recipients), newest first."""
    chosen = newest_first[(page - 1) * size : page * size]
    return {
        "status": "success",
        "message": "Transfers fetched",
        "meta": {
            "page_info": {
                "total": len(newest_first),
                "current_page": page,
                "total_pages": math.ceil(len(newest_first) / size),
            }
        },
        "data": [transfer_json(t, r) for t, r in chosen],
    }


def webhook_json(transfer: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    """A ``transfer.disburse`` delivery (tests/fixtures/flutterwave/webhook_transfer_*):
    ``data.amount`` the bare number, the bank account instead of the recipient."""
    data = transfer_json(transfer, None)
    data.pop("recipient")
    data.update(type="BANK", amount=transfer["value"], bank=transfer.get("bank"))
    return {
        "webhook_id": webhook_id,
        "timestamp": int(time.time() * 1000),
        "type": "transfer.disburse",
        "data": data,
    }


__all__ = ["fee", "page_json", "transfer_json", "webhook_json"]
