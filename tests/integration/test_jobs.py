"""The scheduled jobs, on SQLite and on a real PostgreSQL, with a controlled business clock.

Payments are made through a ``Ledger`` of their own (as the host's API would make them); the
jobs run in a ``JobRunner`` as ``ledger jobs run`` runs them, asking an in-process Paystack
simulator over HTTP through the real ``PaystackClient``. Requests are created at ``T0``; the
clock is then moved to the hour of each run. Each test states one behaviour: one per row of
docs/design.md's "Payment verification outcomes", the 48h request timeout, release and its
deferral, wallets and the Flutterwave token.

``World`` and its fixtures are imported by the other job test modules.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import respx

from jobs.metrics import Metrics
from jobs.registry import BY_NAME
from jobs.runner import JobRunner, RunRecord
from ledger.application import Ledger
from ledger.clock import FixedClock
from ledger.config import Settings
from ledger.domain.request import Request, RequestStatus
from ledger.domain.transaction import EscrowStatus, Transaction, TxStatus
from ledger.errors import DomainError
from ledger.providers.flutterwave import FlutterwaveTokenManager
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import Outcome, PaymentProvider, Verification
from ledger.simulator.paystack import PaystackSimulator
from tests.conftest import T0

SECRET = "sk_test_jobs_simulator_5150"
FAN, STAR = "fan-1", "star-1"
NEW_STAR = "star-2"  # verified, but no wallet until create_wallets runs
PRICE = 500_000
CHECK = "check_pending_payments"
RELEASE = "release_escrow_payments"
WALLETS = "create_wallets"
TOKEN = "refresh_flutterwave_token"
FOUR = (TOKEN, CHECK, WALLETS, RELEASE)  # docs/design.md's jobs, in the order --once runs them


@dataclass(frozen=True)
class Payment:
    request_id: UUID
    transaction_id: UUID
    reference: str | None


@dataclass
class World:
    """A store, a job runner on it, the API's own ledger, the simulator and the clock."""

    runner: JobRunner
    api: Ledger
    sim: PaystackSimulator
    clock: FixedClock
    made: int = 0

    # -- making things (at the clock's time) ------------------------------------------------

    def request(self, *, star: str = STAR, price: int = PRICE) -> UUID:
        return self.api.create_request(FAN, star, price, "NGN").id

    def pay(self, *, reference: str | None = "auto", star: str = STAR) -> Payment:
        """A request and its PENDING payment (``reference=None``: recorded without one)."""
        self.made += 1
        ref = f"ref-{self.made}" if reference == "auto" else reference
        request_id = self.request(star=star)
        return Payment(request_id, self.api.record_payment(request_id, ref).id, ref)

    def script(self, payment: Payment, **outcome: Any) -> None:
        """What the simulator answers for ``payment`` (default: paid in full)."""
        assert payment.reference is not None
        answer = {"status": "success", "amount": PRICE, "currency": "NGN", **outcome}
        self.sim.script({"references": {payment.reference: answer}})

    def held(self, *, star: str = STAR, complete: bool = True) -> Payment:
        """A verified (held) payment; its request COMPLETED unless ``complete`` is False."""
        payment = self.pay(star=star)
        self.api.confirm_payment(payment.transaction_id, amount=PRICE, currency="NGN")
        if complete:
            self.api.complete_request(payment.request_id)
        return payment

    # -- running and looking -------------------------------------------------------------------

    def at(self, hours: float) -> None:
        self.clock.set(T0 + timedelta(hours=hours))

    def run(self, job: str) -> RunRecord:
        return self.runner.run(BY_NAME[job])

    def head(self) -> int:
        return int(self.api.recorder.max_notification_id() or 0)

    def txn(self, payment: Payment) -> Transaction:
        return self.api.get_transaction(payment.transaction_id)

    def req(self, payment: Payment) -> Request:
        return self.api.get_request(payment.request_id)

    def events(self, aggregate_id: UUID) -> list[Any]:
        return list(self.api.events.get(aggregate_id))

    def last(self, aggregate_id: UUID) -> Any:
        return self.events(aggregate_id)[-1]

    def verify_calls(self) -> list[str]:
        with self.sim.state.lock:
            return [c["path"] for c in self.sim.state.calls if "/verify/" in c["path"]]


