"""Refunds at the Paystack simulator, asked through the real ``PaystackClient`` over loopback:
partial refunds up to the payment and Paystack's refusals past it, each refund's life told by
signed webhooks in Paystack's published shapes, refunds held, delayed, failed or needing
attention, a refund made in the dashboard, and the answer lost after the refund was made."""

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ledger.errors import ProviderUnavailable, RefundRefused
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import Outcome, RefundStatus
from ledger.providers.webhooks import verify_signature
from ledger.simulator.paystack import PaystackSimulator
from tests.e2e.sim_support import Receiver, control, wait_until, webhook_receiver

SECRET = "sk_test_sim_refunds_4242"
PAID = 500_000


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as made:
        yield made


@pytest.fixture
def sim(receiver: Receiver) -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET, webhook_url=receiver.url) as simulator:
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


def paid(client: PaystackClient, reference: str, amount: int = PAID, currency: str = "NGN") -> None:
    client.initialize(reference=reference, amount=amount, currency=currency, email="fan@x.test")


def refused(client: PaystackClient, reference: str, **kw: Any) -> RefundRefused:
    with pytest.raises(RefundRefused) as raised:
        client.refund(reference=reference, **kw)
    return raised.value


def settled(client: PaystackClient, refund_id: str) -> RefundStatus:
    """The refund's status once the simulator's lifecycle has left it where it stops."""
    wait_until(
        lambda: (
            (found := client.get_refund(refund_id)) is not None
            and found.status
            in (RefundStatus.PROCESSED, RefundStatus.FAILED, RefundStatus.NEEDS_ATTENTION)
        ),
        what=f"refund {refund_id} to settle",
    )
    answer = client.get_refund(refund_id)
    assert answer is not None
    return answer.status


# -- opening refunds, and Paystack's refusals ---------------------------------------------------


def test_partial_refunds_add_up_to_the_payment_and_then_paystack_refuses(
    client: PaystackClient,
) -> None:
    paid(client, "r-part")
    parts = [client.refund(reference="r-part", amount=a) for a in (200_000, 200_000, 100_000)]

    assert [p.status for p in parts] == [RefundStatus.PENDING] * 3
    assert len({p.provider_refund_id for p in parts}) == 3
    assert all(p.transaction_reference == "r-part" for p in parts)
    refusal = refused(client, "r-part", amount=1)
    assert (refusal.http_status, refusal.code) == (400, "transaction_reversed")
    assert refusal.provider_message == "Transaction has been fully reversed"
    assert sum(r.amount for r in client.iter_refunds(reference="r-part")) == PAID


def test_a_refund_above_the_payment_or_what_is_left_is_refused_and_creates_nothing(
    client: PaystackClient,
) -> None:
    paid(client, "r-over")
    assert refused(client, "r-over", amount=PAID + 1).code == "invalid_params"
    client.refund(reference="r-over", amount=300_000)
    left = refused(client, "r-over", amount=200_001)
    assert "200000 left to refund" in left.provider_message
    assert client.list_refunds(reference="r-over").total == 1
    assert client.refund(reference="r-over", amount=200_000).amount == 200_000


