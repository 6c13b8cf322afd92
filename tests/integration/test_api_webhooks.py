"""``POST /webhooks/paystack`` and ``ledger webhooks paystack`` (one code path): signature
before parsing, what each event does to the ledger, duplicates, and the delivery record, on
SQLite and PostgreSQL. "Changes nothing" is checked on the event store's head."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ledger.cli import cli
from tests.api_support import (
    PAYSTACK_SECRET,
    Api,
    charge_success,
    head,
    refund_processed,
    sign,
)
from tests.fixtures import fixture_bytes


def pending_payment(api: Api, reference: str = "ref-1", amount: int = 500000) -> uuid.UUID:
    ledger = api.app.state.runtime.services().ledger
    ledger.register_user("fan-1", "fan")
    ledger.register_user("star-1", "celebrity", verified=True)
    rid = ledger.create_request("fan-1", "star-1", amount, "NGN").id
    return ledger.record_payment(rid, reference).id


def txn(api: Api, tid: uuid.UUID) -> Any:
    return api.app.state.runtime.services().ledger.get_transaction(tid)


def deliveries(api: Api) -> list[Any]:
    return api.app.state.runtime.services().webhooks.store.recent(limit=100)


def test_a_signed_charge_success_confirms_the_payment_once(api: Api) -> None:
    tid = pending_payment(api)
    body = charge_success("ref-1")
    first = api.webhook(body)
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "applied"
    assert txn(api, tid).status.value == "COMPLETED"
    assert txn(api, tid).is_held
    before = head(api)
    again = api.webhook(body)  # Paystack's retry
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert head(api) == before
    recorded = deliveries(api)
    assert [d.outcome.value for d in recorded] == ["duplicate", "applied"]
    latest = recorded[0]
    assert latest.event == "charge.success"
    assert latest.reference == "ref-1"
    assert latest.signature_valid
    assert latest.transaction_id == tid
    assert latest.source_ip == "127.0.0.1"
    assert len(latest.body_sha256) == 64


@pytest.mark.parametrize(
    ("signature", "detail"),
    [
        (None, "no x-paystack-signature"),
        ("", "no x-paystack-signature"),
        ("0" * 128, "signature does not match"),
        ("forged", "signature does not match"),
    ],
)
def test_a_missing_or_wrong_signature_is_401_and_changes_nothing(
    api: Api, signature: str | None, detail: str
) -> None:
    pending_payment(api)
    before = head(api)
    response = api.webhook(charge_success("ref-1"), signature=signature)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": detail}
    assert head(api) == before
    (recorded,) = deliveries(api)
    assert not recorded.signature_valid
    assert recorded.outcome.value == "invalid_signature"
    assert recorded.event is None  # never parsed


def test_a_body_signed_with_another_key_is_refused(api: Api) -> None:
    pending_payment(api)
    response = api.webhook(charge_success("ref-1"), secret="sk_test_someone_else")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"[1, 2]",
        b'{"data": {}}',
        b'{"event": "charge.success"}',
        b'{"event": "charge.success", "data": "x"}',
        b'{"event": "charge.success", "data": {"reference": "ref-1", "currency": "NGN"}}',
        b'{"event": "charge.success", "data": {"reference": "ref-1", "amount": true, '
        b'"currency": "NGN"}}',
        b'{"event": "refund.processed", "data": {"amount": "5"}}',
    ],
)
def test_a_malformed_signed_body_is_400_and_changes_nothing(api: Api, body: bytes) -> None:
    pending_payment(api)
    before = head(api)
    response = api.webhook(body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "malformed_webhook"
    assert head(api) == before
    (recorded,) = deliveries(api)
    assert recorded.signature_valid
    assert recorded.outcome.value == "malformed"


def test_a_wrong_amount_is_flagged_not_paid(api: Api) -> None:
    tid = pending_payment(api)
    response = api.webhook(charge_success("ref-1", amount=400000))
    assert response.json()["outcome"] == "flagged"
    assert "amount_mismatch" in response.json()["message"]
    state = txn(api, tid)
    assert state.needs_review
    assert state.status.value == "PENDING"
    assert api.webhook(charge_success("ref-1", amount=400000)).json()["outcome"] == "duplicate"


def test_another_currency_is_flagged(api: Api) -> None:
    tid = pending_payment(api)
    assert api.webhook(charge_success("ref-1", currency="GHS")).json()["outcome"] == "flagged"
    assert txn(api, tid).flag_reason.value == "currency_mismatch"


def test_a_success_after_the_payment_failed_is_a_late_success(api: Api) -> None:
    tid = pending_payment(api)
    ledger = api.app.state.runtime.services().ledger
    ledger.fail_payment(tid, reason="Declined", provider_status="failed")
    response = api.webhook(charge_success("ref-1"))
    assert response.json()["outcome"] == "flagged"
    assert txn(api, tid).flag_reason.value == "late_success"


def test_an_unknown_reference_and_other_events_are_acknowledged(api: Api) -> None:
    pending_payment(api)
    before = head(api)
    unknown = api.webhook(charge_success("ref-of-another-shop"))
    assert unknown.status_code == 200
    assert unknown.json()["outcome"] == "unknown_reference"
    other = api.webhook(json.dumps({"event": "transfer.success", "data": {"id": 1}}).encode())
    assert other.status_code == 200
    assert other.json()["outcome"] == "ignored"
    assert head(api) == before


def test_a_refund_processed_confirms_the_refund_once(api: Api) -> None:
    tid = pending_payment(api)
    ledger = api.app.state.runtime.services().ledger
    api.webhook(charge_success("ref-1"))
    ledger.decline_request(txn(api, tid).request_id, note="celebrity declined")
    assert api.webhook(refund_processed("ref-1")).json()["outcome"] == "applied"
    assert txn(api, tid).refund_confirmed
    assert api.webhook(refund_processed("ref-1")).json()["outcome"] == "duplicate"


def test_a_refund_processed_without_a_refund_is_refused_but_acknowledged(api: Api) -> None:
    pending_payment(api)
    before = head(api)
    response = api.webhook(refund_processed("ref-1"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "refused"
    assert head(api) == before


def test_a_ledger_failure_is_503_so_paystack_retries(api: Api, monkeypatch: Any) -> None:
    from ledger.errors import Conflict

    pending_payment(api)
    ledger = api.app.state.runtime.services().ledger

    def busy(*_: Any, **__: Any) -> None:
        raise Conflict("busy")

    monkeypatch.setattr(ledger, "confirm_payment", busy)
    response = api.webhook(charge_success("ref-1"))
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert deliveries(api)[0].outcome.value == "failed"


def test_an_unrecorded_delivery_is_not_acknowledged(api: Api, monkeypatch: Any) -> None:
    """No record, no 2xx: Paystack's retry is then a duplicate, and recorded."""
    tid = pending_payment(api)
    store = api.app.state.runtime.services().webhooks.store

    def broken(_: Any) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(store, "record", broken)
        assert api.webhook(charge_success("ref-1")).status_code == 503
    assert txn(api, tid).status.value == "COMPLETED"
    retry = api.webhook(charge_success("ref-1"))
    assert retry.status_code == 200
    assert retry.json()["outcome"] == "duplicate"
    assert [d.outcome.value for d in deliveries(api)] == ["duplicate"]


