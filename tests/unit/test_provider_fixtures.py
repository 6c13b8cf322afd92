"""The provider fixtures keep the shapes and quirks tests/fixtures/README.md promises: the
signed delivery verifies byte for byte, each verify body carries the status its name says and
both spellings of the payment time, the fee example keeps ``requested_amount`` apart from
``amount``, and refund events name the payment and carry the amount the way Paystack does."""

import hashlib
import hmac
from typing import Any

import pytest

from tests.fixtures import FIXTURES, fixture_bytes, fixture_json

SECRET = b"sk_test_fixture_secret"
VERIFY_STATUSES = (
    "success",
    "failed",
    "abandoned",
    "reversed",
    "ongoing",
    "pending",
    "processing",
    "queued",
)
REFUND_EVENTS = ("pending", "processing", "processed", "failed", "needs_attention")


def test_every_fixture_file_is_described_in_the_readme() -> None:
    readme = (FIXTURES / "README.md").read_text()

    def described(name: str) -> bool:
        by_status = name.removeprefix("verify_").removesuffix(".json") in VERIFY_STATUSES
        return f"`{name}`" in readme or (name.startswith("verify_") and by_status)

    files = sorted(p for d in ("paystack", "flutterwave") for p in (FIXTURES / d).iterdir())
    assert len(files) > 20
    assert [str(p.relative_to(FIXTURES)) for p in files if not described(p.name)] == []


def test_the_charge_success_signature_is_the_hmac_of_the_exact_bytes() -> None:
    body = fixture_bytes("paystack", "webhook_charge_success.json")
    signature = fixture_bytes("paystack", "webhook_charge_success.sig").decode().strip()
    assert hmac.new(SECRET, body, hashlib.sha512).hexdigest() == signature
    assert body.endswith(b"}}")  # the raw body, no newline added by an editor


@pytest.mark.parametrize("status", VERIFY_STATUSES)
def test_each_verify_body_carries_its_status_and_both_payment_times(status: str) -> None:
    answer = fixture_json("paystack", f"verify_{status}.json")
    data = answer["data"]
    assert answer["status"] is True
    assert data["status"] == status
    assert data["reference"] == "vyb_req_7f3a9c21"
    assert data["paid_at"] == data["paidAt"]
    assert (data["paid_at"] is not None) == (status == "success")


def test_the_customer_fee_example_charges_more_than_was_requested() -> None:
    data = fixture_json("paystack", "verify_success_customer_fees.json")["data"]
    assert (data["amount"], data["requested_amount"], data["fees"]) == (40333, 30050, 10283)
    assert data["amount"] - data["requested_amount"] == data["fees"]
    assert data["paid_at"] == data["paidAt"] is not None
    assert data["metadata"] == ""


def test_the_refund_answer_is_queued_with_its_own_id_and_the_transaction() -> None:
    data = fixture_json("paystack", "refund.json")["data"]
    assert data["status"] == "pending"
    assert isinstance(data["id"], int)
    assert data["transaction"]["reference"] == "vyb_req_7f3a9c21"
    assert data["transaction"]["paid_at"] == data["transaction"]["paidAt"]
    assert (data["deducted_amount"], data["fully_deducted"]) == (0, False)


@pytest.mark.parametrize("name", REFUND_EVENTS)
def test_refund_events_name_the_payment_and_carry_amount_as_paystack_does(name: str) -> None:
    body: dict[str, Any] = fixture_json("paystack", f"webhook_refund_{name}.json")
    data = body["data"]
    status = name.replace("_", "-")
    assert body["event"] == f"refund.{status}"
    assert data["status"] == status
    assert data["transaction_reference"] == "vyb_req_7f3a9c21"
    assert "reference" not in data
    assert data["currency"] == "NGN"
    assert int(data["amount"]) == 500000
    # Paystack's samples send a string in these three events and a number in the other two.
    as_string = name in ("pending", "processing", "processed")
    assert isinstance(data["amount"], str) is as_string
    assert (data["refund_reference"] is None) is (name in ("pending", "processing"))


def test_the_flutterwave_token_lives_ten_minutes_without_a_refresh_token() -> None:
    answer = fixture_json("flutterwave", "token.json")
    assert answer["expires_in"] == 600
    assert answer["refresh_expires_in"] == 0
    assert answer["token_type"] == "Bearer"
    assert "refresh_token" not in answer
