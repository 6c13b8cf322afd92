"""The Flutterwave v4 transfers client against respx routes serving the fixtures
(tests/fixtures/flutterwave): every answer class (definitive, not found, unreachable,
misconfigured, invalid, refused), the one token replacement after a 401, exact amounts, the
idempotency key on every attempt, the search by reference, and no token or account number in
an error, a log line or a repr.

HTTP goes through an injected ``httpx.MockTransport(router.handler)``; sleeping is a fake that
records the delays. The token source is a fake that counts its calls; the real token manager's
part (single flight on the ``provider_tokens`` row) is in test_flutterwave_transfer_tokens.py.
"""

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
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
)
from ledger.providers.flutterwave_transfers import FlutterwaveTransfers
from ledger.providers.http import RetryPolicy
from ledger.providers.payout_port import (
    PayoutLookupIncomplete,
    TransferOutcome,
    TransferRefused,
)
from tests.fixtures import fixture_bytes, fixture_json

BASE = "https://flutterwave.test"
REF = "vyb_pay_3c1d9e55"
TRF = "trf_8Qw2LzR4yVb1Ks"
RCB = "rcb_5N2gTqXoP1a7Lm"
ACCOUNT = "0690000040"
KEY = "payout-7b1e-attempt"
TOKEN = "tok_first_never_print_111"
NEW_TOKEN = "tok_second_never_print_222"


class FakeTokens:
    """A token source: ``current_token`` hands out the stored token; ``replace_rejected``
    swaps in the next one, as the manager does after a 401."""

    def __init__(self, *tokens: str, fail: Exception | None = None) -> None:
        self.tokens = list(tokens or (TOKEN, NEW_TOKEN))
        self.current = self.tokens.pop(0)
        self.replaced: list[str] = []
        self.fail = fail

    def current_token(self) -> str:
        if self.fail is not None:
            raise self.fail
        return self.current

    def replace_rejected(self, rejected: str) -> str:
        self.replaced.append(rejected)
        if self.tokens and rejected == self.current:
            self.current = self.tokens.pop(0)
        return self.current


def fixture(name: str) -> Any:
    return fixture_json("flutterwave", name)


def ok(name: str, http: int = 200, **data_changes: Any) -> httpx.Response:
    """The fixture ``name`` answered with HTTP ``http``, some ``data`` fields changed."""
    body = json.loads(fixture_bytes("flutterwave", name))
    body["data"].update(data_changes)
    return httpx.Response(http, json=body)


def raw(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        content=fixture_bytes("flutterwave", name),
        headers={"Content-Type": "application/json"},
    )


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def make_client(
    router: respx.Router, sleeps: list[float], tokens: FakeTokens
) -> Iterator[Callable[..., FlutterwaveTransfers]]:
    made: list[FlutterwaveTransfers] = []

    def make(**kwargs: Any) -> FlutterwaveTransfers:
        options: dict[str, Any] = {
            "tokens": tokens,
            "base_url": BASE,
            "transport": httpx.MockTransport(router.handler),
            "retry": RetryPolicy(max_retries=2),
            "sleep": sleeps.append,
            "rand": lambda: 0.5,
            **kwargs,
        }
        client = FlutterwaveTransfers(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., FlutterwaveTransfers]) -> FlutterwaveTransfers:
    return make_client()


def create(client: FlutterwaveTransfers, **changes: Any) -> Any:
    options: dict[str, Any] = {
        "reference": REF,
        "amount": 300000,
        "currency": "NGN",
        "recipient_id": RCB,
        "narration": f"Vyb payout {REF}",
        "idempotency_key": KEY,
        **changes,
    }
    return client.create_transfer(**options)


# -- definitive answers -------------------------------------------------------------------