def test_refunds_of_unknown_unpaid_or_other_currency_payments_are_refused(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    assert refused(client, "never-seen", amount=1).code == "transaction_not_found"
    paid(client, "r-failed")
    sim.script({"references": {"r-failed": {"status": "failed"}}})
    assert "Only successful" in refused(client, "r-failed", amount=1).provider_message
    paid(client, "r-cedis", currency="GHS")
    assert "currency" in refused(client, "r-cedis", amount=1, currency="NGN").provider_message
    sim.script({"references": {"r-cedis": {"refund": {"refuse": "Refunds are disabled"}}}})
    assert refused(client, "r-cedis", amount=1).provider_message == "Refunds are disabled"
    with sim.state.lock:
        assert sim.state.refunds == {}


def test_a_refund_of_the_whole_payment_by_default_and_by_its_numeric_id(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    paid(client, "r-id")
    with sim.state.lock:
        txn_id = sim.state.transactions["r-id"]["id"]
    answer = httpx.post(
        f"{sim.url}/refund",
        json={"transaction": str(txn_id)},
        headers={"Authorization": f"Bearer {SECRET}"},
    ).json()
    assert answer["data"]["amount"] == PAID
    assert answer["data"]["transaction"]["reference"] == "r-id"


def test_concurrent_partial_refunds_never_add_up_to_more_than_the_payment(
    sim: PaystackSimulator,
) -> None:
    with PaystackClient(SECRET, base_url=sim.url, timeout=10.0) as setup:
        paid(setup, "r-race", amount=1_000)
    outcomes: list[str] = []

    def one() -> None:
        with PaystackClient(SECRET, base_url=sim.url, timeout=10.0) as own:
            try:
                own.refund(reference="r-race", amount=100)
                outcomes.append("accepted")
            except RefundRefused:
                outcomes.append("refused")
            except ProviderUnavailable:  # a loaded machine: the outcome is unknown to us
                outcomes.append("unknown")

    threads = [threading.Thread(target=one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 16
    with sim.state.lock:
        made = [r for r in sim.state.refunds.values() if r["transaction_reference"] == "r-race"]
    assert sum(r["amount"] for r in made) == 100 * len(made) <= 1_000
    assert outcomes.count("accepted") <= len(made)
    if "unknown" not in outcomes:
        assert sorted(outcomes) == ["accepted"] * 10 + ["refused"] * 6


# -- each refund's life, told by signed webhooks ------------------------------------------------


def test_a_refund_lives_pending_processing_processed_in_signed_real_shaped_webhooks(
    receiver: Receiver, client: PaystackClient
) -> None:
    paid(client, "r-life")
    answer = client.refund(reference="r-life", amount=PAID, merchant_note="rf_life_1")

    assert receiver.wait_for(3, "r-life") == [
        "refund.pending",
        "refund.processing",
        "refund.processed",
    ]
    for delivery in receiver.of("r-life"):
        assert verify_signature(delivery.raw, delivery.signature, SECRET)
        data = delivery.body["data"]
        assert data["transaction_reference"] == "r-life"
        assert "reference" not in data
        assert data["amount"] == str(PAID)  # a string in these three events
        assert (data["currency"], data["status"]) == ("NGN", delivery.event.split(".")[1])
        assert data["customer"]["email"] == "fan@x.test"
        assert (data["integration"], data["domain"]) == (463433, "test")
        assert data["processor"]
    pending, processing, processed = (d.body["data"] for d in receiver.of("r-life"))
    assert pending["refund_reference"] is None
    assert processing["refund_reference"] is None
    assert processed["refund_reference"] not in (None, answer.provider_refund_id)
    assert len(processed["refund_reference"]) == 12

    assert settled(client, answer.provider_refund_id) is RefundStatus.PROCESSED
    fetched = client.get_refund(answer.provider_refund_id)
    assert fetched is not None
    assert (fetched.merchant_note, fetched.deducted_amount, fetched.fully_deducted) == (
        "rf_life_1",
        PAID,
        True,
    )
    assert fetched.refunded_at is not None
    verification = client.verify("r-life")
    assert (verification.outcome, verification.provider_status) == (Outcome.FAILED, "reversed")
    assert refused(client, "r-life", amount=1).code == "transaction_reversed"


def test_a_failed_refund_says_so_with_a_number_and_its_amount_can_be_refunded_again(
    sim: PaystackSimulator, receiver: Receiver, client: PaystackClient
) -> None:
    paid(client, "r-fail")
    sim.script({"references": {"r-fail": {"refund": {"outcome": "failed"}}}})
    first = client.refund(reference="r-fail", amount=PAID)

    assert receiver.wait_for(3, "r-fail")[-1] == "refund.failed"
    failed = receiver.of("r-fail")[-1].body["data"]
    assert failed["amount"] == PAID  # a number in refund.failed
    assert failed["refund_reference"].startswith("TRF_")
    assert failed["status"] == "failed"
    assert settled(client, first.provider_refund_id) is RefundStatus.FAILED
    assert client.verify("r-fail").provider_status == "success"

    sim.script({"references": {"r-fail": {"refund": {"outcome": "processed"}}}})
    again = client.refund(reference="r-fail", amount=PAID)
    assert again.provider_refund_id != first.provider_refund_id


def test_a_refund_that_needs_attention_waits_there_until_told_then_is_processed(
    sim: PaystackSimulator, receiver: Receiver, client: PaystackClient
) -> None:
    paid(client, "r-att")
    sim.script({"references": {"r-att": {"refund": {"outcome": "needs-attention"}}}})
    answer = client.refund(reference="r-att", amount=PAID, merchant_note="rf_att_1")

    assert receiver.wait_for(3, "r-att")[-1] == "refund.needs-attention"
    data = receiver.of("r-att")[-1].body["data"]
    assert data["amount"] == PAID
    assert data["id"] == answer.provider_refund_id  # the refund's id, as a string
    assert data["merchant_note"] == "rf_att_1"
    assert data["customer_note"] == "Refund for transaction r-att"
    assert "processor" not in data
    assert data["refund_reference"].startswith("TRF_")
    assert settled(client, answer.provider_refund_id) is RefundStatus.NEEDS_ATTENTION

    assert control(sim.url, "refunds/advance", {"id": answer.provider_refund_id}).is_success
    assert receiver.wait_for(5, "r-att")[-2:] == ["refund.processing", "refund.processed"]


def test_a_held_refund_stays_pending_until_told_and_can_be_sent_to_any_end(
    sim: PaystackSimulator, receiver: Receiver, client: PaystackClient
) -> None:
    paid(client, "r-hold")
    sim.script({"references": {"r-hold": {"refund": {"hold": True}}}})
    answer = client.refund(reference="r-hold", amount=PAID)
    assert receiver.wait_for(1, "r-hold") == ["refund.pending"]
    fetched = client.get_refund(answer.provider_refund_id)
    assert fetched is not None
    assert fetched.status is RefundStatus.PENDING

    moved = control(sim.url, "refunds/advance", {"reference": "r-hold", "to": "failed"})
    assert moved.json()["advanced"] == [int(answer.provider_refund_id)]
    assert receiver.wait_for(3, "r-hold") == [
        "refund.pending",
        "refund.processing",
        "refund.failed",
    ]
    done = control(sim.url, "refunds/advance", {"id": answer.provider_refund_id})
    assert done.json()["advanced"] == []  # a failed refund never moves again


def test_a_refund_delayed_for_an_hour_is_still_pending_and_an_advance_moves_it_now(
    sim: PaystackSimulator, receiver: Receiver, client: PaystackClient
) -> None:
    paid(client, "r-late")
    sim.script({"references": {"r-late": {"refund": {"delay": 3600}}}})
    answer = client.refund(reference="r-late", amount=PAID)
    assert receiver.wait_for(1, "r-late") == ["refund.pending"]
    fetched = client.get_refund(answer.provider_refund_id)
    assert fetched is not None
    assert fetched.status is RefundStatus.PENDING
    control(sim.url, "refunds/advance", {"id": answer.provider_refund_id, "to": "processing"})
    assert receiver.wait_for(2, "r-late") == ["refund.pending", "refund.processing"]


def test_without_a_webhook_url_the_events_are_recorded_as_undelivered(
    client: PaystackClient,
) -> None:
    with PaystackSimulator(SECRET) as quiet, PaystackClient(SECRET, base_url=quiet.url) as own:
        quiet.script({"refund_step_ms": 0})
        paid(own, "r-quiet")
        own.refund(reference="r-quiet", amount=PAID)
        wait_until(lambda: len(quiet.state.snapshot()["deliveries"]) == 3, what="3 events")
        deliveries = quiet.state.snapshot()["deliveries"]
    assert [d["event"] for d in deliveries] == [
        "refund.pending",
        "refund.processing",
        "refund.processed",
    ]
    assert {d["error"] for d in deliveries} == {"no webhook_url configured"}


# -- refunds nobody asked the ledger for --------------------------------------------------------


def test_a_dashboard_refund_sends_its_webhooks_and_leaves_only_the_rest_refundable(
    sim: PaystackSimulator, receiver: Receiver, client: PaystackClient
) -> None:
    paid(client, "r-dash")
    made = control(sim.url, "refunds", {"reference": "r-dash", "amount": 200_000})

    assert made.status_code == 200
    assert made.json()["data"]["refunded_by"] == "dashboard@merchant.test"
    assert receiver.wait_for(3, "r-dash")[-1] == "refund.processed"
    (listed,) = client.list_refunds(reference="r-dash").items
    assert (listed.amount, listed.status) == (200_000, RefundStatus.PROCESSED)
    assert listed.merchant_note == "Refund for r-dash by dashboard@merchant.test"
    assert "300000 left to refund" in refused(client, "r-dash", amount=300_001).provider_message
    assert client.refund(reference="r-dash", amount=300_000).amount == 300_000


def test_a_dashboard_refund_is_refused_as_paystack_refuses_and_can_be_scripted(
    sim: PaystackSimulator, receiver: Receiver, client: PaystackClient
) -> None:
    unknown = control(sim.url, "refunds", {"reference": "nobody"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "transaction_not_found")
    paid(client, "r-dash2")
    held = control(sim.url, "refunds", {"reference": "r-dash2", "refund": {"hold": True}})
    assert held.json()["data"]["amount"] == PAID
    assert receiver.wait_for(1, "r-dash2") == ["refund.pending"]
    bad = control(sim.url, "refunds", {"reference": "r-dash2", "refund": {"outcome": "lost"}})
    assert bad.status_code == 400


# -- the answer lost: accepted at Paystack, never heard by the client ---------------------------


def test_a_refund_accepted_then_dropped_is_an_unknown_outcome_that_paystack_can_answer(
    sim: PaystackSimulator, receiver: Receiver, client: PaystackClient
) -> None:
    paid(client, "r-drop")
    sim.script({"references": {"r-drop": {"faults": [{"drop": "after", "on": "refund"}]}}})

    with pytest.raises(ProviderUnavailable, match="the outcome is unknown"):
        client.refund(reference="r-drop", amount=PAID, merchant_note="rf_drop_1")

    refund_calls = [c for c in sim.state.snapshot()["calls"] if c["call"] == "refund"]
    assert len(refund_calls) == 1, "a refund whose outcome is unknown is never sent again"
    (found,) = client.list_refunds(reference="r-drop").items
    assert (found.merchant_note, found.amount) == ("rf_drop_1", PAID)
    assert receiver.wait_for(3, "r-drop")[-1] == "refund.processed"


def test_a_connection_dropped_before_paystack_acted_leaves_no_refund(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    paid(client, "r-lost")
    sim.script({"references": {"r-lost": {"faults": [{"drop": "before", "on": "refund"}]}}})

    with pytest.raises(ProviderUnavailable, match="the outcome is unknown"):
        client.refund(reference="r-lost", amount=PAID)

    assert client.list_refunds(reference="r-lost").items == ()
    assert client.verify("r-lost").provider_status == "success"  # the fault was used up


def test_a_slow_answer_times_the_client_out_after_the_refund_was_made(
    sim: PaystackSimulator,
) -> None:
    with PaystackClient(SECRET, base_url=sim.url, timeout=0.5) as impatient:
        paid(impatient, "r-slow")
        sim.script({"faults": [{"delay_answer": 3.0, "on": "refund"}]})
        with pytest.raises(ProviderUnavailable, match="ReadTimeout; the outcome is unknown"):
            impatient.refund(reference="r-slow", amount=PAID)
        assert impatient.list_refunds(reference="r-slow").total == 1


def test_a_scripted_webhook_can_carry_another_amount_for_mismatch_tests(
    sim: PaystackSimulator, receiver: Receiver, client: PaystackClient
) -> None:
    paid(client, "r-odd")
    sim.script({"references": {"r-odd": {"refund": {"hold": True}}}})
    answer = client.refund(reference="r-odd", amount=PAID)
    receiver.wait_for(1, "r-odd")
    sent = control(
        sim.url,
        "webhook",
        {
            "event": "refund.processed",
            "reference": "r-odd",
            "refund_id": int(answer.provider_refund_id),
            "data": {"amount": "250000"},
        },
    )
    assert sent.json()["delivered_status"] == 200
    data = receiver.of("r-odd")[-1].body["data"]
    assert (data["status"], data["amount"]) == ("processed", "250000")
    assert data["refund_reference"] not in (None, answer.provider_refund_id)


def test_a_reset_forgets_refunds_and_their_scheduled_steps(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    paid(client, "r-reset")
    sim.script({"references": {"r-reset": {"refund": {"delay": 3600}}}})
    client.refund(reference="r-reset", amount=PAID)
    assert control(sim.url, "reset", {}).is_success
    snapshot = sim.state.snapshot()
    assert (snapshot["refunds"], snapshot["transactions"]) == ([], {})
    assert client.list_refunds().total == 0