def fast_client(url: str) -> PaystackClient:
    """The real client, with one quick retry so faults cost milliseconds."""
    return PaystackClient(
        SECRET,
        base_url=url,
        timeout=5,
        retry=RetryPolicy(max_retries=1, base_delay=0.001, max_delay=0.001),
        sleep=lambda _seconds: None,
    )


@pytest.fixture
def make_world(
    store_settings: Callable[..., Settings], clock: FixedClock
) -> Iterator[Callable[..., World]]:
    """Build a ``World`` on the test's store; keyword overrides by setting name, plus
    ``provider=`` (default: the simulator through ``PaystackClient``), ``tokens=`` and
    ``metrics=`` (the runner's Prometheus metrics)."""
    closers: list[Callable[[], None]] = []

    def make(
        *,
        provider: PaymentProvider | None = None,
        tokens: object | None = None,
        metrics: Metrics | None = None,
        **env: Any,
    ) -> World:
        settings = store_settings(**env)
        sim = PaystackSimulator(SECRET).start()
        closers.append(sim.stop)
        client = fast_client(sim.url)
        closers.append(client.close)
        runner = JobRunner(
            settings, clock=clock, provider=provider or client, tokens=tokens, metrics=metrics
        )
        closers.append(runner.close)
        api = Ledger.from_settings(settings, clock=clock)
        closers.append(api.close)
        clock.set(T0)
        api.register_user(FAN, "fan")
        api.register_user(STAR, "celebrity", verified=True)
        api.register_user(NEW_STAR, "celebrity", verified=True)
        api.create_wallet(STAR, "NGN")
        return World(runner=runner, api=api, sim=sim, clock=clock)

    yield make
    for close in reversed(closers):
        close()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


def assert_declined(world: World, payment: Payment, reason: str) -> None:
    request = world.req(payment)
    assert request.status is RequestStatus.DECLINED
    assert request.decline_reason is not None
    assert request.decline_reason.value == reason


def assert_failed(world: World, payment: Payment, event: str, reason: str) -> None:
    """FAILED, escrow CANCELLED (nothing held), after ``event`` with ``reason``."""
    txn = world.txn(payment)
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    last = world.last(payment.transaction_id)
    assert type(last).__name__ == event
    assert last.reason == reason


def assert_untouched(world: World, payment: Payment) -> None:
    """Still PENDING with nothing but its creation recorded."""
    assert [type(e).__name__ for e in world.events(payment.transaction_id)] == ["PaymentInitiated"]
    assert world.req(payment).status is RequestStatus.PENDING


# -- check_pending_payments: one test per row of the outcome table ---------------------------


def test_success_with_the_expected_amount_verifies_the_payment_and_starts_the_request(
    world: World,
) -> None:
    payment = world.pay()
    world.script(payment)
    world.at(25)
    record = world.run(CHECK)
    assert (record.status, record.counts.succeeded) == ("ok", 1)
    txn = world.txn(payment)
    assert (txn.status, txn.escrow_status) == (TxStatus.COMPLETED, EscrowStatus.PENDING)
    assert txn.is_held
    assert not txn.needs_review
    assert type(world.last(payment.transaction_id)).__name__ == "PaymentVerified"
    assert world.req(payment).status is RequestStatus.IN_PROGRESS


