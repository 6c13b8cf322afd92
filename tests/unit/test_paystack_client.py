"""The Paystack client against respx routes serving the provider fixtures (tests/fixtures):
the data.status mapping, errors, retries with backoff and Retry-After, initialize, refund,
and the secret key kept out of reprs, errors and logs.

HTTP goes through an injected ``httpx.MockTransport(router.handler)``; sleeping is a fake that
records the delays, so the tests are fast and the waits are asserted exactly.
"""

import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from ledger.bootstrap import build_ledger, close_ledger
from ledger.config import load_settings
from ledger.errors import ConfigError, InvalidInput, ProviderError, ProviderUnavailable
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import Initialized, Outcome, RefundStatus
from tests.fixtures import fixture_json

BASE = "https://paystack.test"
SECRET = "sk_test_never_print_0123456789abcdef"
REF = "vyb_req_7f3a9c21"
VERIFY = f"/transaction/verify/{REF}"


def fixture(name: str) -> Any:
    return fixture_json("paystack", name)


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(
    router: respx.Router, sleeps: list[float]
) -> Iterator[Callable[..., PaystackClient]]:
    made: list[PaystackClient] = []

    def make(**kwargs: Any) -> PaystackClient:
        options: dict[str, Any] = {
            "base_url": BASE,
            "transport": httpx.MockTransport(router.handler),
            "sleep": sleeps.append,
            "rand": lambda: 0.5,
            **kwargs,
        }
        client = PaystackClient(SECRET, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., PaystackClient]) -> PaystackClient:
    return make_client()


def answer(name: str, **data_changes: Any) -> httpx.Response:
    """An HTTP 200 with the fixture ``name``, some ``data`` fields changed."""
    body = fixture(name)
    body["data"].update(data_changes)
    return httpx.Response(200, json=body)


# -- data.status -> outcome -----------------------------------------------------------------


def test_success_is_verified_with_amount_currency_transaction_id_and_paid_at(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get(VERIFY).mock(return_value=answer("verify_success.json"))

    verification = client.verify(REF)

    assert verification.outcome is Outcome.SUCCESS
    assert verification.provider_status == "success"
    assert verification.amount == 500000
    assert verification.currency == "NGN"
    assert verification.provider_transaction_id == "4099260516"
    assert verification.paid_at == datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "gateway_response"),
    [
        ("failed", "Declined"),
        ("abandoned", "The transaction was not completed"),
        ("reversed", "Reversed"),
    ],
)
def test_failed_abandoned_and_reversed_payments_fail_with_the_gateway_response(
    router: respx.Router, client: PaystackClient, status: str, gateway_response: str
) -> None:
    router.get(VERIFY).mock(return_value=answer(f"verify_{status}.json"))

    verification = client.verify(REF)

    assert verification.outcome is Outcome.FAILED
    assert verification.provider_status == status
    assert verification.gateway_response == gateway_response
    assert verification.paid_at is None


@pytest.mark.parametrize("status", ["ongoing", "pending", "processing", "queued"])
def test_ongoing_pending_processing_and_queued_payments_stay_pending(
    router: respx.Router, client: PaystackClient, status: str
) -> None:
    router.get(VERIFY).mock(return_value=answer(f"verify_{status}.json"))

    verification = client.verify(REF)

    assert verification.outcome is Outcome.PENDING
    assert verification.provider_status == status


