"""Paystack's list calls, ``GET /refund`` and ``GET /transaction``: what the client asks
(filters, window, paging), how it reads a page and its ``meta``, the classes of a bad answer
(docs/providers.md, "Listing"), and the iterators that page through a whole list holding one
page at a time.
"""

import copy
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
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
)
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import Outcome, ProviderPage, RefundStatus, iter_pages

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "paystack"
BASE = "https://paystack.test"
SECRET = "sk_test_lists_0123456789abcdef"
REF = "vyb_req_7f3a9c21"
FROM = datetime(2026, 11, 27, tzinfo=UTC)
TO = datetime(2026, 11, 29, tzinfo=UTC)


def body(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


def page_of(name: str, *, page: int = 1, page_count: int = 1, **meta: Any) -> httpx.Response:
    answer = body(name)
    answer["meta"].update({"page": page, "pageCount": page_count, **meta})
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


def query(route: respx.Route) -> dict[str, str]:
    return dict(route.calls.last.request.url.params)


# -- GET /refund -----------------------------------------------------------------------------


def test_listing_refunds_sends_the_filters_and_reads_items_and_meta(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.get("/refund").mock(
        return_value=httpx.Response(200, json=body("refund_list.json"))
    )
    lagos = timezone(timedelta(hours=1))

    page = client.list_refunds(
        reference=REF,
        currency="ngn",
        from_=datetime(2026, 11, 27, 1, 0, tzinfo=lagos),
        to=TO,
        per_page=50,
    )

    assert query(route) == {
        "reference": REF,
        "currency": "NGN",
        "from": "2026-11-27T00:00:00.000Z",
        "to": "2026-11-29T00:00:00.000Z",
        "page": "1",
        "perPage": "50",
    }
    assert (page.total, page.page, page.page_count, page.per_page) == (2, 1, 1, 50)
    assert page.is_last
    newest, oldest = page.items
    assert (newest.provider_refund_id, newest.status, newest.amount) == (
        "3018291",
        RefundStatus.PENDING,
        100000,
    )
    assert (oldest.status, oldest.deducted_amount, oldest.fully_deducted) == (
        RefundStatus.PROCESSED,
        200000,
        True,
    )
    assert oldest.merchant_note == "rf_0b8f6f0e2f4b4f1e9a573f0d6c1d2e11_1"
    assert oldest.transaction_reference == REF
    assert oldest.transaction_id == "4099260516"
    assert oldest.created_at == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_an_unfiltered_list_sends_only_the_paging(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.get("/refund").mock(
        return_value=page_of("refund_list.json", page=3, page_count=4)
    )
    page = client.list_refunds(page=3, per_page=20)
    assert query(route) == {"page": "3", "perPage": "20"}
    assert not page.is_last


def test_an_empty_list_is_a_last_page_without_items(
    router: respx.Router, client: PaystackClient
) -> None:
    empty = {
        "status": True,
        "message": "Refunds retrieved",
        "data": [],
        "meta": {"total": 0, "skipped": 0, "perPage": 50, "page": 1, "pageCount": 0},
    }
    router.get("/refund").mock(return_value=httpx.Response(200, json=empty))
    page = client.list_refunds(reference=REF)
    assert page.items == ()
    assert page.is_last


def mutate(name: str, change: Any) -> httpx.Response:
    answer = copy.deepcopy(body(name))
    change(answer)
    return httpx.Response(200, json=answer)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (mutate("refund_list.json", lambda a: a.pop("meta")), "meta: missing"),
        (mutate("refund_list.json", lambda a: a["meta"].pop("pageCount")), r"meta\.pageCount"),
        (mutate("refund_list.json", lambda a: a["meta"].update(total="2")), r"meta\.total"),
        (mutate("refund_list.json", lambda a: a["meta"].update(page=2)), "page 2 where 1"),
        (mutate("refund_list.json", lambda a: a.update(data={})), "data: not a list"),
        (mutate("refund_list.json", lambda a: a["data"][1].pop("amount")), r"data\[1\]\.amount"),
        (
            mutate("refund_list.json", lambda a: a["data"][0].update(status="refunded")),
            r"data\[0\]\.status: unknown refund status",
        ),
        (
            mutate("refund_list.json", lambda a: a["data"][1].update(transaction_reference="x")),
            r"data\[1\]\.transaction_reference: another reference",
        ),
        (
            mutate("refund_list.json", lambda a: a["data"][0].update(currency="GHS")),
            r"data\[0\]\.currency: another currency",
        ),
        (httpx.Response(200, json={"status": False, "message": "no"}), "status false: no"),
        (httpx.Response(400, json={"status": False, "message": "Invalid date"}), "Invalid date"),
    ],
    ids=[
        "no-meta",
        "no-pagecount",
        "total-string",
        "another-page",
        "data-object",
        "item-schema",
        "item-status",
        "another-reference",
        "another-currency",
        "status-false",
        "400",
    ],
)
def test_a_list_answer_that_cannot_be_trusted_is_invalid_never_a_shorter_list(
    router: respx.Router, client: PaystackClient, answer: httpx.Response, reason: str
) -> None:
    router.get("/refund").mock(return_value=answer)
    with pytest.raises(ProviderAnswerInvalid, match=reason):
        client.list_refunds(reference=REF, currency="NGN")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, json={"status": False, "message": "Entity not found"}),
        httpx.Response(404, text="<html>404</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(401, json={"status": False, "message": "Invalid key"}),
        httpx.Response(200, text="{", headers={"Content-Type": "application/json"}),
    ],
    ids=["json-404", "html-404", "401", "malformed"],
)
def test_a_list_that_is_not_found_or_not_json_is_misconfigured_never_empty(
    router: respx.Router, client: PaystackClient, answer: httpx.Response
) -> None:
    router.get("/refund").mock(return_value=answer)
    with pytest.raises(ProviderMisconfigured):
        client.list_refunds(reference=REF)