def test_success_with_another_amount_or_currency_is_flagged_and_never_paid(world: World) -> None:
    short = world.pay()
    world.script(short, amount=PRICE - 100)
    cedis = world.pay()
    world.script(cedis, currency="GHS")
    world.at(25)
    world.run(CHECK)
    for payment, reason in ((short, "amount_mismatch"), (cedis, "currency_mismatch")):
        txn = world.txn(payment)
        assert txn.needs_review
        assert txn.flag_reason is not None
        assert txn.flag_reason.value == reason
        assert txn.status is TxStatus.PENDING
        assert not txn.is_held
        last = world.last(payment.transaction_id)
        assert (type(last).__name__, last.reason) == ("PaymentFlagged", reason)
        assert world.req(payment).status is RequestStatus.PENDING
    # Flagged payments are out of the sweep: the next run does not ask about them again.
    calls = len(world.verify_calls())
    world.at(26)
    world.run(CHECK)
    assert len(world.verify_calls()) == calls


def test_failed_abandoned_and_reversed_fail_the_payment_and_decline_the_request(
    world: World,
) -> None:
    payments = {status: world.pay() for status in ("failed", "abandoned", "reversed")}
    for status, payment in payments.items():
        world.script(payment, status=status)
    world.at(25)
    assert world.run(CHECK).counts.succeeded == 3
    for status, payment in payments.items():
        txn = world.txn(payment)
        assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
        last = world.last(payment.transaction_id)
        assert (type(last).__name__, last.provider_status) == ("PaymentFailed", status)
        assert_declined(world, payment, "payment_failed")


def test_payments_still_in_progress_stay_pending_until_72h_then_time_out_unresolved(
    make_world: Callable[..., World],
) -> None:
    # The 48h request timeout is pushed out of the way so the give-up rule shows on its own.
    world = make_world(LEDGER_REQUEST_TIMEOUT="7d")
    statuses = ("ongoing", "pending", "processing", "queued")
    payments = {status: world.pay() for status in statuses}
    for status, payment in payments.items():
        world.script(payment, status=status)
    for hours in (25, 49, 71.9):
        world.at(hours)
        record = world.run(CHECK)
        assert (record.counts.skipped, record.counts.succeeded) == (4, 0)
        for payment in payments.values():
            assert_untouched(world, payment)
    world.at(72)
    assert world.run(CHECK).counts.succeeded == 4
    for payment in payments.values():
        assert_failed(world, payment, "PaymentTimedOut", "unresolved")
        assert_declined(world, payment, "payment_timed_out")


def test_a_reference_unknown_to_paystack_times_out_no_reference(world: World) -> None:
    payment = world.pay()
    world.script(payment, unknown=True)
    world.at(25)
    world.run(CHECK)
    assert_failed(world, payment, "PaymentTimedOut", "no_reference")
    assert_declined(world, payment, "payment_timed_out")


def test_a_payment_without_a_reference_times_out_without_asking_paystack(world: World) -> None:
    payment = world.pay(reference=None)
    world.at(25)
    assert world.run(CHECK).counts.succeeded == 1
    assert_failed(world, payment, "PaymentTimedOut", "no_reference")
    assert_declined(world, payment, "payment_timed_out")
    assert world.verify_calls() == []


def test_a_provider_answering_503_leaves_payments_pending_until_the_give_up_deadline(
    make_world: Callable[..., World],
) -> None:
    world = make_world(LEDGER_REQUEST_TIMEOUT="7d")
    payment = world.pay()
    world.script(payment)  # paid; but every call fails until the deadline
    outage = {"faults": [{"http": 503}] * 2}  # the first attempt and its one retry
    for hours in (25, 48):
        world.sim.script({"references": {payment.reference: outage}})
        world.at(hours)
        record = world.run(CHECK)
        assert (record.status, record.counts.skipped) == ("degraded", 1)
        assert record.counts.attention == {"provider_unreachable": 1}
        assert_untouched(world, payment)
    world.sim.script({"references": {payment.reference: outage}})
    world.at(72)
    assert world.run(CHECK).counts.succeeded == 1
    assert_failed(world, payment, "PaymentTimedOut", "provider_unreachable")
    assert_declined(world, payment, "payment_timed_out")


