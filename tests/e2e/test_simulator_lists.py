"""The simulator's list endpoints, read through the real ``PaystackClient`` over loopback:
``GET /transaction`` over a few hundred planted transactions (windows, status, paging, every
page exactly once), transactions the ledger never saw, a reversal, and ``GET /refund``
filtered by payment, currency and time and paged like Paystack's."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ledger.errors import ProviderMisconfigured
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import Outcome, RefundStatus
from ledger.simulator.paystack import PaystackSimulator
from tests.e2e.sim_support import control

SECRET = "sk_test_sim_lists_77"
DAY = datetime(2026, 11, 27, tzinfo=UTC)
STATUSES = ("success", "success", "success", "failed", "abandoned", "reversed")


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def sim() -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET) as simulator:
        simulator.script({"refund_step_ms": 0})
        yield simulator


@pytest.fixture
def client(sim: PaystackSimulator) -> Iterator[PaystackClient]:
    with PaystackClient(
        SECRET,
        base_url=sim.url,
        timeout=5.0,
        retry=RetryPolicy(max_retries=1, base_delay=0.001, max_delay=0.001),
    ) as made:
        yield made


def planted(index: int) -> dict[str, Any]:
    """Transaction ``index`` of 300: ten minutes apart over about two days."""
    created = DAY + timedelta(minutes=10 * index)
    return {
        "reference": f"ext_{index:04d}",
        "amount": 10_000 + index,
        "currency": "GHS" if index % 50 == 0 else "NGN",
        "status": STATUSES[index % len(STATUSES)],
        "created_at": iso(created),
        "paid_at": iso(created + timedelta(seconds=40)),
        "email": f"fan{index}@x.test",
    }


@pytest.fixture
def three_hundred(sim: PaystackSimulator) -> list[dict[str, Any]]:
    entries = [planted(i) for i in range(300)]
    answer = control(sim.url, "transactions", {"transactions": entries})
    assert answer.status_code == 200
    assert len(answer.json()["planted"]) == 300
    return entries


def test_paging_through_a_window_returns_each_transaction_once_newest_first(
    client: PaystackClient, three_hundred: list[dict[str, Any]]
) -> None:
    start, end = DAY + timedelta(hours=6), DAY + timedelta(hours=30)
    expected = [
        t["reference"]
        for t in three_hundred
        if start <= datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) <= end
    ]

    first = client.list_transactions(from_=start, to=end, per_page=37)
    seen = [t.reference for t in client.iter_transactions(from_=start, to=end, per_page=37)]

    assert (first.total, first.page_count, first.per_page) == (145, 4, 37)
    assert len(first.items) == 37
    assert seen == list(reversed(expected))
    assert len(set(seen)) == len(seen) == 145


def test_a_status_filter_lists_only_that_status_and_reads_each_as_verify_would(
    client: PaystackClient, three_hundred: list[dict[str, Any]]
) -> None:
    end = DAY + timedelta(days=3)
    failed = list(client.iter_transactions(from_=DAY, to=end, status="failed", per_page=100))
    successes = list(client.iter_transactions(from_=DAY, to=end, status="success", per_page=100))

    assert len(failed) == 50
    assert {t.verification.outcome for t in failed} == {Outcome.FAILED}
    assert len(successes) == 150
    sample = next(t for t in successes if t.reference == "ext_0150")
    assert (sample.amount, sample.currency, sample.requested_amount) == (10_150, "GHS", 10_150)
    assert sample.paid_at == DAY + timedelta(minutes=1500, seconds=40)
    assert sample.created_at == DAY + timedelta(minutes=1500)
    assert sample.verification.outcome is Outcome.SUCCESS


def test_a_window_with_nothing_in_it_is_an_empty_last_page(
    client: PaystackClient, three_hundred: list[dict[str, Any]]
) -> None:
    before = DAY - timedelta(days=10)
    page = client.list_transactions(from_=before, to=before + timedelta(days=1))
    assert (page.items, page.total, page.is_last) == ((), 0, True)


def test_a_planted_transaction_verifies_and_a_reversed_one_says_reversed_everywhere(
    sim: PaystackSimulator, client: PaystackClient, three_hundred: list[dict[str, Any]]
) -> None:
    assert client.verify("ext_0007").provider_status == "success"
    assert control(sim.url, "transactions/reverse", {"reference": "ext_0007"}).is_success

    assert client.verify("ext_0007").provider_status == "reversed"
    window = {"from_": DAY, "to": DAY + timedelta(hours=2)}
    listed = {t.reference: t.status for t in client.iter_transactions(**window)}
    assert listed["ext_0007"] == "reversed"
    reversed_only = client.list_transactions(status="reversed", **window)
    assert "ext_0007" in {t.reference for t in reversed_only.items}
    unknown = control(sim.url, "transactions/reverse", {"reference": "nope"})
    assert unknown.status_code == 404


def test_planting_refuses_a_known_reference_or_a_bad_entry_and_plants_nothing(
    sim: PaystackSimulator, three_hundred: list[dict[str, Any]]
) -> None:
    again = control(sim.url, "transactions", {"transactions": [planted(1), planted(999)]})
    assert again.status_code == 400
    bad = control(sim.url, "transactions", {"transactions": [{"amount": 1}]})
    assert bad.status_code == 400
    twice = control(sim.url, "transactions", {"transactions": [planted(500), planted(500)]})
    assert twice.status_code == 400
    dated = control(
        sim.url,
        "transactions",
        {"transactions": [{"reference": "d", "amount": 1, "created_at": "yesterday"}]},
    )
    assert dated.status_code == 400
    assert len(sim.state.snapshot()["transactions"]) == 300


def test_refunds_list_filtered_by_payment_currency_and_time_and_paged(
    client: PaystackClient, three_hundred: list[dict[str, Any]]
) -> None:
    successes = [t for t in three_hundred if t["status"] == "success"]
    for entry in successes[:120]:
        half = entry["amount"] // 2
        client.refund(reference=entry["reference"], amount=half, merchant_note="rf_a")
        client.refund(reference=entry["reference"], amount=entry["amount"] - half)

    everything = client.list_refunds(per_page=50)
    assert (everything.total, everything.page_count) == (240, 5)
    ids = [r.provider_refund_id for r in client.iter_refunds(per_page=50)]
    assert len(ids) == len(set(ids)) == 240
    assert ids == sorted(ids, reverse=True)  # newest first

    mine = client.list_refunds(reference="ext_0001")
    assert [r.amount for r in mine.items] == [5_001, 5_000]
    assert {r.transaction_reference for r in mine.items} == {"ext_0001"}
    cedis = list(client.iter_refunds(currency="GHS"))
    ghs = {t["reference"] for t in successes[:120] if t["currency"] == "GHS"}
    assert len(ghs) == 4
    assert {r.transaction_reference for r in cedis} == ghs
    assert len(cedis) == 8
    made = mine.items[0].created_at
    assert made is not None
    around = client.list_refunds(from_=made - timedelta(hours=1), to=made + timedelta(hours=1))
    assert around.total == 240
    assert client.list_refunds(to=made - timedelta(days=1)).total == 0
    assert client.list_refunds(from_=made + timedelta(days=1)).total == 0


def test_a_refund_unknown_to_paystack_is_none_and_a_known_one_settles(
    client: PaystackClient, three_hundred: list[dict[str, Any]]
) -> None:
    assert client.get_refund("999999") is None
    made = client.refund(reference="ext_0002", amount=100)
    found = client.get_refund(made.provider_refund_id)
    assert found is not None
    assert found.transaction_reference == "ext_0002"
    assert found.status in tuple(RefundStatus)


@pytest.mark.parametrize(
    "query",
    ["page=0", "perPage=x", "from=yesterday", "to=2026-13-01"],
)
def test_a_list_query_paystack_cannot_read_is_refused_400(
    sim: PaystackSimulator, query: str
) -> None:
    for path in ("/refund", "/transaction"):
        answer = httpx.get(
            f"{sim.url}{path}?{query}", headers={"Authorization": f"Bearer {SECRET}"}
        )
        assert answer.status_code == 400
        assert answer.json()["status"] is False


def test_a_global_fault_can_wait_for_a_list_call(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    sim.script({"faults": [{"malformed": True, "on": "list_transactions"}]})
    window = {"from_": DAY, "to": DAY + timedelta(days=1)}

    assert client.list_refunds().total == 0  # not the call the fault waits for
    with pytest.raises(ProviderMisconfigured):
        client.list_transactions(**window)
    assert client.list_transactions(**window).total == 0  # used up