def test_a_smaller_amount_passes_through_for_the_ledger_to_flag(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get(VERIFY).mock(return_value=answer("verify_success_wrong_amount.json"))

    verification = client.verify(REF)

    assert verification.outcome is Outcome.SUCCESS
    assert verification.amount == 50000


def test_another_currency_passes_through_for_the_ledger_to_flag(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get(VERIFY).mock(return_value=answer("verify_success.json", currency="GHS"))

    assert client.verify(REF).currency == "GHS"


@pytest.mark.parametrize("http_status", [400, 404])
def test_an_unknown_reference_is_not_found(
    router: respx.Router, client: PaystackClient, sleeps: list[float], http_status: int
) -> None:
    route = router.get(VERIFY).mock(
        return_value=httpx.Response(http_status, json=fixture("verify_not_found.json"))
    )

    verification = client.verify(REF)

    assert verification.outcome is Outcome.NOT_FOUND
    assert route.call_count == 1
    assert sleeps == []


def test_an_older_not_found_answer_without_a_code_is_recognised_by_its_message(
    router: respx.Router, client: PaystackClient
) -> None:
    body = {"status": False, "message": "Transaction reference not found"}
    router.get(VERIFY).mock(return_value=httpx.Response(400, json=body))

    assert client.verify(REF).outcome is Outcome.NOT_FOUND


def test_a_404_that_is_not_paystacks_not_found_is_an_error_not_an_unknown_reference(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get(VERIFY).mock(return_value=httpx.Response(404, text="<html>Not Found</html>"))

    with pytest.raises(ProviderError, match="HTTP 404") as raised:
        client.verify(REF)
    assert not isinstance(raised.value, ProviderUnavailable)


def test_an_unknown_data_status_is_a_provider_error(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get(VERIFY).mock(return_value=answer("verify_success.json", status="settled"))

    with pytest.raises(ProviderError, match="unknown transaction status 'settled'"):
        client.verify(REF)


def test_an_answer_about_another_reference_is_refused(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get(VERIFY).mock(return_value=answer("verify_success.json", reference="other_ref"))

    with pytest.raises(ProviderError, match="another reference"):
        client.verify(REF)


def test_the_reference_is_escaped_in_the_path(router: respx.Router, client: PaystackClient) -> None:
    route = router.get("/transaction/verify/a%2Fb%3Fc").mock(
        return_value=answer("verify_success.json", reference="a/b?c")
    )

    assert client.verify("a/b?c").outcome is Outcome.SUCCESS
    assert route.call_count == 1


def test_an_empty_reference_is_refused_without_a_call(
    router: respx.Router, client: PaystackClient
) -> None:
    with pytest.raises(InvalidInput, match="reference is required"):
        client.verify(" ")
    assert not router.calls


# -- refusals and unusable answers ------------------------------------------------------------


def test_401_is_a_provider_error_with_paystacks_message_and_is_not_retried(
    router: respx.Router, client: PaystackClient, sleeps: list[float]
) -> None:
    route = router.get(VERIFY).mock(
        return_value=httpx.Response(401, json={"status": False, "message": "Invalid key"})
    )

    with pytest.raises(ProviderError, match=r"HTTP 401\): Invalid key") as raised:
        client.verify(REF)

    assert not isinstance(raised.value, ProviderUnavailable)
    assert route.call_count == 1
    assert sleeps == []


def test_other_4xx_answers_are_not_retried(
    router: respx.Router, client: PaystackClient, sleeps: list[float]
) -> None:
    route = router.post("/refund").mock(
        return_value=httpx.Response(
            400, json={"status": False, "message": "Transaction has been fully reversed"}
        )
    )

    with pytest.raises(ProviderError, match="fully reversed"):
        client.refund(reference=REF, amount=500000)
    assert route.call_count == 1
    assert sleeps == []


def test_status_false_with_http_200_is_a_provider_error_with_paystacks_message(
    router: respx.Router, client: PaystackClient
) -> None:
    body = {"status": False, "message": "Something is off"}
    router.get(VERIFY).mock(return_value=httpx.Response(200, json=body))

    with pytest.raises(ProviderError, match="Something is off"):
        client.verify(REF)


def test_malformed_json_is_a_provider_error(router: respx.Router, client: PaystackClient) -> None:
    router.get(VERIFY).mock(return_value=httpx.Response(200, text='{"status": true, "data": {'))

    with pytest.raises(ProviderError, match="malformed JSON"):
        client.verify(REF)


@pytest.mark.parametrize("missing", ["amount", "currency", "status", "reference", "id"])
def test_a_missing_field_is_a_provider_error_naming_it(
    router: respx.Router, client: PaystackClient, missing: str
) -> None:
    body = fixture("verify_success.json")
    del body["data"][missing]
    router.get(VERIFY).mock(return_value=httpx.Response(200, json=body))

    with pytest.raises(ProviderError, match=rf"data\.{missing}: Field required"):
        client.verify(REF)


def test_a_missing_data_object_is_a_provider_error_naming_it(
    router: respx.Router, client: PaystackClient
) -> None:
    body = {"status": True, "message": "Verification successful"}
    router.get(VERIFY).mock(return_value=httpx.Response(200, json=body))

    with pytest.raises(ProviderError, match="data: Field required"):
        client.verify(REF)


def test_an_amount_that_is_not_an_integer_is_refused(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get(VERIFY).mock(return_value=answer("verify_success.json", amount="500000"))

    with pytest.raises(ProviderError, match=r"data\.amount"):
        client.verify(REF)


# -- retries -------------------------------------------------------------------------------


def test_429_is_retried_after_the_retry_after_delay(
    router: respx.Router, client: PaystackClient, sleeps: list[float]
) -> None:
    route = router.get(VERIFY).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"status": False}),
            answer("verify_success.json"),
        ]
    )

    assert client.verify(REF).outcome is Outcome.SUCCESS
    assert route.call_count == 2
    assert sleeps == [7.0]


def test_a_long_retry_after_is_capped(
    router: respx.Router, make_client: Callable[..., PaystackClient], sleeps: list[float]
) -> None:
    # A 30 s timeout gives the call a budget of 60.5 s: the capped wait fits in it.
    client = make_client(timeout=30.0, retry=RetryPolicy(max_retries=1, max_retry_after=30.0))
    router.get(VERIFY).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3600"}),
            answer("verify_success.json"),
        ]
    )

    client.verify(REF)

    assert sleeps == [30.0]