def test_an_outage_defers_the_48h_request_timeout_of_a_request_whose_payment_may_have_succeeded(
    make_world: Callable[..., World],
) -> None:
    world = make_world()  # default timeouts: request 48h, give-up 72h
    payment = world.pay()
    world.script(payment)  # paid at Paystack; the webhook was missed
    unpaid = world.request()
    down = {"faults": [{"http": 503}] * 2}
    world.sim.script({"references": {payment.reference: down}})
    world.at(49)
    world.run(CHECK)
    assert_untouched(world, payment)  # not declined during the outage
    assert world.api.get_request(unpaid).status is RequestStatus.DECLINED  # no payment at all
    world.at(50)  # the provider answers again: the payment is verified after all
    world.run(CHECK)
    assert world.txn(payment).status is TxStatus.COMPLETED
    assert world.req(payment).status is RequestStatus.IN_PROGRESS


def test_a_provider_that_is_down_leaves_every_payment_pending_until_the_deadline(
    make_world: Callable[..., World],
) -> None:
    world = make_world(LEDGER_REQUEST_TIMEOUT="7d")
    payments = [world.pay() for _ in range(3)]
    world.sim.stop()  # connection refused from now on
    world.at(25)
    head = world.head()
    record = world.run(CHECK)
    assert (record.status, record.counts.processed, record.counts.skipped) == ("degraded", 3, 3)
    assert record.counts.attention == {"provider_unreachable": 3}
    assert world.head() == head
    world.at(72)
    assert world.run(CHECK).counts.succeeded == 3
    for payment in payments:
        assert_failed(world, payment, "PaymentTimedOut", "provider_unreachable")


def test_a_success_for_a_payment_that_already_failed_is_flagged_late_success(
    world: World,
) -> None:
    payment = world.pay()
    world.script(payment, status="abandoned")
    world.at(25)
    world.run(CHECK)
    assert world.txn(payment).status is TxStatus.FAILED
    # The money arrives after all: Paystack's webhook (Ledger.confirm_payment).
    world.at(26)
    result = world.api.confirm_payment(payment.transaction_id, amount=PRICE, currency="NGN")
    assert result.changed
    txn = world.txn(payment)
    assert txn.needs_review
    assert txn.flag_reason is not None
    assert txn.flag_reason.value == "late_success"
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    assert_declined(world, payment, "payment_failed")  # a declined request stays declined
    head = world.head()
    world.run(CHECK)
    world.run(RELEASE)
    assert world.head() == head  # flagged: out of automatic processing


def test_payments_younger_than_the_verify_delay_are_not_touched(world: World) -> None:
    payment = world.pay()
    world.script(payment)
    world.at(23.9)
    head = world.head()
    record = world.run(CHECK)
    assert (record.status, record.counts.processed) == ("ok", 0)
    assert world.head() == head
    assert world.verify_calls() == []
    assert_untouched(world, payment)
    world.at(24)
    assert world.run(CHECK).counts.succeeded == 1


class GatedProvider:
    """Answers every reference as paid, but holds the answer for ``slow`` until ``release``
    is set: what a sweep applies meanwhile shows whether it waits for the slowest call."""

    def __init__(self, slow: str) -> None:
        self.slow = slow
        self.release = threading.Event()

    def verify(self, reference: str) -> Verification:
        if reference == self.slow:
            assert self.release.wait(timeout=10), "the sweep never applied the fast answers"
        return Verification(Outcome.SUCCESS, "success", amount=PRICE, currency="NGN")


def test_answers_are_applied_while_slower_provider_calls_are_still_in_flight(
    make_world: Callable[..., World],
) -> None:
    gate = GatedProvider(slow="ref-1")
    world = make_world(provider=gate)
    slow, *fast = [world.pay() for _ in range(5)]
    original = world.runner.ledger.apply_verification
    applied: list[UUID] = []

    def apply(transaction_id: UUID, verification: Verification) -> Any:
        result = original(transaction_id, verification)
        applied.append(transaction_id)
        if len(applied) == len(fast):
            gate.release.set()  # every fast answer was applied before the slow one came back
        return result

    world.runner.ledger.apply_verification = apply  # type: ignore[method-assign]
    world.at(25)
    record = world.run(CHECK)
    assert record.counts.succeeded == 5
    assert applied[-1] == slow.transaction_id
    assert set(applied[:-1]) == {p.transaction_id for p in fast}