def test_a_list_is_retried_when_paystack_is_unreachable_and_then_gives_up(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.get("/refund").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderUnavailable, match="failed 3 times"):
        client.list_refunds()
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"page": 0}, "starts at 1"),
        ({"per_page": 0}, "1 to 100"),
        ({"per_page": 101}, "1 to 100"),
        ({"from_": datetime(2026, 11, 27)}, "with a time zone"),
        ({"from_": TO, "to": FROM}, "from > to"),
        ({"currency": "N"}, "three-letter"),
        ({"reference": ""}, "reference is required"),
    ],
)
def test_bad_list_arguments_are_refused_before_sending(
    router: respx.Router, client: PaystackClient, kw: dict[str, Any], message: str
) -> None:
    route = router.get("/refund").mock(
        return_value=httpx.Response(200, json=body("refund_list.json"))
    )
    with pytest.raises(InvalidInput, match=message):
        client.list_refunds(**kw)
    assert route.call_count == 0


# -- GET /transaction ------------------------------------------------------------------------


def test_listing_transactions_reads_each_as_verify_would(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.get("/transaction").mock(
        return_value=httpx.Response(200, json=body("transaction_list.json"))
    )

    page = client.list_transactions(from_=FROM, to=TO, per_page=100)

    assert query(route) == {
        "from": "2026-11-27T00:00:00.000Z",
        "to": "2026-11-29T00:00:00.000Z",
        "page": "1",
        "perPage": "100",
    }
    fees, reversed_, abandoned = page.items
    assert (fees.status, fees.amount, fees.requested_amount, fees.currency) == (
        "success",
        40333,
        30050,
        "NGN",
    )
    assert fees.paid_at == datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)
    assert fees.created_at == datetime(2026, 11, 28, 9, 14, 24, tzinfo=UTC)
    assert fees.verification.outcome is Outcome.SUCCESS
    assert (reversed_.reference, reversed_.status) == (REF, "reversed")
    assert reversed_.verification.outcome is Outcome.FAILED
    assert (abandoned.status, abandoned.paid_at) == ("abandoned", None)
    assert abandoned.provider_transaction_id == "4099260519"
    assert (page.total, page.page_count) == (3, 1)


