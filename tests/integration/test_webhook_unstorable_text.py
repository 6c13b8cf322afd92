"""A signed webhook carrying text a store cannot keep (a NUL, which PostgreSQL's text refuses;
an unpaired surrogate, which is valid JSON but not UTF-8) in a field the ledger reads is
answered 400 and recorded, escaped, on SQLite and PostgreSQL; nothing else is written."""

import json
from typing import Any

import pytest

from ledger.webhook_body import READ_FIELDS
from tests.api_support import Api, charge_success, head, refund_processed
from tests.integration.test_api_webhooks import deliveries, pending_payment, txn

UNSTORABLE = [("nul", "\x00", "\\x00"), ("surrogate", "\ud800", "\\ud800")]


def _with(body: bytes, **data: Any) -> bytes:
    parsed = json.loads(body)
    parsed["data"].update(data)
    return json.dumps(parsed).encode()  # ASCII: "\u0000" and "\ud800" escaped, as Paystack would


@pytest.mark.parametrize(("kind", "char", "escaped"), UNSTORABLE)
def test_a_reference_a_store_cannot_keep_is_400_and_recorded_escaped(
    api: Api, kind: str, char: str, escaped: str
) -> None:
    tid = pending_payment(api)
    before = head(api)
    response = api.webhook(_with(charge_success("ref-1"), reference=f"ref-1{char}"))
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": "malformed_webhook",
        "message": "data.reference contains a NUL character or an unpaired surrogate",
    }
    assert head(api) == before
    assert txn(api, tid).status.value == "PENDING"
    [recorded] = deliveries(api)
    assert recorded.outcome.value == "malformed"
    assert recorded.reference == f"ref-1{escaped}"
    assert recorded.signature_valid
    searches = [f"ref-1{escaped}"] + ([f"ref-1{char}"] if kind == "nul" else [])
    for searched in searches:  # as listed, or (a NUL can be sent in a URL) as delivered
        listed = api.ok("GET", "/webhooks/deliveries", params={"reference": searched})
        assert [item["reference"] for item in listed["items"]] == [f"ref-1{escaped}"]


def test_any_field_the_ledger_reads_holding_such_text_is_400_and_writes_no_event(
    api: Api,
) -> None:
    tid = pending_payment(api)
    before = head(api)
    for field in READ_FIELDS:
        for _kind, char, _escaped in UNSTORABLE:
            response = api.webhook(_with(charge_success("ref-1"), **{field: f"12{char}3"}))
            assert response.status_code == 400, (field, response.text)
            assert response.json()["message"] == (
                f"data.{field} contains a NUL character or an unpaired surrogate"
            )
    assert head(api) == before
    assert txn(api, tid).status.value == "PENDING"
    outcomes = [d.outcome.value for d in deliveries(api)]
    assert outcomes == ["malformed"] * len(READ_FIELDS) * len(UNSTORABLE)


@pytest.mark.parametrize(("kind", "char", "escaped"), UNSTORABLE)
def test_an_event_name_a_store_cannot_keep_is_400_and_recorded_escaped(
    api: Api, kind: str, char: str, escaped: str
) -> None:
    body = json.dumps({"event": f"charge.success{char}", "data": {"reference": "ref-1"}})
    response = api.webhook(body.encode())
    assert response.status_code == 400
    assert response.json()["message"] == "event contains a NUL character or an unpaired surrogate"
    [recorded] = deliveries(api)
    assert recorded.event == f"charge.success{escaped}"
    assert recorded.outcome.value == "malformed"


def test_a_refund_for_such_a_reference_is_400_and_the_payment_keeps_its_state(api: Api) -> None:
    tid = pending_payment(api)
    api.webhook(charge_success("ref-1"))
    before = head(api)
    response = api.webhook(_with(refund_processed("ref-1"), transaction_reference="ref-1\x00"))
    assert response.status_code == 400
    assert head(api) == before
    assert txn(api, tid).status.value == "COMPLETED"
    assert [d.outcome.value for d in deliveries(api)] == ["malformed", "applied"]


def test_such_text_in_a_field_the_ledger_does_not_read_does_not_stop_the_payment(
    api: Api,
) -> None:
    tid = pending_payment(api)
    customer = {"first_name": "Ad\x00a\ud800", "email": "fan@example.com"}
    response = api.webhook(_with(charge_success("ref-1"), customer=customer))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "applied"
    assert txn(api, tid).status.value == "COMPLETED"