# -- check_pending_payments: the 48h request timeout ----------------------------------------


def test_a_request_pending_48h_with_a_pending_payment_is_declined_request_timed_out(
    world: World,
) -> None:
    payment = world.pay()
    world.script(payment, status="ongoing")
    world.at(48.1)
    record = world.run(CHECK)
    assert (record.counts.succeeded, record.counts.skipped) == (1, 1)  # timeout; still ongoing
    assert_failed(world, payment, "PaymentTimedOut", "request_timed_out")
    assert_declined(world, payment, "request_timed_out")


def test_a_request_pending_48h_without_a_payment_records_a_failed_transaction(
    world: World,
) -> None:
    request_id = world.request()
    world.at(48.1)
    assert world.run(CHECK).counts.succeeded == 1
    request = world.api.get_request(request_id)
    assert request.status is RequestStatus.DECLINED
    assert request.decline_reason is not None
    assert request.decline_reason.value == "request_timed_out"
    txn = world.api.find_request_transaction(request_id)
    assert txn is not None
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    created = world.events(txn.id)
    assert [type(e).__name__ for e in created] == ["FailedTransactionRecorded"]
    assert created[0].reason == "request_timed_out"


def test_a_request_whose_payment_is_flagged_waits_for_the_operator(world: World) -> None:
    payment = world.pay()
    world.script(payment, amount=PRICE * 2)
    world.at(25)
    world.run(CHECK)
    assert world.txn(payment).needs_review
    world.at(49)
    head = world.head()
    record = world.run(CHECK)
    assert (record.counts.processed, record.counts.skipped) == (1, 1)
    assert world.head() == head
    assert world.req(payment).status is RequestStatus.PENDING


def test_a_request_younger_than_48h_is_not_timed_out(world: World) -> None:
    request_id = world.request()
    payment = world.pay()
    world.script(payment, status="pending")
    world.at(47.9)
    head = world.head()
    world.run(CHECK)
    assert world.head() == head
    assert world.api.get_request(request_id).status is RequestStatus.PENDING
    assert world.api.find_request_transaction(request_id) is None
    assert_untouched(world, payment)


# -- release_escrow_payments ---------------------------------------------------------------


def test_release_pays_completed_requests_held_money_into_the_wallet_with_the_run_id(
    world: World,
) -> None:
    done = [world.held() for _ in range(2)]
    in_progress = world.held(complete=False)
    world.at(30)
    record = world.run(RELEASE)
    assert (record.status, record.counts.succeeded, record.counts.processed) == ("ok", 2, 2)
    for payment in done:
        assert world.txn(payment).escrow_status is EscrowStatus.RELEASED
        released = world.last(payment.transaction_id)
        assert type(released).__name__ == "EscrowReleased"
        assert (released.run_id, released.trigger, released.amount) == (record.run_id, "job", PRICE)
    assert world.api.get_wallet(STAR).balance == 2 * PRICE
    assert world.txn(in_progress).is_held  # not COMPLETED: stays in escrow