def test_an_account_resolves_to_the_holder_name_and_its_number_is_masked_in_repr(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    route = router.post("/banks/account-resolve").mock(return_value=raw("account_resolve.json"))
    account = client.resolve_account("044", ACCOUNT)
    assert (account.bank_code, account.account_number) == ("044", ACCOUNT)
    assert account.account_name == "Alex James"
    assert json.loads(route.calls.last.request.content) == fixture("account_resolve_request.json")
    assert ACCOUNT not in repr(account)
    assert "******0040" in repr(account)


def test_a_recipient_is_created_with_the_documented_body(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    route = router.post("/transfers/recipients").mock(return_value=raw("recipient.json", 201))
    recipient = client.create_recipient(
        bank_code="044", account_number=ACCOUNT, account_name="Alex  James", idempotency_key="r1"
    )
    assert (recipient.id, recipient.account_last4, recipient.currency) == (RCB, "0040", "NGN")
    request = route.calls.last.request
    assert json.loads(request.content) == fixture("recipient_request.json")
    assert request.headers["X-Idempotency-Key"] == "r1"


def test_a_transfer_is_sent_in_exact_major_units_with_its_idempotency_key(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    route = router.post("/transfers").mock(return_value=raw("transfer_create.json", 201))
    transfer = create(client)
    assert (transfer.id, transfer.reference, transfer.status) == (TRF, REF, "NEW")
    assert transfer.outcome is TransferOutcome.PENDING
    assert (transfer.amount, transfer.currency, transfer.fee, transfer.fee_currency) == (
        300000,
        "NGN",
        1075,
        "NGN",
    )
    assert transfer.recipient_id == RCB
    request = route.calls.last.request
    assert b'"value":3000.00' in request.content  # a JSON number, never a float's digits
    assert json.loads(request.content) == fixture("transfer_request.json")
    assert request.headers["X-Idempotency-Key"] == KEY
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Trace-Id"]


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("transfer_pending.json", TransferOutcome.PENDING),
        ("transfer_successful.json", TransferOutcome.SUCCEEDED),
        ("transfer_failed.json", TransferOutcome.FAILED),
        ("transfer_reversed.json", TransferOutcome.REVERSED),
    ],
)
def test_a_fetched_transfer_maps_its_status_to_an_outcome(
    client: FlutterwaveTransfers, router: respx.Router, name: str, outcome: TransferOutcome
) -> None:
    router.get(f"/transfers/{TRF}").mock(return_value=raw(name))
    transfer = client.get_transfer(TRF)
    assert transfer is not None
    assert transfer.outcome is outcome
    assert transfer.amount == 300000
    assert transfer.created_at == datetime(2026, 3, 2, 10, 15, 4, 221000, tzinfo=UTC)
    if outcome is TransferOutcome.FAILED:
        assert transfer.failure_reason == "DISBURSE FAILED: Insufficient wallet balance"
    if outcome is TransferOutcome.REVERSED:
        assert transfer.reversed_at == datetime(2026, 3, 3, 8, 2, 11, tzinfo=UTC)
        assert transfer.failure_reason == "Beneficiary bank returned the funds"


@pytest.mark.parametrize("status", ["CANCELLED", "INITIATED", "successful", "REVERSED"])
def test_other_documented_status_words_are_understood_in_any_case(
    client: FlutterwaveTransfers, router: respx.Router, status: str
) -> None:
    router.get(f"/transfers/{TRF}").mock(return_value=ok("transfer_pending.json", status=status))
    transfer = client.get_transfer(TRF)
    assert transfer is not None
    assert transfer.status == status


# -- not found ----------------------------------------------------------------------------


def test_flutterwaves_not_found_answer_is_none(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.get("/transfers/trf_unknown").mock(return_value=raw("error_not_found.json", 404))
    assert client.get_transfer("trf_unknown") is None


def test_a_404_that_is_not_flutterwaves_is_a_misconfiguration_not_a_not_found(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.get(f"/transfers/{TRF}").mock(
        return_value=httpx.Response(404, text="<html>Not Found</html>")
    )
    with pytest.raises(ProviderMisconfigured, match="HTTP 404 without Flutterwave's error body"):
        client.get_transfer(TRF)


# -- unreachable --------------------------------------------------------------------------


def test_5xx_is_retried_with_the_same_idempotency_key_and_trace_then_answered(
    client: FlutterwaveTransfers, router: respx.Router, sleeps: list[float]
) -> None:
    route = router.post("/transfers").mock(
        side_effect=[httpx.Response(503), raw("transfer_create.json", 201)]
    )
    assert create(client).id == TRF
    first, second = (call.request for call in route.calls)
    assert first.headers["X-Idempotency-Key"] == second.headers["X-Idempotency-Key"] == KEY
    assert first.headers["X-Trace-Id"] == second.headers["X-Trace-Id"]
    assert sleeps == [0.25]


def test_a_read_timeout_on_create_is_replayed_because_the_key_makes_it_safe(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    route = router.post("/transfers").mock(
        side_effect=[httpx.ReadTimeout("slow"), raw("transfer_create.json", 201)]
    )
    assert create(client).id == TRF
    assert route.call_count == 2


def test_a_recipient_without_a_key_is_not_replayed_after_an_ambiguous_failure(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    route = router.post("/transfers/recipients").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderUnavailable, match="outcome is unknown"):
        client.create_recipient(bank_code="044", account_number=ACCOUNT, account_name="Alex James")
    assert route.call_count == 1


def test_persistent_5xx_and_429_end_unavailable_honouring_retry_after(
    client: FlutterwaveTransfers, router: respx.Router, sleeps: list[float]
) -> None:
    router.get(f"/transfers/{TRF}").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(502),
            httpx.Response(500),
        ]
    )
    with pytest.raises(ProviderUnavailable, match="failed 3 times, the last with HTTP 500"):
        client.get_transfer(TRF)
    assert sleeps == [2.0, 0.5]


# -- the token ----------------------------------------------------------------------------


def test_a_401_replaces_the_token_once_and_sends_again(
    client: FlutterwaveTransfers, router: respx.Router, tokens: FakeTokens
) -> None:
    route = router.post("/transfers").mock(
        side_effect=[raw("error_unauthorized.json", 401), raw("transfer_create.json", 201)]
    )
    assert create(client).id == TRF
    assert tokens.replaced == [TOKEN]
    first, second = (call.request for call in route.calls)
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert second.headers["Authorization"] == f"Bearer {NEW_TOKEN}"
    assert second.headers["X-Idempotency-Key"] == KEY


def test_a_second_401_after_the_refresh_is_a_misconfiguration(
    client: FlutterwaveTransfers, router: respx.Router, tokens: FakeTokens
) -> None:
    route = router.post("/transfers").mock(return_value=raw("error_unauthorized.json", 401))
    with pytest.raises(ProviderMisconfigured, match="401 again after one token refresh") as err:
        create(client)
    assert route.call_count == 2
    assert tokens.replaced == [TOKEN]
    assert TOKEN not in str(err.value)
    assert NEW_TOKEN not in str(err.value)


def test_a_token_refused_by_the_idp_is_a_misconfiguration_and_an_outage_stays_one(
    make_client: Callable[..., FlutterwaveTransfers], router: respx.Router
) -> None:
    router.get(f"/transfers/{TRF}").mock(return_value=raw("transfer_successful.json"))
    refused = make_client(tokens=FakeTokens(fail=ProviderError("flutterwave refused (HTTP 401)")))
    with pytest.raises(ProviderMisconfigured, match="flutterwave token"):
        refused.get_transfer(TRF)
    down = make_client(tokens=FakeTokens(fail=ProviderUnavailable("idp down")))
    with pytest.raises(ProviderUnavailable, match="idp down"):
        down.get_transfer(TRF)


# -- misconfigured ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(403, json={"status": "failed", "error": {"type": "FORBIDDEN"}}),
        httpx.Response(200, text="<!doctype html><title>Sign in</title>"),
        httpx.Response(200, content=b'{"status": "success", "data": {'),
        httpx.Response(301, headers={"Location": "https://elsewhere.test/"}),
        httpx.Response(400, text="Bad Request"),
    ],
    ids=["403", "html", "truncated-json", "redirect", "400-not-flutterwave"],
)
def test_answers_that_are_not_flutterwaves_api_are_misconfigurations(
    client: FlutterwaveTransfers, router: respx.Router, response: httpx.Response
) -> None:
    router.get(f"/transfers/{TRF}").mock(return_value=response)
    with pytest.raises(ProviderMisconfigured) as err:
        client.get_transfer(TRF)
    assert err.value.digest.http_status == response.status_code
    assert len(err.value.digest.sha256) == 16