def test_5xx_answers_are_retried_with_exponential_backoff_and_full_jitter(
    router: respx.Router, client: PaystackClient, sleeps: list[float]
) -> None:
    route = router.get(VERIFY).mock(
        side_effect=[
            httpx.Response(500),
            httpx.Response(503),
            httpx.Response(502),
            answer("verify_success.json"),
        ]
    )

    assert client.verify(REF).outcome is Outcome.SUCCESS
    assert route.call_count == 4
    # rand() is 0.5: half of min(8 s, 0.5 s * 2**retry)
    assert sleeps == [0.25, 0.5, 1.0]


def test_backoff_is_capped_at_the_maximum_delay() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)

    assert [policy.delay(n, None, lambda: 1.0) for n in range(7)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
        8.0,
    ]
    assert policy.delay(3, None, lambda: 0.0) == 0.0


def test_5xx_until_the_last_attempt_is_provider_unavailable(
    router: respx.Router, client: PaystackClient, sleeps: list[float]
) -> None:
    route = router.get(VERIFY).mock(return_value=httpx.Response(503))

    with pytest.raises(ProviderUnavailable, match="failed 4 times, the last with HTTP 503"):
        client.verify(REF)
    assert route.call_count == 4
    assert len(sleeps) == 3


def test_a_timeout_is_retried_then_provider_unavailable(
    router: respx.Router, client: PaystackClient, sleeps: list[float]
) -> None:
    route = router.get(VERIFY).mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(ProviderUnavailable, match="failed 4 times, the last with ReadTimeout"):
        client.verify(REF)
    assert route.call_count == 4
    assert sleeps == [0.25, 0.5, 1.0]


def test_a_network_error_then_an_answer_succeeds(
    router: respx.Router, client: PaystackClient, sleeps: list[float]
) -> None:
    router.get(VERIFY).mock(
        side_effect=[httpx.ConnectError("connection refused"), answer("verify_pending.json")]
    )

    assert client.verify(REF).outcome is Outcome.PENDING
    assert sleeps == [0.25]


def test_no_retries_when_max_retries_is_zero(
    router: respx.Router, make_client: Callable[..., PaystackClient], sleeps: list[float]
) -> None:
    client = make_client(retry=RetryPolicy(max_retries=0))
    route = router.get(VERIFY).mock(return_value=httpx.Response(500))

    with pytest.raises(ProviderUnavailable):
        client.verify(REF)
    assert route.call_count == 1
    assert sleeps == []


def test_every_call_carries_the_configured_timeout(
    router: respx.Router, make_client: Callable[..., PaystackClient]
) -> None:
    client = make_client(timeout=3.5)
    route = router.get(VERIFY).mock(return_value=answer("verify_success.json"))

    client.verify(REF)

    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 3.5, "read": 3.5, "write": 3.5, "pool": 3.5}


def test_an_injected_httpx_client_gets_the_timeout_too(router: respx.Router) -> None:
    with httpx.Client(transport=httpx.MockTransport(router.handler), timeout=60) as http:
        client = PaystackClient(SECRET, base_url=BASE, timeout=2.0, client=http)
        route = router.get(VERIFY).mock(return_value=answer("verify_success.json"))

        client.verify(REF)
        client.close()  # leaves the injected client open

        assert route.calls.last.request.extensions["timeout"]["read"] == 2.0
        assert not http.is_closed


# -- initialize and refund ------------------------------------------------------------------


def test_initialize_sends_paystacks_documented_body_and_returns_the_checkout(
    router: respx.Router, client: PaystackClient
) -> None:
    expected = fixture("initialize_request.json")
    route = router.post("/transaction/initialize").mock(
        return_value=httpx.Response(200, json=fixture("initialize.json"))
    )

    initialized = client.initialize(
        reference=expected["reference"],
        amount=expected["amount"],
        currency=expected["currency"],
        email=expected["email"],
        callback_url=expected["callback_url"],
        metadata=json.loads(expected["metadata"]),
    )

    request = route.calls.last.request
    assert json.loads(request.content) == expected
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.headers["Content-Type"] == "application/json"
    assert initialized == Initialized(
        authorization_url="https://checkout.paystack.com/3ni8kdavz62431k",
        access_code="3ni8kdavz62431k",
        reference=REF,
    )