def test_a_status_filter_is_sent_and_an_item_outside_it_makes_the_page_invalid(
    router: respx.Router, client: PaystackClient
) -> None:
    route = router.get("/transaction").mock(
        return_value=httpx.Response(200, json=body("transaction_list.json"))
    )
    with pytest.raises(ProviderAnswerInvalid, match=r"data\[1\]\.status: another status"):
        client.list_transactions(from_=FROM, to=TO, status="success")
    assert query(route)["status"] == "success"


def test_an_unknown_status_filter_is_refused(client: PaystackClient) -> None:
    with pytest.raises(InvalidInput, match="unknown Paystack transaction status"):
        client.list_transactions(from_=FROM, to=TO, status="settled")


def test_an_invalid_transaction_item_is_named_by_its_index(
    router: respx.Router, client: PaystackClient
) -> None:
    answer = body("transaction_list.json")
    answer["data"][2]["amount"] = "250000"
    router.get("/transaction").mock(return_value=httpx.Response(200, json=answer))
    with pytest.raises(ProviderAnswerInvalid, match=r"data\[2\]\.amount"):
        client.list_transactions(from_=FROM, to=TO)


# -- paging through a whole list ---------------------------------------------------------------


def test_iterating_pages_through_until_the_page_meta_calls_the_last(
    router: respx.Router, client: PaystackClient
) -> None:
    pages = {n: page_of("transaction_list.json", page=n, page_count=3) for n in (1, 2, 3)}
    route = router.get("/transaction").mock(
        side_effect=lambda request: pages[int(request.url.params["page"])]
    )

    items = client.iter_transactions(from_=FROM, to=TO, per_page=3)
    first = next(items)
    assert route.call_count == 1  # lazily: one page asked for at a time
    rest = list(items)

    assert len([first, *rest]) == 9
    assert [int(c.request.url.params["page"]) for c in route.calls] == [1, 2, 3]


def test_iterating_refunds_stops_at_an_empty_page_whatever_meta_says(
    router: respx.Router, client: PaystackClient
) -> None:
    empty = body("refund_list.json")
    empty["data"] = []
    empty["meta"].update(page=2, pageCount=9)
    route = router.get("/refund").mock(
        side_effect=[page_of("refund_list.json", page_count=9), httpx.Response(200, json=empty)]
    )
    assert len(list(client.iter_refunds(reference=REF))) == 2
    assert route.call_count == 2


def test_a_list_that_never_ends_is_an_error_not_an_endless_loop() -> None:
    asked: list[int] = []

    def fetch(number: int) -> ProviderPage[int]:
        asked.append(number)
        return ProviderPage((number,), total=10**9, page=number, page_count=10**9, per_page=1)

    with pytest.raises(ProviderError, match="did not end within 5 pages"):
        list(iter_pages(fetch, max_pages=5))
    assert asked == [1, 2, 3, 4, 5]


def test_a_failure_mid_way_stops_the_iteration_with_that_class(
    router: respx.Router, client: PaystackClient
) -> None:
    router.get("/refund").mock(
        side_effect=[
            page_of("refund_list.json", page_count=2),
            httpx.Response(401, json={"status": False, "message": "Invalid key"}),
        ]
    )
    items = client.iter_refunds()
    assert len([next(items), next(items)]) == 2
    with pytest.raises(ProviderMisconfigured):
        next(items)


def test_a_list_call_logs_its_path_never_its_filters(
    router: respx.Router, client: PaystackClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ledger.providers.paystack")
    router.get("/refund").mock(return_value=httpx.Response(200, json=body("refund_list.json")))

    client.list_refunds(reference=REF, currency="NGN", from_=FROM, to=TO)

    # Only the client's records: another test may have left the root logger chattier (and
    # httpx's own request lines are the process's logging set-up to silence, not the client's).
    (line,) = [
        r.getMessage() for r in caplog.records if r.name.startswith("ledger.providers.paystack")
    ]
    assert "call=list_refunds method=GET path=/refund attempt=1/3 status=200" in line
    assert REF not in line
    assert "perPage" not in line
    assert SECRET not in caplog.text
