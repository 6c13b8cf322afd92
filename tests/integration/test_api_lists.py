"""Finding things over HTTP: ``GET /transactions`` and ``GET /requests`` with their filters and
Stripe-style paging, ids as prefixes or references in every path, and the token's principal
recorded on a decline, on SQLite and PostgreSQL."""

from datetime import timedelta
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.clock import FixedClock
from tests.api_support import Api, head
from tests.finding_support import seed_payments, twin_ids
from tests.integration.test_api_commands import is_error


def ledger_of(api: Api) -> Ledger:
    ledger = api.app.state.runtime.services().ledger
    assert isinstance(ledger, Ledger)
    return ledger


def ids_of(body: dict[str, Any]) -> list[str]:
    return [row["id"] for row in body["data"]]


def test_transactions_are_found_by_reference_age_status_and_user(
    api: Api, clock: FixedClock
) -> None:
    seeded = seed_payments(ledger_of(api), clock, 6, held=2)
    clock.advance(timedelta(hours=30))
    ledger = ledger_of(api)
    ledger.register_user("fan-9", "fan")
    young = str(
        ledger.record_payment(ledger.create_request("fan-9", "star-1", 7, "NGN").id, "y").id
    )

    body = api.ok("GET", "/transactions?reference=find-3")
    assert (body["object"], body["url"], body["has_more"]) == ("list", "/transactions", False)
    assert ids_of(body) == [seeded.payments[3]]
    old = api.ok("GET", "/transactions?older_than=24h&escrow_status=pending&limit=100")
    assert set(ids_of(old)) == set(seeded.payments)
    held = api.ok("GET", "/transactions?status=completed&currency=ngn")
    assert set(ids_of(held)) == set(seeded.payments[:2])
    assert ids_of(api.ok("GET", "/transactions?fan=fan-9")) == [young]
    assert ids_of(api.ok("GET", "/transactions?flagged=true")) == []
    first = api.ok("GET", "/transactions?limit=2")
    assert first["has_more"] is True
    newest = seeded.payments_in_order()[0]
    assert ids_of(first) == [young, newest]
    row = first["data"][1]
    i = seeded.payments.index(newest)
    assert (row["amount"], row["currency"], row["reference"], row["celebrity"]) == (
        1000 + i,
        "NGN",
        f"find-{i}",
        "star-1",
    )


def test_requests_are_listed_with_their_payment(api: Api, clock: FixedClock) -> None:
    seeded = seed_payments(ledger_of(api), clock, 4, held=1)
    body = api.ok("GET", "/requests?status=IN_PROGRESS")
    assert (body["url"], ids_of(body)) == ("/requests", [seeded.requests[0]])
    assert body["data"][0]["reference"] == "find-0"
    oldest = api.ok("GET", "/requests?oldest_first=true&fan=fan-1")
    mine = {seeded.requests[0], seeded.requests[2]}
    assert ids_of(oldest) == [r for r in seeded.requests_in_order(oldest_first=True) if r in mine]
    assert ids_of(api.ok("GET", "/requests?reference=find-3")) == [seeded.requests[3]]


@pytest.mark.parametrize(("oldest_first", "count"), [(False, 1000), (True, 400)])
def test_paging_1000_transactions_with_starting_after_returns_each_exactly_once(
    api: Api, clock: FixedClock, oldest_first: bool, count: int
) -> None:
    ledger = ledger_of(api)
    seeded = seed_payments(ledger, clock, count)
    seen: list[str] = []
    added: list[str] = []
    url = f"/transactions?limit=100&oldest_first={str(oldest_first).lower()}"
    body = api.ok("GET", url)
    while True:
        seen.extend(ids_of(body))
        if len(seen) == 200:  # a payment recorded mid-way is the newest one
            clock.advance(timedelta(hours=1))
            rid = ledger.create_request("fan-1", "star-1", 5, "NGN").id
            added.append(str(ledger.record_payment(rid, "late-1").id))
        if not body["has_more"]:
            break
        last = body["data"][-1]
        cursor = last["reference"] if len(seen) == 300 else last["id"]  # a reference works too
        body = api.ok("GET", f"{url}&starting_after={cursor}")
    expected = seeded.payments_in_order(oldest_first=oldest_first)
    assert seen == (expected + added if oldest_first else expected)
    assert len(set(seen)) == len(seen) == count + len(added) * oldest_first