def test_initialize_leaves_out_callback_url_and_metadata_when_not_given(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.post("/transaction/initialize").mock(
        return_value=httpx.Response(200, json=fixture("initialize.json"))
    )

    client.initialize(reference=REF, amount=500000, currency="NGN", email="fan@example.com")

    assert set(json.loads(route.calls.last.request.content)) == {
        "amount",
        "email",
        "currency",
        "reference",
    }


def test_initialize_without_an_authorization_url_is_a_provider_error(
    router: respx.Router, client: PaystackClient
) -> None:
    body = fixture("initialize.json")
    del body["data"]["authorization_url"]
    router.post("/transaction/initialize").mock(return_value=httpx.Response(200, json=body))

    with pytest.raises(ProviderError, match=r"data\.authorization_url: Field required"):
        client.initialize(reference=REF, amount=1, currency="NGN", email="fan@example.com")


def test_refund_posts_the_reference_and_amount_and_returns_the_refund_id(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.post("/refund").mock(
        return_value=httpx.Response(200, json=fixture("refund.json"))
    )

    accepted = client.refund(reference=REF, amount=500000)

    assert json.loads(route.calls.last.request.content) == {"transaction": REF, "amount": 500000}
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {SECRET}"
    assert (accepted.provider_refund_id, accepted.status) == ("3018284", RefundStatus.PENDING)


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(500), httpx.ReadTimeout("timed out")],
    ids=["500", "read-timeout"],
)
def test_a_refund_is_not_replayed_when_its_outcome_is_unknown(
    router: respx.Router, client: PaystackClient, sleeps: list[float], failure: Any
) -> None:
    route = router.post("/refund").mock(side_effect=[failure])

    with pytest.raises(ProviderUnavailable, match="outcome is unknown"):
        client.refund(reference=REF, amount=500000)
    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(429, headers={"Retry-After": "2"}), httpx.ConnectError("refused")],
    ids=["429", "connect-error"],
)
def test_a_refund_that_surely_did_not_land_is_retried(
    router: respx.Router, client: PaystackClient, failure: Any
) -> None:
    route = router.post("/refund").mock(
        side_effect=[failure, httpx.Response(200, json=fixture("refund.json"))]
    )

    assert client.refund(reference=REF, amount=500000).refund_reference == "3018284"
    assert route.call_count == 2


# -- the secret key and the log lines ------------------------------------------------------


def test_the_secret_key_never_reaches_reprs_errors_or_logs(
    router: respx.Router, client: PaystackClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"status": False, "message": f"Invalid key {SECRET}"}
    router.get("/transaction/verify/r401").mock(return_value=httpx.Response(401, json=echo))
    router.get("/transaction/verify/r500").mock(return_value=httpx.Response(500))
    router.get("/transaction/verify/rtimeout").mock(side_effect=httpx.ReadTimeout("slow"))
    router.get("/transaction/verify/rjson").mock(return_value=httpx.Response(200, text="{"))
    router.post("/refund").mock(return_value=httpx.Response(200, json={"status": True}))
    errors: list[ProviderError] = []

    for reference in ["r401", "r500", "rtimeout", "rjson"]:
        with pytest.raises(ProviderError) as raised:
            client.verify(reference)
        errors.append(raised.value)
    with pytest.raises(ProviderError) as raised:
        client.refund(reference="r1", amount=1)
    errors.append(raised.value)

    assert SECRET not in repr(client)
    assert SECRET not in str(client)
    for error in errors:
        assert SECRET not in str(error)
        assert SECRET not in repr(error)
        assert error.__cause__ is None
    assert "***" in str(errors[0])
    assert caplog.records
    assert SECRET not in caplog.text


def test_each_attempt_logs_one_key_value_line_without_headers(
    router: respx.Router, client: PaystackClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ledger.providers.paystack")
    router.get(VERIFY).mock(side_effect=[httpx.Response(503), answer("verify_success.json")])

    client.verify(REF)

    lines = [r.getMessage() for r in caplog.records if r.name == "ledger.providers.paystack"]
    assert len(lines) == 2
    first = dict(part.split("=", 1) for part in lines[0].split())
    assert first["provider"] == "paystack"
    assert first["method"] == "GET"
    assert first["path"] == VERIFY
    assert first["status"] == "503"
    assert first["attempt"] == "1/4"
    assert first["duration_ms"].isdigit()
    assert first["retry_in_ms"] == "250"
    second = dict(part.split("=", 1) for part in lines[1].split())
    assert (second["attempt"], second["status"]) == ("2/4", "200")
    assert "retry_in_ms" not in second
    assert not any("Authorization" in line or "Bearer" in line for line in lines)


# -- construction and wiring --------------------------------------------------------------


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env and none of the ledger's variables: the defaults are the code's."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("LEDGER_", "PAYSTACK_", "FLUTTERWAVE_")):
            monkeypatch.delenv(name)


def test_an_empty_secret_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="PAYSTACK_SECRET_KEY"):
        PaystackClient("  ")


