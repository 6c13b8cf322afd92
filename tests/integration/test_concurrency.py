"""Two ledgers racing on one PostgreSQL store (threads, and processes started with 'spawn').

Each race releases the same escrow, opens the same wallet or registers the same user from
two writers at the same instant (a barrier per item). Optimistic concurrency must leave
exactly one effect per item, every loser must get an "already done" result, and nothing
else may be raised.
"""

import multiprocessing
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from ledger.application import Ledger, Result
from ledger.clock import FixedClock
from ledger.config import Settings, load_settings
from ledger.domain import ids
from ledger.errors import LedgerError, PaymentBusy
from tests.conftest import T0
from tests.fakes import FakeProvider

pytestmark = pytest.mark.postgres

PAYMENTS = 20
PRICE = 100_000
FEE_BPS = 250
STAR = "star-1"


@pytest.fixture
def pg_settings(pg_database_url: str, pg_schema: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return load_settings(
            LEDGER_DATABASE_URL=pg_database_url,
            LEDGER_POSTGRES_SCHEMA=pg_schema,
            LEDGER_PLATFORM_FEE_BPS=FEE_BPS,
            **overrides,
        )

    return make


@pytest.fixture
def two_ledgers(pg_settings: Callable[..., Settings]) -> Iterator[tuple[Ledger, Ledger]]:
    clock, provider = FixedClock(T0), FakeProvider()
    pair = tuple(Ledger.from_settings(pg_settings(), clock=clock, provider=provider) for _ in "ab")
    yield pair  # type: ignore[misc]
    for ledger in pair:
        ledger.close()


def completed_payments(ledger: Ledger, count: int = PAYMENTS) -> list[UUID]:
    """``count`` paid and completed requests of one fan to STAR, who has an NGN wallet."""
    ledger.register_user("fan-1", "fan")
    ledger.register_user(STAR, "celebrity", verified=True)
    ledger.create_wallet(STAR, "NGN")
    txn_ids = []
    for n in range(count):
        request_id = ledger.create_request("fan-1", STAR, PRICE + n, "NGN").id
        txn_id = ledger.record_payment(request_id, f"ref-{n}").id
        ledger.confirm_payment(txn_id, amount=PRICE + n, currency="NGN")
        ledger.complete_request(request_id)
        txn_ids.append(txn_id)
    return txn_ids


def race(
    ledgers: tuple[Ledger, Ledger], items: list[Any], command: Callable[[Ledger, Any], Result]
) -> list[tuple[bool, bool]]:
    """Both ledgers run ``command`` on each item at once; returns (changed_a, changed_b)."""
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[list[bool]] = [[], []]
    errors: list[str] = []

    def worker(side: int) -> None:
        for item in items:
            barrier.wait()
            try:
                outcomes[side].append(command(ledgers[side], item).changed)
            except Exception:
                errors.append(traceback.format_exc())
                outcomes[side].append(False)

    threads = [threading.Thread(target=worker, args=(side,)) for side in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[0]
    return list(zip(outcomes[0], outcomes[1], strict=True))


def event_counts(ledger: Ledger) -> Counter[tuple[str, UUID]]:
    """How many events of each type each aggregate (or, for credits, transaction) has."""
    counts: Counter[tuple[str, UUID]] = Counter()
    start = 1
    while batch := ledger.recorder.select_notifications(start=start, limit=1000):
        for notification in batch:
            event = ledger.mapper.to_domain_event(notification)
            name = type(event).__name__
            key = event.transaction_id if name == "WalletCredited" else event.originator_id
            counts[name, key] += 1
        start = batch[-1].id + 1
    return counts


def assert_released_once_each(ledger: Ledger, txn_ids: list[UUID]) -> None:
    counts = event_counts(ledger)
    for txn_id in txn_ids:
        assert counts["EscrowReleased", txn_id] == 1
        assert counts["WalletCredited", txn_id] == 1
    payouts = sum(PRICE + n - (PRICE + n) * FEE_BPS // 10_000 for n in range(len(txn_ids)))
    wallet = ledger.get_wallet(STAR, "NGN")
    assert wallet.balance == wallet.credited == payouts


def test_two_threads_releasing_the_same_escrows_release_each_exactly_once(
    two_ledgers: tuple[Ledger, Ledger],
) -> None:
    txn_ids = completed_payments(two_ledgers[0])
    for txn_id in txn_ids:  # both caches hold every transaction held, before the race
        two_ledgers[1].get_transaction(txn_id)
    outcomes = race(two_ledgers, txn_ids, lambda ledger, tid: ledger.release_escrow(tid))
    assert all(a != b for a, b in outcomes), f"not exactly one winner per escrow: {outcomes}"
    assert_released_once_each(two_ledgers[0], txn_ids)


def test_two_threads_opening_the_same_wallets_open_each_once(
    two_ledgers: tuple[Ledger, Ledger],
) -> None:
    stars = [f"star-{n}" for n in range(PAYMENTS)]
    for star in stars:
        two_ledgers[0].register_user(star, "celebrity", verified=True)
    outcomes = race(two_ledgers, stars, lambda ledger, star: ledger.create_wallet(star, "NGN"))
    assert all(a != b for a, b in outcomes), outcomes
    counts = event_counts(two_ledgers[0])
    for star in stars:
        assert counts["WalletCreated", ids.wallet_id(ids.user_id(star), "NGN")] == 1


def test_two_threads_registering_the_same_users_register_each_once(
    two_ledgers: tuple[Ledger, Ledger],
) -> None:
    users = [f"user-{n}" for n in range(PAYMENTS)]
    outcomes = race(
        two_ledgers, users, lambda ledger, user: ledger.register_user(user, "fan", verified=True)
    )
    assert all(a != b for a, b in outcomes), outcomes
    counts = event_counts(two_ledgers[0])
    for user in users:
        assert counts["UserRegistered", ids.user_id(user)] == 1
        assert counts["UserVerified", ids.user_id(user)] == 1


def test_two_threads_confirming_the_same_payments_verify_each_once(
    two_ledgers: tuple[Ledger, Ledger],
) -> None:
    a, _ = two_ledgers
    a.register_user("fan-1", "fan")
    a.register_user(STAR, "celebrity", verified=True)
    txn_ids = []
    for n in range(PAYMENTS):
        request_id = a.create_request("fan-1", STAR, PRICE, "NGN").id
        txn_ids.append(a.record_payment(request_id, f"ref-{n}").id)
    outcomes = race(
        two_ledgers,
        txn_ids,
        lambda ledger, tid: ledger.confirm_payment(tid, amount=PRICE, currency="NGN"),
    )
    assert all(x != y for x, y in outcomes), outcomes
    counts = event_counts(a)
    for txn_id in txn_ids:
        assert counts["PaymentVerified", txn_id] == 1


# -- processes -------------------------------------------------------------------------------


def release_in_process(
    url: str, schema: str, txn_ids: list[str], barrier: Any, results: Any, side: int
) -> None:
    """Run in a spawned process: release each escrow after meeting the other process."""
    settings = load_settings(
        LEDGER_DATABASE_URL=url, LEDGER_POSTGRES_SCHEMA=schema, LEDGER_PLATFORM_FEE_BPS=FEE_BPS
    )
    ledger = Ledger.from_settings(settings, clock=FixedClock(T0))
    try:
        for txn_id in txn_ids:
            barrier.wait()
            try:
                changed = ledger.release_escrow(UUID(txn_id)).changed
                results.put((side, txn_id, changed, None))
            except Exception:
                results.put((side, txn_id, False, traceback.format_exc()))
    finally:
        ledger.close()


def test_two_processes_releasing_the_same_escrows_release_each_exactly_once(
    two_ledgers: tuple[Ledger, Ledger], pg_database_url: str, pg_schema: str
) -> None:
    txn_ids = [str(t) for t in completed_payments(two_ledgers[0])]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2, timeout=60)
    results = context.Queue()
    processes = [
        context.Process(
            target=release_in_process,
            args=(pg_database_url, pg_schema, txn_ids, barrier, results, side),
        )
        for side in (0, 1)
    ]
    for process in processes:
        process.start()
    collected = [results.get(timeout=120) for _ in range(2 * len(txn_ids))]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    errors = [error for *_, error in collected if error]
    assert not errors, errors[0]
    winners = Counter(txn_id for _, txn_id, changed, _ in collected if changed)
    assert winners == Counter(txn_ids), "each escrow needs exactly one winning release"
    assert_released_once_each(two_ledgers[0], [UUID(t) for t in txn_ids])


# -- a writer acting while a refund is in flight at the provider ------------------------------
#
# Refunds are "provider first": the provider is asked, then the refund is recorded. A second
# writer that lands while the provider call is in flight (a real Paystack call takes hundreds
# of milliseconds) is simulated deterministically by running it inside ``refund()``.


class InterleavingProvider(FakeProvider):
    """A fake provider that runs ``during_refund`` (once) while a refund is in flight."""

    during_refund: Callable[[], Any] | None = None
    hook_outcome: Any = None

    def refund(self, *, reference: str, amount: int) -> Any:
        accepted = super().refund(reference=reference, amount=amount)
        hook, self.during_refund = self.during_refund, None
        if hook is not None:
            # The other writer's outcome is its own: a refusal (e.g. PaymentBusy) must not
            # reach the command whose provider call this is.
            self.hook_outcome = attempt(hook)
        return accepted


@pytest.fixture
def interleaved(pg_settings: Callable[..., Settings]) -> Iterator[tuple[Ledger, Ledger, Any]]:
    clock, provider = FixedClock(T0), InterleavingProvider()
    # The second writer runs inside the first one's provider call (same thread), so it can
    # only give up on the payment lock: a short wait keeps the test quick.
    settings = pg_settings(LEDGER_PAYMENT_LOCK_TIMEOUT="1s")
    a, b = (Ledger.from_settings(settings, clock=clock, provider=provider) for _ in "ab")
    yield a, b, provider
    a.close()
    b.close()


def recorded_refunds(ledger: Ledger) -> int:
    counts = event_counts(ledger)
    return sum(n for (name, _), n in counts.items() if name == "EscrowRefunded")


def attempt(command: Callable[[], Result]) -> Result | Exception:
    try:
        return command()
    except LedgerError as exc:
        return exc


def paid_request(ledger: Ledger, *, complete: bool) -> tuple[UUID, UUID]:
    """One request of fan-1 to STAR (who has a wallet), paid; completed if asked."""
    ledger.register_user("fan-1", "fan")
    ledger.register_user(STAR, "celebrity", verified=True)
    ledger.create_wallet(STAR, "NGN")
    request_id = ledger.create_request("fan-1", STAR, PRICE, "NGN").id
    txn_id = ledger.record_payment(request_id, "ref-race").id
    ledger.confirm_payment(txn_id, amount=PRICE, currency="NGN")
    if complete:
        ledger.complete_request(request_id)
    return request_id, txn_id


def assert_refunds_recorded_exactly(ledger: Ledger, provider: FakeProvider) -> None:
    """Every refund the provider made is recorded, and no money is both refunded and paid."""
    counts = event_counts(ledger)
    refunded = sum(n for (name, _), n in counts.items() if name == "EscrowRefunded")
    released = sum(n for (name, _), n in counts.items() if name == "EscrowReleased")
    assert len(provider.refunds) == refunded, "the provider refunded more than was recorded"
    assert len(provider.refunds) + released <= 1, "the same money went back and was paid out"


# These three were a real race (a refund made at the provider but not recorded, or refunded
# and paid out): fixed by the per-payment lock (ledger.locks) that every command consuming a
# payment's escrow holds from decision to save; the second writer now gets PaymentBusy.


def test_a_completion_during_a_declines_refund_leaves_no_unrecorded_refund(
    interleaved: tuple[Ledger, Ledger, Any],
) -> None:
    a, b, provider = interleaved
    request_id, txn_id = paid_request(a, complete=False)
    provider.during_refund = lambda: b.complete_request(request_id)
    attempt(lambda: a.decline_request(request_id))
    attempt(lambda: a.release_escrow(txn_id))  # what the release job would do next
    assert isinstance(provider.hook_outcome, PaymentBusy)
    assert_refunds_recorded_exactly(a, provider)


def test_a_release_during_an_operator_refund_leaves_no_unrecorded_refund(
    interleaved: tuple[Ledger, Ledger, Any],
) -> None:
    a, b, provider = interleaved
    _, txn_id = paid_request(a, complete=True)
    provider.during_refund = lambda: b.release_escrow(txn_id)
    attempt(lambda: a.admin_refund(txn_id, operator="ada", reason="dispute"))
    assert isinstance(provider.hook_outcome, PaymentBusy)
    assert_refunds_recorded_exactly(a, provider)


def test_two_declines_at_once_refund_the_fan_once(
    interleaved: tuple[Ledger, Ledger, Any],
) -> None:
    a, b, provider = interleaved
    request_id, _ = paid_request(a, complete=False)
    provider.during_refund = lambda: b.decline_request(request_id)
    attempt(lambda: a.decline_request(request_id))
    assert isinstance(provider.hook_outcome, PaymentBusy)
    assert_refunds_recorded_exactly(a, provider)


def test_a_decline_while_a_payment_is_being_recorded_never_strands_the_payment(
    interleaved: tuple[Ledger, Ledger, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: record_payment and decline_request save no aggregate in common; a decline
    landing between the recording's read of the request and its save left a PENDING payment
    on a DECLINED request, whose money could then be neither applied nor flagged."""
    a, b, _ = interleaved
    a.register_user("fan-1", "fan")
    a.register_user(STAR, "celebrity", verified=True)
    request_id = a.create_request("fan-1", STAR, PRICE, "NGN").id
    load = a.repository.get
    declined: list[Result | Exception] = []

    def load_then_let_b_decline(aggregate_id: UUID, *args: Any, **kwargs: Any) -> Any:
        aggregate = load(aggregate_id, *args, **kwargs)
        if aggregate_id == request_id and not declined:
            declined.append(attempt(lambda: b.decline_request(request_id)))
        return aggregate

    monkeypatch.setattr(a.repository, "get", load_then_let_b_decline)
    recorded = attempt(lambda: a.record_payment(request_id, "ref-1"))
    monkeypatch.undo()
    request, txn = b.get_request(request_id), b.find_request_transaction(request_id)
    if request.status.value == "DECLINED":
        assert txn is None or txn.status.value == "FAILED", "a payment stranded on a decline"
    else:
        assert isinstance(declined[0], PaymentBusy)
        assert isinstance(recorded, Result)
        assert recorded.changed is True
        assert txn is not None
        assert txn.status.value == "PENDING"