def test_release_without_a_wallet_is_deferred_logged_and_done_after_create_wallets(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    payment = world.held(star=NEW_STAR)
    world.at(30)
    with caplog.at_level(logging.INFO, logger="ledger.jobs"):
        record = world.run(RELEASE)
    assert (record.status, record.counts.skipped, record.counts.failed) == ("degraded", 1, 0)
    assert record.counts.attention == {"release_deferred": 1}
    assert world.txn(payment).is_held
    deferred = [r for r in caplog.records if "event=release_deferred" in r.getMessage()]
    assert len(deferred) == 1
    assert deferred[0].levelno == logging.ERROR
    assert str(payment.transaction_id) in deferred[0].getMessage()

    world.at(34)
    assert world.run(WALLETS).counts.succeeded == 1
    record = world.run(RELEASE)
    assert record.counts.succeeded == 1
    assert world.txn(payment).escrow_status is EscrowStatus.RELEASED
    assert world.api.get_wallet(NEW_STAR).balance == PRICE


def test_flagged_payments_are_never_released(world: World) -> None:
    mismatch = world.pay()
    world.script(mismatch, amount=PRICE - 1)
    late = world.pay()
    world.script(late, status="failed")
    world.at(25)
    world.run(CHECK)
    world.api.confirm_payment(late.transaction_id, amount=PRICE, currency="NGN")
    with pytest.raises(DomainError):  # a flagged payment's request cannot be completed
        world.api.complete_request(mismatch.request_id)
    head = world.head()
    record = world.run(RELEASE)
    assert (record.status, record.counts.processed) == ("ok", 0)
    assert world.head() == head
    for payment in (mismatch, late):
        assert world.txn(payment).needs_review
        names = [type(e).__name__ for e in world.events(payment.transaction_id)]
        assert "EscrowReleased" not in names


# -- create_wallets and refresh_flutterwave_token ---------------------------------------------


def test_create_wallets_opens_wallets_for_verified_users_only(world: World) -> None:
    world.api.register_user("star-unverified", "celebrity")
    world.api.register_user("fan-verified", "fan", verified=True)
    record = world.run(WALLETS)
    assert (record.status, record.counts.succeeded) == ("ok", 2)  # star-2 and fan-verified
    assert world.api.get_wallet(NEW_STAR).balance == 0
    assert world.api.get_wallet("fan-verified").balance == 0
    for unverified in ("star-unverified", FAN):
        with pytest.raises(Exception, match="no wallet"):
            world.api.get_wallet(unverified)


def test_token_refresh_reports_disabled_when_flutterwave_is_not_configured(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    manager = FlutterwaveTokenManager.from_settings(world.runner.settings)
    try:
        world.runner.tokens = manager
        record = world.run(TOKEN)
    finally:
        manager.close()
    assert (record.status, record.counts.detail, record.counts.processed) == ("ok", "disabled", 0)


TOKEN_URL = "https://idp.flutterwave.test/realms/flutterwave/protocol/openid-connect/token"
FW_TOKEN = "fw-access-token-never-log-me"


def test_token_refresh_fetches_a_token_then_keeps_it_while_fresh(
    make_world: Callable[..., World], caplog: pytest.LogCaptureFixture
) -> None:
    fw = {
        "FLUTTERWAVE_CLIENT_ID": "fw-client",
        "FLUTTERWAVE_CLIENT_SECRET": "fw-secret-never-log-me",
        "FLUTTERWAVE_TOKEN_URL": TOKEN_URL,
    }
    world = make_world(**fw)
    router = respx.Router(assert_all_called=False)
    route = router.post(TOKEN_URL).mock(
        return_value=httpx.Response(200, json={"access_token": FW_TOKEN, "expires_in": 600})
    )
    manager = FlutterwaveTokenManager.from_settings(
        world.runner.settings, transport=httpx.MockTransport(router.handler)
    )
    world.runner.tokens = manager
    try:
        with caplog.at_level(logging.DEBUG):
            first = world.run(TOKEN)
            second = world.run(TOKEN)
    finally:
        manager.close()
    assert (first.status, first.counts.detail, first.counts.succeeded) == ("ok", "refreshed", 1)
    assert (second.status, second.counts.detail, second.counts.skipped) == ("ok", "fresh", 1)
    assert route.call_count == 1
    form = route.calls[0].request.content.decode()
    assert "grant_type=client_credentials" in form
    assert "client_id=fw-client" in form
    assert FW_TOKEN not in caplog.text
    assert "fw-secret-never-log-me" not in caplog.text