def test_the_allowlist_refuses_other_sources(make_api: Any) -> None:
    allowed = make_api(LEDGER_WEBHOOK_ALLOWED_IPS="52.31.139.75,52.49.173.169,52.214.14.220")
    pending_payment(allowed)
    before = head(allowed)
    response = allowed.webhook(charge_success("ref-1"))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert head(allowed) == before
    assert deliveries(allowed)[0].outcome.value == "forbidden_source"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_allowlist_lets_paystack_through(make_api: Any) -> None:
    paystack = make_api(
        client=("52.49.173.169", 443), LEDGER_WEBHOOK_ALLOWED_IPS="52.31.139.75,52.49.173.0/24"
    )
    pending_payment(paystack)
    assert paystack.webhook(charge_success("ref-1")).json()["outcome"] == "applied"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_body_over_one_mebibyte_is_413(api: Api) -> None:
    response = api.webhook(b'{"event": "x", "data": {"pad": "' + b"x" * (1 << 20) + b'"}}')
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_deliveries_are_listed_for_operators(api: Api) -> None:
    pending_payment(api)
    api.webhook(charge_success("ref-1"))
    api.webhook(charge_success("ref-1"), signature="forged")
    listed = api.ok("GET", "/webhooks/deliveries", params={"limit": 10})["items"]
    assert [d["outcome"] for d in listed] == ["invalid_signature", "applied"]
    only = api.ok("GET", "/webhooks/deliveries", params={"outcome": "applied"})["items"]
    assert len(only) == 1
    assert only[0]["reference"] == "ref-1"
    assert api.get("/webhooks/deliveries", token=None).status_code == 401


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_paystacks_own_fixture_verifies_byte_for_byte(make_api: Any) -> None:
    """The fixture's body and signature, as Paystack sent them, confirm the payment."""
    api = make_api(PAYSTACK_SECRET_KEY="sk_test_fixture_secret")
    tid = pending_payment(api, reference="vyb_req_7f3a9c21")
    body = fixture_bytes("paystack", "webhook_charge_success.json")
    signature = fixture_bytes("paystack", "webhook_charge_success.sig").decode().strip()
    response = api.webhook(body, signature=signature)
    assert response.json()["outcome"] == "applied", response.text
    assert txn(api, tid).provider_transaction_id == "4099260516"