# -- invalid ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "SETTLED"}, "unknown transfer status 'SETTLED'"),
        ({"reference": None}, "data.reference"),
        ({"amount": {"value": 3000.445, "applies_to": "destination_currency"}}, "whole number"),
        ({"amount": {"value": "3000.44", "applies_to": "elsewhere"}}, "applies_to"),
        ({"destination_currency": None}, "destination_currency"),
        ({"fee": {"currency": "NGN", "value": 10.755}}, "data.fee.value"),
    ],
    ids=["unknown-status", "no-reference", "fraction-of-kobo", "bad-side", "no-currency", "fee"],
)
def test_json_that_cannot_be_trusted_is_an_invalid_answer(
    client: FlutterwaveTransfers, router: respx.Router, changes: dict[str, Any], reason: str
) -> None:
    body = fixture("transfer_successful.json")
    body["data"].update(changes)
    content = json.dumps(body).encode()  # 3000.445 and 10.755 written as JSON numbers
    router.get(f"/transfers/{TRF}").mock(return_value=httpx.Response(200, content=content))
    with pytest.raises(ProviderAnswerInvalid, match=reason):
        client.get_transfer(TRF)


def test_an_answer_about_another_transfer_or_a_failed_status_is_invalid(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.get(f"/transfers/{TRF}").mock(
        side_effect=[
            ok("transfer_successful.json", id="trf_someone_else"),
            httpx.Response(200, json={"status": "failed", "message": "?", "data": None}),
        ]
    )
    with pytest.raises(ProviderAnswerInvalid, match="another transfer"):
        client.get_transfer(TRF)
    with pytest.raises(ProviderAnswerInvalid, match="status is not 'success'"):
        client.get_transfer(TRF)


@pytest.mark.parametrize(
    "changes",
    [
        {"reference": "vyb_pay_other"},
        {"amount": {"value": 30000, "applies_to": "destination_currency"}},
        {"destination_currency": "GHS"},
        {"recipient": {"id": "rcb_someone_else"}},
    ],
    ids=["reference", "amount", "currency", "recipient"],
)
def test_a_created_transfer_that_does_not_echo_the_request_is_invalid(
    client: FlutterwaveTransfers, router: respx.Router, changes: dict[str, Any]
) -> None:
    router.post("/transfers").mock(return_value=ok("transfer_create.json", http=201, **changes))
    with pytest.raises(ProviderAnswerInvalid, match="does not match the request"):
        create(client)


def test_a_resolution_about_another_account_is_invalid(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.post("/banks/account-resolve").mock(
        return_value=ok("account_resolve.json", account_number="0690000041")
    )
    with pytest.raises(ProviderAnswerInvalid, match="another account") as err:
        client.resolve_account("044", ACCOUNT)
    assert ACCOUNT not in str(err.value)


# -- refused ------------------------------------------------------------------------------


def test_a_documented_refusal_carries_its_type_and_code_and_creates_nothing(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    route = router.post("/transfers").mock(return_value=raw("error_validation.json", 400))
    with pytest.raises(TransferRefused) as err:
        create(client)
    assert (err.value.http_status, err.value.error_type, err.value.error_code) == (
        400,
        "REQUEST_NOT_VALID",
        "10400",
    )
    assert "Request is not valid" in str(err.value)
    assert route.call_count == 1


def test_a_refusal_echoing_the_account_number_or_token_shows_neither(
    client: FlutterwaveTransfers, router: respx.Router, caplog: pytest.LogCaptureFixture
) -> None:
    message = f"Account {ACCOUNT} could not be resolved for {TOKEN}"
    router.post("/banks/account-resolve").mock(
        return_value=httpx.Response(
            400,
            json={
                "status": "failed",
                "error": {"type": "REQUEST_NOT_VALID", "code": "10400", "message": message},
            },
        )
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TransferRefused) as err:
        client.resolve_account("044", ACCOUNT)
    text = str(err.value) + caplog.text + repr(client)
    assert ACCOUNT not in text
    assert TOKEN not in text
    assert "******0040" in str(err.value)
    assert "***" in str(err.value)


# -- the 409: a reference already taken ---------------------------------------------------


def test_a_taken_reference_returns_the_transfer_holding_it_when_it_is_this_one(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.post("/transfers").mock(return_value=raw("error_conflict.json", 409))
    router.get("/transfers").mock(return_value=raw("transfer_list.json"))
    transfer = create(client)
    assert (transfer.id, transfer.outcome) == (TRF, TransferOutcome.SUCCEEDED)


def test_a_taken_reference_held_by_another_amount_is_invalid(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.post("/transfers").mock(return_value=raw("error_conflict.json", 409))
    router.get("/transfers").mock(return_value=raw("transfer_list.json"))
    with pytest.raises(ProviderAnswerInvalid, match="does not match"):
        create(client, amount=300001)


def test_a_taken_reference_that_is_not_listed_yet_decides_nothing(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.post("/transfers").mock(return_value=raw("error_conflict.json", 409))
    router.get("/transfers").mock(return_value=raw("transfer_list_page2.json"))
    body = fixture("transfer_list_page2.json")
    body["meta"]["page_info"] = {"total": 1, "current_page": 1, "total_pages": 1}
    router.get("/transfers").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ProviderUnavailable, match="outcome is unknown"):
        create(client)


# -- listing and searching ----------------------------------------------------------------


def test_list_pages_report_paging_and_exact_amounts(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    route = router.get("/transfers").mock(
        side_effect=[raw("transfer_list.json"), raw("transfer_list_page2.json")]
    )
    first = client.list_transfers(page=1)
    second = client.list_transfers(page=2)
    assert (first.page, first.total_pages, first.total, first.has_more) == (1, 2, 3, True)
    assert [t.amount for t in first.transfers] == [300000, 125050]
    assert [t.amount for t in second.transfers] == [50000]
    assert not second.has_more
    assert route.calls[0].request.url.params["page"] == "1"
    assert route.calls[1].request.url.params["size"] == "50"


def test_a_list_window_keeps_transfers_created_inside_it(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.get("/transfers").mock(return_value=raw("transfer_list.json"))
    page = client.list_transfers(
        since=datetime(2026, 3, 2, 10, 0, tzinfo=UTC), until=datetime(2026, 3, 3, tzinfo=UTC)
    )
    assert [t.reference for t in page.transfers] == [REF]


def test_an_unreadable_listed_transfer_is_reported_not_dropped(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    body = fixture("transfer_list.json")
    body["data"][1]["status"] = "WHATEVER"
    router.get("/transfers").mock(return_value=httpx.Response(200, json=body))
    page = client.list_transfers()
    assert [t.reference for t in page.transfers] == [REF]
    assert len(page.unreadable) == 1
    bad = page.unreadable[0]
    assert (bad.id, bad.reference) == ("trf_2Hn6PqT0wXe5Jd", "vyb_pay_9a8b7c6d")
    assert "unknown transfer status" in bad.reason


def test_a_list_answering_another_page_is_invalid(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.get("/transfers").mock(return_value=raw("transfer_list.json"))
    with pytest.raises(ProviderAnswerInvalid, match="asked for page 2, got page 1"):
        client.list_transfers(page=2)


def test_find_reads_the_pages_until_the_reference_or_the_end(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.get("/transfers").mock(
        side_effect=lambda request: raw(
            "transfer_list.json"
            if request.url.params["page"] == "1"
            else "transfer_list_page2.json"
        )
    )
    found = client.find_transfer("vyb_pay_0f1e2d3c")
    assert found is not None
    assert found.id == "trf_7Yc3MbV9sKo2Ra"
    assert client.find_transfer("vyb_pay_never_sent") is None


def test_find_stops_at_its_page_limit_without_deciding(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    router.get("/transfers").mock(return_value=raw("transfer_list.json"))
    with pytest.raises(PayoutLookupIncomplete, match="nothing is decided"):
        client.find_transfer("vyb_pay_never_sent", max_pages=1)


def test_one_reference_on_two_transfers_is_invalid(
    client: FlutterwaveTransfers, router: respx.Router
) -> None:
    body = fixture("transfer_list.json")
    body["data"][1]["reference"] = REF
    body["meta"]["page_info"]["total_pages"] = 1
    router.get("/transfers").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ProviderAnswerInvalid, match="2 transfers with reference"):
        client.find_transfer(REF)


# -- inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 0},
        {"amount": True},
        {"amount": 3000.0},
        {"currency": "XYZ"},
        {"reference": "has space"},
        {"reference": ""},
        {"idempotency_key": " "},
        {"recipient_id": ""},
    ],
)
def test_bad_inputs_are_refused_before_any_call(
    client: FlutterwaveTransfers, router: respx.Router, changes: dict[str, Any]
) -> None:
    route = router.post("/transfers").mock(return_value=raw("transfer_create.json", 201))
    with pytest.raises(InvalidInput):
        create(client, **changes)
    assert route.call_count == 0


def test_a_bad_account_number_is_refused_without_repeating_it(
    client: FlutterwaveTransfers,
) -> None:
    with pytest.raises(InvalidInput) as err:
        client.resolve_account("044", "06900-00040")
    assert "06900" not in str(err.value)


def test_the_repr_shows_the_url_and_nothing_secret(client: FlutterwaveTransfers) -> None:
    assert repr(client) == (
        "FlutterwaveTransfers(base_url='https://flutterwave.test', timeout=5.0, max_retries=2)"
    )
    assert TOKEN not in repr(client)


def test_each_attempt_logs_one_key_value_line_without_secrets_or_accounts(
    client: FlutterwaveTransfers, router: respx.Router, caplog: pytest.LogCaptureFixture
) -> None:
    router.post("/banks/account-resolve").mock(return_value=raw("account_resolve.json"))
    router.post("/transfers").mock(
        side_effect=[raw("error_unauthorized.json", 401), raw("transfer_create.json", 201)]
    )
    caplog.set_level(logging.DEBUG, logger="ledger.providers.flutterwave")
    client.resolve_account("044", ACCOUNT)
    create(client)
    # Only this client's records: another test may have left the root logger chattier.
    lines = [
        r.getMessage() for r in caplog.records if r.name.startswith("ledger.providers.flutterwave")
    ]
    assert lines[0].startswith(
        "provider=flutterwave call=resolve_account method=POST path=/banks/account-resolve"
    )
    assert "call=create_transfer status=401 token=rejected action=replace" in lines[2]
    assert lines[-1].startswith("provider=flutterwave call=create_transfer method=POST")
    assert all(len(part.split("=")) == 2 for line in lines for part in line.split())
    text = caplog.text
    for secret in (ACCOUNT, TOKEN, NEW_TOKEN, KEY):
        assert secret not in text
