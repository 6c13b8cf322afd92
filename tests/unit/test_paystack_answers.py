"""Every Paystack verify answer lands in exactly one class (docs/providers.md, "Which answers may
change a payment"): definitive, not found, unreachable, misconfigured or invalid.

The bodies are the repository's fixtures (tests/fixtures/paystack/verify_answer_*), served by an
in-process transport with the HTTP status and content type each is documented with. Sleeping is
a fake, so retried answers cost nothing.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from ledger.errors import (
    AnswerDigest,
    ProviderAnswerInvalid,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
)
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.paystack_answers import TransactionInvalid, parse_transaction
from ledger.providers.port import Outcome, Verification

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "paystack"
BASE = "https://paystack.test"
SECRET = "sk_test_answers_0123456789abcdef"
REF = "esc_5d0c3b1e9a7f4e2c8b6a1d3f5e7c9b2a"
VERIFY = f"/transaction/verify/{REF}"


def raw(name: str) -> bytes:
    path = FIXTURES / name
    assert path.is_file(), f"fixture {path} is missing"
    return path.read_bytes()


def body(name: str) -> Any:
    return json.loads(raw(name))


def served(name: str, status: int = 200, content_type: str = "application/json") -> httpx.Response:
    return httpx.Response(status, content=raw(name), headers={"Content-Type": content_type})


def with_data(**changes: Any) -> httpx.Response:
    """The base success with some ``data`` fields changed."""
    answer = body("verify_answer_success.json")
    answer["data"].update(changes)
    return httpx.Response(200, json=answer)


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(router: respx.Router, sleeps: list[float]) -> Iterator[PaystackClient]:
    with PaystackClient(
        SECRET,
        base_url=BASE,
        transport=httpx.MockTransport(router.handler),
        retry=RetryPolicy(max_retries=2),
        sleep=sleeps.append,
        rand=lambda: 0.5,
    ) as made:
        yield made


def answered(router: respx.Router, client: PaystackClient, response: httpx.Response) -> Any:
    """What ``verify`` gives for ``response``: a ``Verification`` or the exception raised."""
    router.get(VERIFY).mock(return_value=response)
    try:
        return client.verify(REF)
    except ProviderError as exc:
        return exc


# -- misconfigured ----------------------------------------------------------------------------

MISCONFIGURED: dict[str, Callable[[], httpx.Response]] = {
    "401 wrong key": lambda: served("verify_answer_401_invalid_key.json", 401),
    "403 refused": lambda: served("verify_answer_403_forbidden.json", 403),
    "HTML 404 of a wrong base URL": lambda: served("verify_answer_html_404.html", 404, "text/html"),
    "malformed JSON": lambda: served("verify_answer_malformed.json", 200),
    "an HTML page with 200": lambda: served("verify_answer_html_404.html", 200, "text/html"),
    "a JSON 404 that is not Paystack's not-found": lambda: httpx.Response(
        404, json={"status": False, "message": "Not found"}
    ),
    "a redirect": lambda: httpx.Response(301, headers={"Location": "https://elsewhere.test/"}),
    "an unexpected 405": lambda: httpx.Response(405, json={"message": "Method not allowed"}),
}


@pytest.mark.parametrize("case", MISCONFIGURED, ids=str)
def test_answers_that_mean_a_misconfiguration_are_provider_misconfigured_and_not_retried(
    router: respx.Router, client: PaystackClient, sleeps: list[float], case: str
) -> None:
    response = MISCONFIGURED[case]()

    result = answered(router, client, response)

    assert type(result) is ProviderMisconfigured
    assert router.calls.call_count == 1
    assert sleeps == []
    assert result.digest.http_status == response.status_code
    assert result.digest.sha256 == hashlib.sha256(response.content).hexdigest()[:16]
    assert result.digest.sha256 in str(result)


def test_a_401_names_paystacks_message_but_never_the_secret(
    router: respx.Router, client: PaystackClient
) -> None:
    echo = {"status": False, "message": f"Invalid key: {SECRET}"}

    result = answered(router, client, httpx.Response(401, json=echo))

    assert isinstance(result, ProviderMisconfigured)
    assert "Invalid key: ***" in str(result)
    assert SECRET not in str(result)
    assert SECRET not in str(result.digest)


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("verify_answer_401_invalid_key.json", 401, "Invalid key"),
        ("verify_answer_403_forbidden.json", 403, "IP address is not allowed"),
    ],
)
def test_a_refused_key_says_so_with_paystacks_message(
    router: respx.Router, client: PaystackClient, name: str, status: int, message: str
) -> None:
    result = answered(router, client, served(name, status))

    assert isinstance(result, ProviderMisconfigured)
    assert f"the secret key was refused (HTTP {status}): {message}" in result.digest.reason


def test_a_misconfiguration_never_says_not_found_even_with_a_not_found_body(
    router: respx.Router, client: PaystackClient
) -> None:
    # A proxy or a wrong host answering 401 with Paystack's words is still a key problem.
    result = answered(router, client, served("verify_answer_not_found.json", 401))

    assert isinstance(result, ProviderMisconfigured)


def test_the_digest_of_an_html_page_says_what_it_was_without_its_text(
    router: respx.Router, client: PaystackClient
) -> None:
    result = answered(router, client, served("verify_answer_html_404.html", 404, "text/html"))

    assert isinstance(result, ProviderMisconfigured)
    assert "text/html" in result.digest.reason
    assert "nginx" not in str(result)
    assert "\n" not in str(result)


# -- invalid ----------------------------------------------------------------------------------

INVALID: dict[str, tuple[Callable[[], httpx.Response], str]] = {
    "data null": (lambda: served("verify_answer_data_null.json"), "data: null"),
    "data.status missing": (
        lambda: served("verify_answer_status_missing.json"),
        "data.status: Field required",
    ),
    "unknown status": (
        lambda: served("verify_answer_unknown_status.json"),
        "data.status: unknown transaction status 'settled'",
    ),
    "another reference": (
        lambda: served("verify_answer_other_reference.json"),
        "data.reference: about another reference",
    ),
    "amount as a string": (
        lambda: served("verify_answer_amount_string.json"),
        "data.amount: Input should be a valid integer",
    ),
    "amount 10^30": (lambda: served("verify_answer_amount_absurd.json"), "data.amount"),
    "a success without currency": (
        lambda: served("verify_answer_success_no_currency.json"),
        "data.currency: Field required on a success",
    ),
    "no data": (
        lambda: httpx.Response(200, json={"status": True, "message": "Verification successful"}),
        "data: Field required",
    ),
    "status false with 200": (
        lambda: httpx.Response(200, json={"status": False, "message": "Something is off"}),
        "status false: Something is off",
    ),
    "a 400 that is not not-found": (
        lambda: httpx.Response(400, json={"status": False, "message": "Invalid reference"}),
        "refused (HTTP 400): Invalid reference",
    ),
    "a JSON array": (lambda: httpx.Response(200, json=[1, 2]), "body: not a JSON object"),
    "a negative amount": (lambda: with_data(amount=-1), "data.amount"),
    "a boolean amount": (lambda: with_data(amount=True), "data.amount"),
    "requested_amount as a string": (
        lambda: with_data(requested_amount="30050"),
        "data.requested_amount",
    ),
    "a currency that is no code": (lambda: with_data(currency="NAIRA"), "data.currency"),
    "no id": (lambda: with_data(id=None), "data.id"),
    "a status in capitals": (lambda: with_data(status="SUCCESS"), "unknown transaction status"),
}


@pytest.mark.parametrize("case", INVALID, ids=str)
def test_json_answers_that_cannot_be_trusted_are_provider_answer_invalid_naming_the_field(
    router: respx.Router, client: PaystackClient, sleeps: list[float], case: str
) -> None:
    make, reason = INVALID[case]
    response = make()

    result = answered(router, client, response)

    assert type(result) is ProviderAnswerInvalid
    assert reason in result.digest.reason
    assert result.digest == AnswerDigest(
        sha256=hashlib.sha256(response.content).hexdigest()[:16],
        http_status=response.status_code,
        reason=result.digest.reason,
    )
    assert router.calls.call_count == 1
    assert sleeps == []


def test_an_invalid_answer_never_echoes_the_figures_it_refused(
    router: respx.Router, client: PaystackClient
) -> None:
    result = answered(router, client, served("verify_answer_amount_absurd.json"))

    assert isinstance(result, ProviderAnswerInvalid)
    assert str(10**30) not in str(result)


# -- not found --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["verify_answer_not_found.json", "verify_answer_not_found_legacy.json"]
)
@pytest.mark.parametrize("status", [400, 404])
def test_paystacks_documented_not_found_answers_are_not_found(
    router: respx.Router, client: PaystackClient, name: str, status: int
) -> None:
    result = answered(router, client, served(name, status))

    assert result == Verification(Outcome.NOT_FOUND, "not_found", reference=REF)
    assert router.calls.call_count == 1


# -- unreachable ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(503, text="<html>Service Unavailable</html>"),
        httpx.Response(502, json={"status": False}),
        httpx.Response(429, json={"status": False, "message": "Too many requests"}),
    ],
    ids=["503 html", "502", "429"],
)
def test_5xx_and_429_are_unreachable_after_the_retries(
    router: respx.Router, client: PaystackClient, sleeps: list[float], response: httpx.Response
) -> None:
    result = answered(router, client, response)

    assert type(result) is ProviderUnavailable
    assert router.calls.call_count == 3
    assert len(sleeps) == 2


def test_a_network_error_is_unreachable_after_the_retries(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get(VERIFY).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(ProviderUnavailable, match="the last with ConnectError"):
        client.verify(REF)
    assert router.calls.call_count == 3


# -- definitive -------------------------------------------------------------------------------


def test_the_base_success_is_definitive_with_every_figure(
    router: respx.Router, client: PaystackClient
) -> None:
    result = answered(router, client, served("verify_answer_success.json"))

    assert result == Verification(
        Outcome.SUCCESS,
        "success",
        amount=500000,
        currency="NGN",
        provider_transaction_id="4099260871",
        paid_at=datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC),
        gateway_response="Successful",
        requested_amount=500000,
        raw_currency="NGN",
        reference=REF,
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("failed", Outcome.FAILED),
        ("abandoned", Outcome.FAILED),
        ("reversed", Outcome.FAILED),
        ("ongoing", Outcome.PENDING),
        ("pending", Outcome.PENDING),
        ("processing", Outcome.PENDING),
        ("queued", Outcome.PENDING),
    ],
)
def test_every_known_status_is_definitive(
    router: respx.Router, client: PaystackClient, status: str, outcome: Outcome
) -> None:
    result = answered(router, client, with_data(status=status, paid_at=None, paidAt=None))

    assert isinstance(result, Verification)
    assert (result.outcome, result.provider_status, result.paid_at) == (outcome, status, None)


def test_a_failure_needs_no_currency(router: respx.Router, client: PaystackClient) -> None:
    answer = body("verify_answer_success.json")
    answer["data"]["status"] = "abandoned"
    del answer["data"]["currency"]

    result = answered(router, client, httpx.Response(200, json=answer))

    assert isinstance(result, Verification)
    assert result.outcome is Outcome.FAILED


# -- money the ledger cannot represent: still a definitive success, raw figures kept ---------


@pytest.mark.parametrize(
    ("name", "amount", "currency", "raw_currency"),
    [
        ("verify_answer_currency_xof.json", 500000, "XOF", "XOF"),
        ("verify_answer_currency_lowercase.json", 500000, "NGN", "ngn"),
        ("verify_answer_amount_above_ledger_max.json", 10**13, "NGN", "NGN"),
    ],
    ids=["XOF", "ngn", "10^13"],
)
def test_money_the_ledger_cannot_book_as_paid_is_a_definitive_success_with_the_raw_figures(
    router: respx.Router,
    client: PaystackClient,
    name: str,
    amount: int,
    currency: str,
    raw_currency: str,
) -> None:
    result = answered(router, client, served(name))

    assert isinstance(result, Verification)
    assert result.outcome is Outcome.SUCCESS
    assert (result.amount, result.currency, result.raw_currency) == (amount, currency, raw_currency)


def test_fees_borne_by_the_customer_carry_the_requested_amount(
    router: respx.Router, client: PaystackClient
) -> None:
    result = answered(router, client, served("verify_success_customer_fees.json"))

    assert isinstance(result, Verification)
    assert result.outcome is Outcome.SUCCESS
    assert (result.amount, result.requested_amount) == (40333, 30050)


def test_without_requested_amount_there_is_none(
    router: respx.Router, client: PaystackClient
) -> None:
    answer = body("verify_answer_success.json")
    del answer["data"]["requested_amount"]

    result = answered(router, client, httpx.Response(200, json=answer))

    assert isinstance(result, Verification)
    assert result.requested_amount is None


def test_paid_at_is_read_from_paidAt_when_paid_at_is_absent(
    router: respx.Router, client: PaystackClient
) -> None:
    result = answered(router, client, served("verify_answer_paidat_only.json"))

    assert isinstance(result, Verification)
    assert result.paid_at == datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)


def test_an_unreadable_paid_at_costs_the_time_not_the_answer(
    router: respx.Router, client: PaystackClient
) -> None:
    result = answered(router, client, with_data(paid_at="yesterday", paidAt=None))

    assert isinstance(result, Verification)
    assert result.outcome is Outcome.SUCCESS
    assert result.paid_at is None


# -- the body model the webhook path shares ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "verify_answer_success.json",
        "verify_answer_currency_lowercase.json",
        "verify_answer_paidat_only.json",
        "verify_success_customer_fees.json",
        "verify_answer_currency_xof.json",
    ],
)
def test_a_webhooks_data_object_reads_as_the_same_verification(
    router: respx.Router, client: PaystackClient, name: str
) -> None:
    through_verify = answered(router, client, served(name))

    through_webhook = parse_transaction(body(name)["data"]).verification()

    assert through_webhook == through_verify


@pytest.mark.parametrize(
    "name",
    [
        "verify_answer_status_missing.json",
        "verify_answer_unknown_status.json",
        "verify_answer_amount_string.json",
        "verify_answer_amount_absurd.json",
        "verify_answer_success_no_currency.json",
    ],
)
def test_a_webhooks_data_object_is_refused_where_verify_would_be(name: str) -> None:
    with pytest.raises(TransactionInvalid, match=r"^data\."):
        parse_transaction(body(name)["data"])


# -- initialize and refund --------------------------------------------------------------------


def test_initialize_with_a_wrong_key_is_misconfigured(
    router: respx.Router, client: PaystackClient
) -> None:
    router.post("/transaction/initialize").mock(
        return_value=served("verify_answer_401_invalid_key.json", 401)
    )

    with pytest.raises(ProviderMisconfigured, match=r"HTTP 401\): Invalid key"):
        client.initialize(reference=REF, amount=500000, currency="NGN", email="fan@example.com")


def test_an_unusable_refund_answer_says_its_outcome_is_unknown(
    router: respx.Router, client: PaystackClient
) -> None:
    router.post("/refund").mock(
        return_value=httpx.Response(200, json={"status": True, "data": {"status": "pending"}})
    )

    with pytest.raises(ProviderAnswerInvalid, match=r"data\.id: Field required") as raised:
        client.refund(reference=REF, amount=500000)

    assert "check with paystack before trying again" in str(raised.value)
    assert raised.value.digest.http_status == 200


def test_a_refund_to_an_html_page_is_misconfigured(
    router: respx.Router, client: PaystackClient
) -> None:
    router.post("/refund").mock(
        return_value=served("verify_answer_html_404.html", 404, "text/html")
    )

    with pytest.raises(ProviderMisconfigured):
        client.refund(reference=REF, amount=500000)
