"""Flutterwave transfer webhooks: the ``flutterwave-signature`` of each fixture delivery
verifies over its exact bytes (base64 HMAC-SHA256 with the secret hash), anything else does not,
and a verified delivery parses into a transfer event with the outcome its status and reversal
say, the amount exact in minor units, and no bank account number."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from ledger.providers.flutterwave_webhooks import (
    SIGNATURE_HEADER,
    WebhookMalformed,
    WebhookSignatureInvalid,
    parse_transfer_event,
    sign,
    verify_signature,
    verify_transfer_event,
)
from ledger.providers.payout_port import TransferOutcome
from tests.fixtures import fixture_bytes

SECRET = "flw_fixture_secret_hash_0123"
EVENTS = ("successful", "failed", "reversed")


def delivery(name: str) -> tuple[bytes, str]:
    body = fixture_bytes("flutterwave", f"webhook_transfer_{name}.json")
    return body, fixture_bytes("flutterwave", f"webhook_transfer_{name}.sig").decode().strip()


@pytest.mark.parametrize("name", EVENTS)
def test_each_fixture_delivery_verifies_over_its_exact_bytes(name: str) -> None:
    body, signature = delivery(name)
    assert body.endswith(b"}}")  # the raw body, no newline added by an editor
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    assert signature == expected.decode()
    assert sign(body, SECRET) == signature
    assert verify_signature(body, signature, SECRET)
    assert verify_signature(body, f"  {signature}\n", SecretStr(SECRET))


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (lambda body, sig: (json.dumps(json.loads(body)).encode(), sig), "re-serialised"),
        (lambda body, sig: (body.replace(b"3000.00", b"3000.10"), sig), "amount changed"),
        (lambda body, sig: (body, sig[:-2] + "A="), "signature changed"),
        (lambda body, sig: (body, SECRET), "v3-style: the secret itself"),
        (
            lambda body, sig: (body, hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()),
            "hex instead of base64",
        ),
        (lambda body, sig: (body, ""), "empty"),
        (lambda body, sig: (body, None), "missing"),
    ],
)
def test_anything_but_the_hmac_of_the_exact_bytes_is_refused(mangle: object, why: str) -> None:
    body, signature = delivery("successful")
    new_body, new_signature = mangle(body, signature)  # type: ignore[operator]
    assert not verify_signature(new_body, new_signature, SECRET), why


def test_a_wrong_or_empty_secret_never_verifies() -> None:
    body, signature = delivery("successful")
    assert not verify_signature(body, signature, "another_secret_hash_0000")
    assert not verify_signature(body, signature, "")
    assert not verify_signature(body, sign(body, ""), "")


@pytest.mark.parametrize(
    ("name", "outcome", "status"),
    [
        ("successful", TransferOutcome.SUCCEEDED, "SUCCESSFUL"),
        ("failed", TransferOutcome.FAILED, "FAILED"),
        ("reversed", TransferOutcome.REVERSED, "FAILED"),
    ],
)
def test_a_verified_delivery_parses_into_its_transfer_event(
    name: str, outcome: TransferOutcome, status: str
) -> None:
    body, signature = delivery(name)
    event = verify_transfer_event(body, signature, SECRET)
    assert event is not None
    assert event.event_type == "transfer.disburse"
    assert event.webhook_id is not None
    assert event.webhook_id.startswith("wbk_")
    transfer = event.transfer
    assert (transfer.id, transfer.reference) == ("trf_8Qw2LzR4yVb1Ks", "vyb_pay_3c1d9e55")
    assert (transfer.status, transfer.outcome) == (status, outcome)
    assert (transfer.amount, transfer.currency, transfer.fee) == (300000, "NGN", 1075)
    assert "0690000040" not in repr(event)


def test_the_send_time_is_the_millisecond_timestamp_in_utc() -> None:
    body, _ = delivery("successful")
    event = parse_transfer_event(body)
    assert event is not None
    assert event.sent_at == datetime(2026, 3, 2, 10, 15, 10, 874000, tzinfo=UTC)


def test_a_failure_carries_flutterwaves_reason_and_a_reversal_its_time() -> None:
    failed = parse_transfer_event(delivery("failed")[0])
    reversed_ = parse_transfer_event(delivery("reversed")[0])
    assert failed is not None
    assert reversed_ is not None
    assert failed.transfer.failure_reason == "DISBURSE FAILED: Insufficient wallet balance"
    assert reversed_.transfer.reversed_at == datetime(2026, 3, 3, 8, 2, 11, tzinfo=UTC)


def test_a_bad_signature_is_refused_before_the_body_is_read() -> None:
    with pytest.raises(WebhookSignatureInvalid, match="missing or wrong"):
        verify_transfer_event(b"not json at all", "forged", SECRET)


def test_the_header_name_is_flutterwaves() -> None:
    assert SIGNATURE_HEADER == "flutterwave-signature"


def test_an_event_about_something_else_is_none() -> None:
    body = json.dumps({"webhook_id": "wbk_1", "type": "charge.completed", "data": {}}).encode()
    assert verify_transfer_event(body, sign(body, SECRET), SECRET) is None


def _with(**data_changes: object) -> bytes:
    body = json.loads(delivery("successful")[0])
    body["data"].update(data_changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>", "not JSON"),
        (b"[1, 2]", "no event type"),
        (_with(status="SETTLED"), "unknown transfer status"),
        (_with(amount=3000.005), "whole number"),
        (_with(reference=None), "data.reference"),
        (_with(destination_currency=None), "destination_currency"),
    ],
)
def test_a_signed_delivery_that_cannot_be_read_is_malformed(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookMalformed, match=reason) as err:
        verify_transfer_event(body, sign(body, SECRET), SECRET)
    assert "0690000040" not in str(err.value)