def test_from_settings_needs_the_secret_key(clean_settings: None) -> None:
    settings = load_settings(LEDGER_DATABASE_URL="sqlite:///unused.db")

    with pytest.raises(ConfigError, match="set PAYSTACK_SECRET_KEY"):
        PaystackClient.from_settings(settings)


def test_from_settings_applies_url_timeout_retries_and_concurrency(clean_settings: None) -> None:
    settings = load_settings(
        PAYSTACK_SECRET_KEY=SECRET,
        PAYSTACK_URL="http://127.0.0.1:9999/",
        PAYSTACK_TIMEOUT="4s",
        PAYSTACK_MAX_RETRIES="2",
        LEDGER_PROVIDER_CONCURRENCY="5",
    )

    with PaystackClient.from_settings(settings) as client:
        assert client.base_url == "http://127.0.0.1:9999"
        assert client.timeout == 4.0
        assert client.concurrency == 5
        assert "max_retries=2" in repr(client)


def test_provider_settings_have_safe_defaults_and_are_validated(clean_settings: None) -> None:
    settings = load_settings()

    assert settings.paystack_timeout == timedelta(seconds=10)
    assert settings.paystack_max_retries == 3
    assert settings.provider_concurrency == 8
    with pytest.raises(ConfigError, match="LEDGER_PROVIDER_CONCURRENCY"):
        load_settings(LEDGER_PROVIDER_CONCURRENCY="0")
    with pytest.raises(ConfigError, match="PAYSTACK_URL"):
        load_settings(PAYSTACK_URL="ftp://paystack")


def test_the_public_key_is_still_accepted_in_the_environment_and_in_dot_env(
    clean_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path(".env").write_text("PAYSTACK_PUBLIC_KEY=pk_test_from_dot_env\n")
    from_dot_env = load_settings()
    monkeypatch.setenv("PAYSTACK_PUBLIC_KEY", "pk_test_from_the_environment")
    from_environment = load_settings()

    for settings in (from_dot_env, from_environment):
        assert "pk_test" not in repr(settings)
        assert not hasattr(settings, "paystack_public_key")


def test_build_ledger_wires_a_paystack_client_when_the_secret_key_is_set(
    clean_settings: None, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with_key = build_ledger(
        load_settings(LEDGER_DATABASE_URL=url, PAYSTACK_SECRET_KEY=SECRET), create=True
    )
    without_key = build_ledger(load_settings(LEDGER_DATABASE_URL=url), create=True)
    try:
        assert isinstance(with_key.provider, PaystackClient)
        assert without_key.provider is None
    finally:
        close_ledger(with_key)
        close_ledger(without_key)


def test_the_ledger_initiates_a_payment_through_the_client(
    clean_settings: None, tmp_path: Path, router: respx.Router, client: PaystackClient
) -> None:
    route = router.post("/transaction/initialize").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={
                **fixture("initialize.json"),
                "data": {
                    **fixture("initialize.json")["data"],
                    "reference": json.loads(request.content)["reference"],
                },
            },
        )
    )
    settings = load_settings(LEDGER_DATABASE_URL=f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger = build_ledger(settings, create=True, provider=client)
    try:
        ledger.register_user("fan-1", "fan", verified=True)
        ledger.register_user("celeb-1", "celebrity", verified=True)
        request_id = ledger.create_request("fan-1", "celeb-1", 500000, "NGN").id

        result = ledger.initiate_payment(request_id, email="fan@example.com")
    finally:
        ledger.close()

    body = json.loads(route.calls.last.request.content)
    assert body["reference"] == f"esc_{request_id.hex}"
    assert (body["amount"], body["currency"], body["email"]) == (500000, "NGN", "fan@example.com")
    assert json.loads(body["metadata"]) == {"request_id": str(request_id)}
    assert result.data is not None
    assert result.data["authorization_url"] == "https://checkout.paystack.com/3ni8kdavz62431k"
    assert result.data["reference"] == body["reference"]