class TestCommandLine:
    """``ledger webhooks paystack --signature SIG < body.json`` runs the same handler."""

    @pytest.fixture
    def env(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
        monkeypatch.chdir(tmp_path)
        return {
            "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
            "PAYSTACK_SECRET_KEY": PAYSTACK_SECRET,
        }

    def run(self, env: dict[str, str], *args: str, stdin: bytes = b"") -> Any:
        return CliRunner(env=env).invoke(cli, list(args), input=stdin)

    def test_it_applies_then_reports_a_duplicate(self, env: dict[str, str]) -> None:
        for args in (
            ("users", "register", "fan-1", "--role", "fan"),
            ("users", "register", "star-1", "--role", "celebrity", "--verified"),
        ):
            assert self.run(env, *args).exit_code == 0
        created = self.run(
            env,
            "requests",
            "create",
            "--fan",
            "fan-1",
            "--celebrity",
            "star-1",
            "--amount",
            "500000",
            "--currency",
            "NGN",
            "--format",
            "json",
        )
        rid = json.loads(created.stdout)["id"]
        assert self.run(env, "payments", "record", rid, "--reference", "ref-1").exit_code == 0
        body = charge_success("ref-1")
        signature = sign(body, PAYSTACK_SECRET)
        first = self.run(env, "webhooks", "paystack", "--signature", signature, stdin=body)
        assert first.exit_code == 0, first.output
        assert first.stdout.startswith("applied:")
        again = self.run(
            env, "webhooks", "paystack", "--signature", signature, "--format", "json", stdin=body
        )
        assert json.loads(again.stdout)["outcome"] == "duplicate"
        forged = self.run(env, "webhooks", "paystack", "--signature", "forged", stdin=body)
        assert forged.exit_code == 2
        assert forged.stderr.startswith("error: webhook rejected (invalid_signature)")
        assert signature not in forged.output
        assert PAYSTACK_SECRET not in forged.output
        listed = self.run(env, "webhooks", "deliveries", "--format", "json")
        outcomes = [d["outcome"] for d in json.loads(listed.stdout)]
        assert outcomes == ["invalid_signature", "duplicate", "applied"]
