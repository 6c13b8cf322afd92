"""Every answer to a Paystack refund call lands in exactly one class (docs/providers.md,
"Refunds"): accepted, refused, unreachable (outcome unknown: never replayed), misconfigured or
invalid; and ``GET /refund/:id`` answers a refund, not found, or one of the failure classes.

Bodies are the repository's fixtures (tests/fixtures/paystack), served by an in-process
transport with the HTTP status each is documented with; sleeping is a fake.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from ledger.errors import (
    InvalidInput,
    ProviderAnswerInvalid,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
    RefundRefused,
)
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import RefundAnswer, RefundStatus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "paystack"
BASE = "https://paystack.test"
SECRET = "sk_test_refunds_0123456789abcdef"
REF = "vyb_req_7f3a9c21"
KEY = "rf_0b8f6f0e2f4b4f1e9a573f0d6c1d2e11_1"


def body(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


def served(name: str, status: int = 200, content_type: str = "application/json") -> httpx.Response:
    content = (FIXTURES / name).read_bytes()
    return httpx.Response(status, content=content, headers={"Content-Type": content_type})


def refund_with(**changes: Any) -> httpx.Response:
    answer = body("refund.json")
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


def refund(client: PaystackClient, **kw: Any) -> RefundAnswer:
    return client.refund(reference=REF, amount=500000, **kw)


# -- accepted ---------------------------------------------------------------------------------


def test_an_accepted_refund_is_read_whole_and_sends_the_ledgers_key_and_currency(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.post("/refund").mock(return_value=served("refund.json"))

    answer = refund(client, currency="ngn", merchant_note=KEY, customer_note="Sorry")

    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "transaction": REF,
        "amount": 500000,
        "currency": "NGN",
        "merchant_note": KEY,
        "customer_note": "Sorry",
    }
    assert answer == RefundAnswer(
        provider_refund_id="3018284",
        status=RefundStatus.PENDING,
        amount=500000,
        currency="NGN",
        transaction_reference=REF,
        transaction_id="4099260516",
        merchant_note="Refund for transaction vyb_req_7f3a9c21 by operator",
        customer_note="Refund for transaction vyb_req_7f3a9c21",
        deducted_amount=0,
        fully_deducted=False,
        created_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
        expected_at=datetime(2026, 12, 7, 9, 12, 44, tzinfo=UTC),
    )
    assert answer.refund_reference == "3018284"  # the name the older refund code reads


def test_a_refund_without_the_new_arguments_sends_what_it_sent_before(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.post("/refund").mock(return_value=served("refund.json"))

    refund(client)

    assert json.loads(route.calls.last.request.content) == {"transaction": REF, "amount": 500000}


@pytest.mark.parametrize("status", ["processing", "processed", "failed", "needs-attention"])
def test_any_refund_status_paystack_sends_is_reported(
    router: respx.Router, client: PaystackClient, status: str
) -> None:
    router.post("/refund").mock(return_value=refund_with(status=status))
    assert refund(client).status is RefundStatus(status)


# -- refused: definitive, nothing created -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("refund_refused_fully_reversed.json", 400, "transaction_reversed"),
        ("refund_refused_amount.json", 400, "invalid_params"),
        ("refund_refused_not_found.json", 400, "transaction_not_found"),
        ("refund_refused_not_found.json", 404, "transaction_not_found"),
        ("refund_refused_amount.json", 422, "invalid_params"),
    ],
)
def test_paystacks_refusals_are_refund_refused_with_its_words(
    router: respx.Router,
    client: PaystackClient,
    sleeps: list[float],
    name: str,
    status: int,
    code: str,
) -> None:
    route = router.post("/refund").mock(return_value=served(name, status))

    with pytest.raises(RefundRefused) as raised:
        refund(client)

    refusal = raised.value
    assert refusal.provider_message == body(name)["message"]
    assert (refusal.http_status, refusal.code) == (status, code)
    assert str(refusal).startswith(f"paystack refused the refund of {REF} (HTTP {status}): ")
    assert route.call_count == 1
    assert sleeps == []


def test_a_refusal_is_a_provider_error_so_older_callers_still_stop(
    router: respx.Router, client: PaystackClient
) -> None:
    router.post("/refund").mock(return_value=served("refund_refused_fully_reversed.json", 400))
    with pytest.raises(ProviderError, match="Transaction has been fully reversed"):
        refund(client)


# -- unreachable: the outcome is unknown, never replayed --------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.Response(503, json={"status": False, "message": "Service Unavailable"}),
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
    ids=["500", "502-html", "503", "read-timeout", "write-timeout", "dropped", "reset"],
)
def test_a_refund_that_may_have_reached_paystack_is_never_replayed(
    router: respx.Router, client: PaystackClient, sleeps: list[float], failure: Any
) -> None:
    route = router.post("/refund").mock(side_effect=[failure, served("refund.json")])

    with pytest.raises(ProviderUnavailable, match="the outcome is unknown, check with paystack"):
        refund(client)

    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.Response(429)],
    ids=["connect-error", "connect-timeout", "429"],
)
def test_a_refund_that_surely_was_not_sent_is_retried_once_more(
    router: respx.Router, client: PaystackClient, failure: Any
) -> None:
    route = router.post("/refund").mock(side_effect=[failure, served("refund.json")])
    assert refund(client).provider_refund_id == "3018284"
    assert route.call_count == 2


def test_a_refund_that_never_connects_ends_unreachable_after_the_retries(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.post("/refund").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderUnavailable, match="failed 3 times"):
        refund(client)
    assert route.call_count == 3


# -- misconfigured: Paystack did not take it --------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        served("verify_answer_401_invalid_key.json", 401),
        served("verify_answer_403_forbidden.json", 403),
        served("verify_answer_html_404.html", 404, "text/html"),
        httpx.Response(404, json={"status": False, "message": "Route not found"}),
        httpx.Response(405, json={"status": False, "message": "Method not allowed"}),
        httpx.Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(302, headers={"Location": "https://elsewhere.test/"}),
    ],
    ids=["401", "403", "html-404", "json-404", "405", "html-200", "302"],
)
def test_answers_that_say_our_side_is_wrong_are_misconfigured(
    router: respx.Router, client: PaystackClient, answer: httpx.Response
) -> None:
    route = router.post("/refund").mock(return_value=answer)
    with pytest.raises(ProviderMisconfigured) as raised:
        refund(client)
    assert raised.value.digest.http_status == answer.status_code
    assert route.call_count == 1


# -- invalid: the refund may have been accepted ----------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(200, json={"status": False, "message": "Hmm"}), "status false: Hmm"),
        (httpx.Response(200, json={"status": True}), "data: Field required"),
        (httpx.Response(200, json={"status": True, "data": None}), "data: null"),
        (refund_with(id=None), r"data\.id"),
        (refund_with(status="reversed"), "unknown refund status 'reversed'"),
        (refund_with(amount="500000"), r"data\.amount"),
        (refund_with(currency=None), r"data\.currency"),
        (
            refund_with(transaction={"id": 1, "reference": "someone_else"}),
            "a refund of another reference 'someone_else'",
        ),
        (httpx.Response(400, json={"error": "bad"}), "HTTP 400 not in Paystack's shape"),
    ],
    ids=[
        "status-false",
        "no-data",
        "data-null",
        "no-id",
        "unknown-status",
        "amount-string",
        "no-currency",
        "another-reference",
        "400-other-shape",
    ],
)
def test_an_answer_the_client_cannot_trust_leaves_the_refunds_outcome_unknown(
    router: respx.Router, client: PaystackClient, answer: httpx.Response, reason: str
) -> None:
    router.post("/refund").mock(return_value=answer)

    with pytest.raises(ProviderAnswerInvalid, match=reason) as raised:
        refund(client)

    assert str(raised.value).endswith(
        "the refund may have been accepted: check with paystack before trying again"
    )


def test_an_older_answer_naming_the_transaction_by_id_only_is_accepted(
    router: respx.Router, client: PaystackClient
) -> None:
    router.post("/refund").mock(return_value=refund_with(transaction=4099260516))
    answer = refund(client)
    assert (answer.transaction_reference, answer.transaction_id) == (None, "4099260516")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"amount": 0}, "positive integer"),
        ({"amount": -5}, "positive integer"),
        ({"amount": True}, "positive integer"),
        ({"amount": 10.5}, "positive integer"),
        ({"currency": "NAIRA"}, "three-letter"),
        ({"merchant_note": ""}, "merchant_note must not be empty"),
        ({"merchant_note": "a\nb"}, "one line"),
        ({"customer_note": "x" * 501}, "at most 500"),
        ({"reference": " "}, "reference is required"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(
    router: respx.Router, client: PaystackClient, kw: dict[str, Any], message: str
) -> None:
    route = router.post("/refund").mock(return_value=served("refund.json"))
    args: dict[str, Any] = {"reference": REF, "amount": 500000, **kw}
    with pytest.raises(InvalidInput, match=message):
        client.refund(**args)
    assert route.call_count == 0


# -- GET /refund/:id ------------------------------------------------------------------------


def test_a_fetched_refund_is_read_with_its_final_figures(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get("/refund/3018284").mock(return_value=served("refund_fetch.json"))

    answer = client.get_refund("3018284")

    assert answer is not None
    assert answer.status is RefundStatus.PROCESSED
    assert answer.status.final
    assert (answer.amount, answer.deducted_amount, answer.fully_deducted) == (500000, 500000, True)
    assert answer.transaction_id == "4099260516"
    assert answer.transaction_reference is None  # this answer names the payment by id only
    assert answer.refunded_at == datetime(2026, 11, 30, 14, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize("status", [404, 400])
def test_paystacks_not_found_is_none(
    router: respx.Router, client: PaystackClient, status: int
) -> None:
    router.get("/refund/99").mock(return_value=served("refund_fetch_not_found.json", status))
    assert client.get_refund("99") is None


def test_a_fetch_is_retried_when_paystack_is_unreachable(
    router: respx.Router, client: PaystackClient, sleeps: list[float]
) -> None:
    route = router.get("/refund/3018284").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(503), served("refund_fetch.json")]
    )
    assert client.get_refund("3018284") is not None
    assert route.call_count == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (served("verify_answer_html_404.html", 404, "text/html"), ProviderMisconfigured),
        (httpx.Response(404, json={"detail": "Not Found"}), ProviderMisconfigured),
        (
            httpx.Response(404, json={"status": False, "message": "Not found"}),
            ProviderMisconfigured,
        ),
        (served("verify_answer_401_invalid_key.json", 401), ProviderMisconfigured),
        (httpx.Response(200, json={"status": True, "data": {"id": 1}}), ProviderAnswerInvalid),
        (httpx.Response(400, json={"status": False, "message": "Bad id"}), ProviderAnswerInvalid),
    ],
    ids=["html-404", "other-404", "bare-not-found", "401", "schema", "400-not-not-found"],
)
def test_a_fetch_answer_that_is_not_a_refund_or_not_found_is_never_taken_for_none(
    router: respx.Router, client: PaystackClient, answer: httpx.Response, error: type[Exception]
) -> None:
    router.get("/refund/3018284").mock(return_value=answer)
    with pytest.raises(error):
        client.get_refund("3018284")


def test_a_fetch_that_answers_about_another_refund_is_invalid(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get("/refund/3018285").mock(return_value=served("refund_fetch.json"))
    with pytest.raises(ProviderAnswerInvalid, match="about another refund"):
        client.get_refund("3018285")


@pytest.mark.parametrize("refund_id", ["", "../transaction", "12a", "-1"])
def test_a_refund_id_that_is_not_a_number_is_refused_before_sending(
    router: respx.Router, client: PaystackClient, refund_id: str
) -> None:
    with pytest.raises(InvalidInput, match="refund id is a number"):
        client.get_refund(refund_id)


def test_a_refusal_that_echoes_the_secret_key_never_repeats_it(
    router: respx.Router, client: PaystackClient
) -> None:
    echo = {"status": False, "message": f"Refund refused for key {SECRET}", "code": "x"}
    router.post("/refund").mock(return_value=httpx.Response(400, json=echo))

    with pytest.raises(RefundRefused) as raised:
        refund(client)

    assert SECRET not in str(raised.value)
    assert SECRET not in raised.value.provider_message
    assert raised.value.provider_message == "Refund refused for key ***"