def test_bad_list_parameters_are_422_with_one_line(api: Api, clock: FixedClock) -> None:
    seed_payments(ledger_of(api), clock, 2)
    for query, code in [
        ("status=paid", "invalid_request"),
        ("limit=101", "invalid_request"),
        ("older_than=24", "invalid_input"),
        ("older_than=1h&until=2h", "invalid_input"),
        ("since=yesterday", "invalid_input"),
        ("starting_after=00000000", "not_found"),
        ("sort=asc", "invalid_request"),
    ]:
        status = 404 if code == "not_found" else 422
        is_error(api.get(f"/transactions?{query}"), status, code)
    assert api.get("/transactions", token=None).status_code == 401


def test_every_id_in_a_path_takes_a_prefix_or_a_reference(api: Api, clock: FixedClock) -> None:
    seeded = seed_payments(ledger_of(api), clock, 2, held=1)
    rid, tid = seeded.requests[0], seeded.payments[0]
    assert api.ok("GET", f"/requests/{rid[:8]}")["id"] == rid
    assert api.ok("GET", f"/transactions/{tid[:8]}")["id"] == tid
    assert api.ok("GET", "/transactions/find-0")["id"] == tid
    assert api.ok("GET", f"/audit/{tid[:8]}/history")["id"] == tid
    assert api.ok("GET", "/audit/star-1/history?as_of=1h")["type"] == "User"
    assert api.ok("POST", f"/requests/{rid[:8]}/complete")["changed"] is True


def test_an_ambiguous_prefix_in_a_path_is_422_naming_the_matches(
    api: Api, clock: FixedClock
) -> None:
    ledger = ledger_of(api)
    seed_payments(ledger, clock, 1)
    one, two = twin_ids("abcdef01")
    for rid in (one, two):
        ledger.create_request("fan-1", "star-1", 500, "NGN", rid)
    before = head(api)
    body = is_error(api.post("/requests/abcdef01/complete"), 422, "invalid_input")
    assert str(one) in body["message"]
    assert str(two) in body["message"]
    assert head(api) == before


def test_a_decline_through_the_api_records_the_tokens_principal(
    api: Api, clock: FixedClock
) -> None:
    seeded = seed_payments(ledger_of(api), clock, 1)
    rid = seeded.requests[0]
    api.ok("POST", f"/requests/{rid[:8]}/decline", json={"reason": "on holiday"})
    events = api.ok("GET", f"/audit/{rid}/history")["events"]
    declined = events[-1]
    assert declined["event"] == "RequestDeclined"
    assert declined["reason"] == "celebrity_declined"
    assert declined["note"] == "on holiday"
    assert declined["operator"].startswith("token-")


def test_choices_currencies_and_times_take_any_case_and_durations(
    api: Api, clock: FixedClock
) -> None:
    seed_payments(ledger_of(api), clock, 2, held=1)
    assert api.post("/users", json={"user_id": "fan-7", "role": "FAN"}).status_code == 201
    api.ok("POST", "/wallets", json={"user_id": "star-1", "currency": "ngn"})
    held = api.ok("GET", "/reports/payments?status=completed&currency=ngn&since=7d")
    assert len(held["items"]) == 1
    assert api.ok("GET", "/reports/escrow?status=in_progress&until=1h")["items"] == []
    assert api.ok("GET", "/reports/payments?oldest_first=true&escrow_status=Pending")["items"]
    api.ok("GET", "/webhooks/deliveries?outcome=APPLIED&oldest_first=true")
    is_error(api.get("/reports/payments?since=2026-01-05T10:00:00"), 422, "invalid_input")
