"""A signed ``charge.success`` is read with the same body model as a verify answer
(``ledger.providers.paystack_answers``), so the two paths agree: the currency compared
case-insensitively, ``paidAt`` read when ``paid_at`` is absent, an amount that is not an integer
or a status that is not ``success`` refused as malformed. On SQLite and PostgreSQL."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api_support import Api, charge_success, head


def pending_payment(api: Api, reference: str = "ref-1", amount: int = 500000) -> uuid.UUID:
    ledger = api.app.state.runtime.services().ledger
    ledger.register_user("fan-1", "fan")
    ledger.register_user("star-1", "celebrity", verified=True)
    rid = ledger.create_request("fan-1", "star-1", amount, "NGN").id
    return ledger.record_payment(rid, reference).id


def txn(api: Api, tid: uuid.UUID) -> Any:
    return api.app.state.runtime.services().ledger.get_transaction(tid)


def without(body: bytes, name: str) -> bytes:
    payload = json.loads(body)
    del payload["data"][name]
    return json.dumps(payload).encode()


def test_a_charge_in_lower_case_ngn_for_the_right_amount_is_applied_as_paid(api: Api) -> None:
    tid = pending_payment(api)

    response = api.webhook(charge_success("ref-1", currency="ngn"))

    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "applied"
    assert txn(api, tid).is_held


def test_paid_at_is_read_from_paidAt_as_verify_reads_it(api: Api) -> None:
    tid = pending_payment(api)
    body = without(charge_success("ref-1", paidAt="2026-01-05T10:30:00.000Z"), "paid_at")

    assert api.webhook(body).json()["outcome"] == "applied"

    assert txn(api, tid).paid_at == datetime(2026, 1, 5, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": "500000"}, "data.amount"),
        ({"amount": 10**30}, "data.amount"),
        ({"status": "failed"}, "is not success"),
        ({"status": "settled"}, "unknown transaction status"),
        ({"currency": "NAIRA"}, "data.currency"),
    ],
    ids=["amount as a string", "amount 10^30", "status failed", "unknown status", "no code"],
)
def test_a_charge_body_verify_would_refuse_is_malformed_and_changes_nothing(
    api: Api, change: dict[str, Any], reason: str
) -> None:
    pending_payment(api)
    before = head(api)

    response = api.webhook(charge_success("ref-1", **change))

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "malformed_webhook"
    assert reason in response.json()["message"]
    assert head(api) == before
