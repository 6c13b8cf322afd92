"""Paystack webhook signatures (``x-paystack-signature``: hex HMAC-SHA512 of the raw body),
checked against the fixture delivery signed with ``sk_test_fixture_secret``."""

import json

import pytest
from pydantic import SecretStr

from ledger.providers.webhooks import sign, verify_signature
from tests.fixtures import fixture_bytes

SECRET = "sk_test_fixture_secret"


@pytest.fixture
def body() -> bytes:
    return fixture_bytes("paystack", "webhook_charge_success.json")


@pytest.fixture
def signature() -> str:
    return fixture_bytes("paystack", "webhook_charge_success.sig").decode().strip()


def test_paystacks_signature_of_the_raw_body_is_accepted(body: bytes, signature: str) -> None:
    assert verify_signature(body, signature, SECRET)


def test_sign_produces_paystacks_signature(body: bytes, signature: str) -> None:
    assert sign(body, SECRET) == signature


def test_the_secret_may_be_a_secret_str(body: bytes, signature: str) -> None:
    assert verify_signature(body, signature, SecretStr(SECRET))


def test_a_signature_with_a_trailing_newline_or_upper_case_hex_is_accepted(
    body: bytes, signature: str
) -> None:
    assert verify_signature(body, signature.upper() + "\n", SECRET)


def test_a_body_changed_by_one_byte_is_refused(body: bytes, signature: str) -> None:
    tampered = body.replace(b'"amount":500000', b'"amount":500001', 1)
    assert tampered != body

    assert not verify_signature(tampered, signature, SECRET)


def test_re_serialised_json_is_refused(body: bytes, signature: str) -> None:
    reserialised = json.dumps(json.loads(body), indent=2).encode()

    assert not verify_signature(reserialised, signature, SECRET)


def test_another_secret_is_refused(body: bytes, signature: str) -> None:
    assert not verify_signature(body, signature, "sk_test_someone_else")


@pytest.mark.parametrize("given", [None, "", "   ", "not-hex", "é" * 128])
def test_a_missing_or_malformed_signature_is_refused(body: bytes, given: str | None) -> None:
    assert not verify_signature(body, given, SECRET)


def test_an_empty_secret_never_validates(body: bytes) -> None:
    assert not verify_signature(body, sign(body, ""), "")
