"""The simulator's fault modes, each asked through the real ``PaystackClient`` over loopback, end
in the class docs/providers.md gives them: per reference or global, once or on every call."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from ledger.errors import ProviderAnswerInvalid, ProviderMisconfigured, ProviderUnavailable
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import Outcome, Verification
from ledger.simulator.paystack import PaystackSimulator

SECRET = "sk_test_sim_faults"
ASKED = 30050


@pytest.fixture
def sim() -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET) as simulator:
        yield simulator


@pytest.fixture
def client(sim: PaystackSimulator) -> Iterator[PaystackClient]:
    with PaystackClient(
        SECRET,
        base_url=sim.url,
        timeout=1.0,
        retry=RetryPolicy(max_retries=1, base_delay=0.001, max_delay=0.001),
    ) as made:
        yield made


def paid(client: PaystackClient, reference: str) -> None:
    client.initialize(reference=reference, amount=ASKED, currency="NGN", email="fan@example.com")


def outcome_of(client: PaystackClient, reference: str) -> Any:
    try:
        return client.verify(reference)
    except (ProviderMisconfigured, ProviderAnswerInvalid, ProviderUnavailable) as exc:
        return exc


FAULTS: dict[str, tuple[dict[str, Any], type[Exception]]] = {
    "401": ({"faults": [{"http": 401}]}, ProviderMisconfigured),
    "403": ({"faults": [{"http": 403}]}, ProviderMisconfigured),
    "HTML 404": ({"faults": [{"html": 404}]}, ProviderMisconfigured),
    "malformed JSON": ({"faults": [{"malformed": True}]}, ProviderMisconfigured),
    "data null": ({"data_null": True}, ProviderAnswerInvalid),
    "data.status missing": ({"omit": ["status"]}, ProviderAnswerInvalid),
    "unknown status": ({"status": "settled"}, ProviderAnswerInvalid),
    "another reference": ({"answer_reference": "esc_someone_else"}, ProviderAnswerInvalid),
    "amount as a string": ({"amount_as_string": True}, ProviderAnswerInvalid),
    "amount 10^30": ({"amount": 10**30}, ProviderAnswerInvalid),
    "a success without currency": ({"omit": ["currency"]}, ProviderAnswerInvalid),
    "slow drip": ({"faults": [{"drip": 0.2, "repeat": True}]}, ProviderUnavailable),
}


@pytest.mark.parametrize("case", FAULTS, ids=str)
def test_each_scripted_fault_of_one_reference_ends_in_its_class(
    sim: PaystackSimulator, client: PaystackClient, case: str
) -> None:
    script, expected = FAULTS[case]
    paid(client, "ref-bad")
    paid(client, "ref-good")
    sim.script({"references": {"ref-bad": script}})

    assert type(outcome_of(client, "ref-bad")) is expected
    assert outcome_of(client, "ref-good").outcome is Outcome.SUCCESS


@pytest.mark.parametrize(
    ("shape", "amount", "currency", "raw_currency"),
    [
        ({"currency": "XOF"}, ASKED, "XOF", "XOF"),
        ({"currency": "ngn"}, ASKED, "NGN", "ngn"),
        ({"amount": 10**13}, 10**13, "NGN", "NGN"),
    ],
    ids=["XOF", "ngn", "10^13"],
)
def test_money_the_ledger_cannot_book_as_paid_comes_back_as_a_success_with_raw_figures(
    sim: PaystackSimulator,
    client: PaystackClient,
    shape: dict[str, Any],
    amount: int,
    currency: str,
    raw_currency: str,
) -> None:
    paid(client, "ref-1")
    sim.script({"references": {"ref-1": shape}})

    answer = outcome_of(client, "ref-1")

    assert isinstance(answer, Verification)
    assert answer.outcome is Outcome.SUCCESS
    assert (answer.amount, answer.currency, answer.raw_currency) == (amount, currency, raw_currency)


def test_customer_fees_raise_the_amount_and_keep_what_was_asked(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    paid(client, "ref-1")
    sim.script({"references": {"ref-1": {"customer_fees": 10283}}})

    answer = outcome_of(client, "ref-1")

    assert (answer.amount, answer.requested_amount) == (40333, ASKED)


def test_paid_at_can_come_as_paidAt_only(sim: PaystackSimulator, client: PaystackClient) -> None:
    paid(client, "ref-1")
    sim.script({"references": {"ref-1": {"paid_at_key": "paidAt"}}})
    raw = httpx.get(
        f"{sim.url}/transaction/verify/ref-1", headers={"Authorization": f"Bearer {SECRET}"}
    ).json()["data"]

    answer = outcome_of(client, "ref-1")

    assert "paid_at" not in raw
    assert isinstance(answer.paid_at, datetime)


def test_a_global_repeating_fault_answers_every_call_until_reset(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    sim.script({"faults": [{"http": 401, "repeat": True}]})

    assert [type(outcome_of(client, ref)) for ref in ("a", "b", "a")] == [ProviderMisconfigured] * 3

    sim.state.reset()
    assert outcome_of(client, "a").outcome is Outcome.NOT_FOUND


def test_a_global_answer_fault_waits_for_a_verify_call_and_is_used_once(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    sim.script({"faults": [{"answer": {"data_null": True}}]})
    paid(client, "ref-1")  # an initialize does not use it up

    assert type(outcome_of(client, "ref-1")) is ProviderAnswerInvalid
    assert outcome_of(client, "ref-1").outcome is Outcome.SUCCESS


def test_a_one_off_fault_is_used_once_then_the_real_answer_comes(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    paid(client, "ref-1")
    sim.script({"references": {"ref-1": {"faults": [{"html": 404}]}}})

    assert type(outcome_of(client, "ref-1")) is ProviderMisconfigured
    assert outcome_of(client, "ref-1").outcome is Outcome.SUCCESS


def test_an_answer_fault_can_make_one_verify_say_not_found(
    sim: PaystackSimulator, client: PaystackClient
) -> None:
    paid(client, "ref-1")
    sim.script({"references": {"ref-1": {"faults": [{"answer": {"unknown": True}}]}}})

    assert outcome_of(client, "ref-1").outcome is Outcome.NOT_FOUND
    assert outcome_of(client, "ref-1").outcome is Outcome.SUCCESS
