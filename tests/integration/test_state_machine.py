"""A Hypothesis state machine over random sequences of every ledger command.

Two ``Ledger`` instances share one fresh store per example (the second with a tiny cache), so
commands also run on stale cached copies. Illegal commands and repeats are part of the mix:
a ``LedgerError`` is an expected refusal, anything else fails. The model is only what the
rules need to pick arguments (users, request ids, references); the truth is the store.

After every step the six invariants of docs/design.md are checked against the store:

1. a refused command wrote nothing (checked around each command);
2. each transaction is released or refunded at most once, a release only after the request
   was completed;
3. each ``EscrowReleased`` has exactly one ``WalletCredited`` for that transaction, in the
   same save (the next notification id);
4. conservation per currency: verified = held + released + refunded, released = wallet
   credits + fees, flagged = suspense + its refunds + resolved, every wallet balance =
   credits - debits >= 0 (and the provider refunded exactly what the ledger recorded);
5. replay equals live: every aggregate either instance has cached equals the one rebuilt
   from the store;
6. repeating the last successful command, on either instance, changes nothing (checked
   right after each command).
"""

import shutil
import tempfile
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.application import Ledger, Result
from ledger.clock import FixedClock
from ledger.config import load_settings
from ledger.domain import ids
from ledger.domain.transaction import TimeoutReason
from ledger.errors import LedgerError
from ledger.providers.port import Outcome, Verification
from tests.conftest import T0
from tests.fakes import FakeProvider

FEE_BPS = 250
FANS = ("fan-0", "fan-1")
STARS = ("star-0", "star-1")
USERS = FANS + STARS
CURRENCIES = ("NGN", "NGN", "GHS")
AMOUNTS = (100_000, 250_000, 500_001)
NAMESPACE = uuid.UUID("2b8f3c1e-8a44-4d6e-9c55-7f0e1d2c3b4a")

# Set by the PostgreSQL test: the session database the machine makes its schemas in.
PG_DATABASE_URL: str | None = None
PG_SCHEMAS: list[str] = []

index = st.integers(min_value=0, max_value=10_000)
instance = st.sampled_from([0, 1])


def stored_events(ledger: Ledger) -> list[tuple[int, Any]]:
    """Every stored event with its notification id, in order."""
    out: list[tuple[int, Any]] = []
    start = 1
    while True:
        batch = ledger.recorder.select_notifications(start=start, limit=1000)
        if not batch:
            return out
        out.extend((n.id, ledger.mapper.to_domain_event(n)) for n in batch)
        start = batch[-1].id + 1


def state_of(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


class LedgerMachine(RuleBasedStateMachine):
    """Random command sequences against two ledgers on one store; subclasses pick the store."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(T0)
        self.provider = FakeProvider()
        overrides = {"LEDGER_PLATFORM_FEE_BPS": FEE_BPS, **self.store_overrides()}
        self.ledgers = [
            Ledger.from_settings(
                load_settings(**overrides), clock=self.clock, provider=self.provider
            ),
            Ledger.from_settings(
                load_settings(**overrides, LEDGER_AGGREGATE_CACHE_SIZE=4),
                clock=self.clock,
                provider=self.provider,
            ),
        ]
        self.requests: list[uuid.UUID] = []
        self.references: list[str] = []
        self.counter = 0

    def store_overrides(self) -> dict[str, Any]:
        raise NotImplementedError

    def drop_store(self) -> None:
        raise NotImplementedError

    def teardown(self) -> None:
        for ledger in self.ledgers:
            ledger.close()
        self.drop_store()

    # -- running a command -------------------------------------------------------------------

    def head(self) -> int:
        return self.ledgers[0].recorder.max_notification_id() or 0

    def run(self, via: int, command: str, *args: Any, **kwargs: Any) -> Result | None:
        """Run a command on instance ``via``; check invariants 1 and 6 around it."""
        before = self.head()
        try:
            result: Result = getattr(self.ledgers[via], command)(*args, **kwargs)
        except LedgerError:
            assert self.head() == before, f"refused {command} wrote events"  # invariant 1
            return None
        after = self.head()
        if result.changed:
            assert after > before, f"{command} said changed but wrote nothing"
        else:
            assert after == before, f"{command} said unchanged but wrote events"
        refunds = len(self.provider.refunds)
        for repeat_via in (via, 1 - via):  # invariant 6, on both instances
            try:
                again = getattr(self.ledgers[repeat_via], command)(*args, **kwargs)
            except LedgerError:
                # A second initiation is refused (it would ask the provider again).
                assert command == "initiate_payment", f"repeated {command} was refused"
            else:
                assert again.changed is False, f"repeated {command} changed something: {again}"
            assert self.head() == after, f"repeated {command} wrote events"
            assert len(self.provider.refunds) == refunds, f"repeated {command} refunded again"
        return result

    def pick(self, i: int) -> uuid.UUID:
        return self.requests[i % len(self.requests)]

    def txn(self, i: int) -> uuid.UUID:
        return ids.transaction_id(self.pick(i))

    def price(self, request_id: uuid.UUID) -> tuple[int, str] | None:
        events = list(self.ledgers[0].events.get(request_id, limit=1))
        return (events[0].amount, events[0].currency) if events else None

    # -- users and wallets -------------------------------------------------------------------

    @initialize(
        verified=st.lists(st.booleans(), min_size=3, max_size=3),
        amount=st.sampled_from(AMOUNTS),
        currency=st.sampled_from(CURRENCIES),
    )
    def users_and_a_request(self, verified: list[bool], amount: int, currency: str) -> None:
        """Every user registered (star-0 verified, with a wallet) and one request to star-0,
        so that short runs reach payments and releases; the rules do the rest."""
        for user, is_verified in zip(USERS, [*verified[:2], True, verified[2]], strict=True):
            role = "fan" if user in FANS else "celebrity"
            self.run(0, "register_user", user, role, verified=is_verified)
        self.run(0, "create_wallet", "star-0", currency)
        self.create_request(0, "fan-0", "star-0", amount, currency)

    @rule(
        via=instance,
        user=st.sampled_from(USERS),
        natural=st.sampled_from([True, True, True, False]),
        verified=st.booleans(),
    )
    def register_user(self, via: int, user: str, natural: bool, verified: bool) -> None:
        role = "fan" if (user in FANS) == natural else "celebrity"
        self.run(via, "register_user", user, role, verified=verified)

    @rule(via=instance, user=st.sampled_from(USERS))
    def verify_user(self, via: int, user: str) -> None:
        self.run(via, "verify_user", user)

    @rule(via=instance, user=st.sampled_from(USERS), currency=st.sampled_from(CURRENCIES))
    def create_wallet(self, via: int, user: str, currency: str) -> None:
        self.run(via, "create_wallet", user, currency)

    @rule(
        via=instance,
        user=st.sampled_from(["star-0", "star-0", "star-1", "fan-0"]),
        currency=st.sampled_from(CURRENCIES),
        amount=st.sampled_from([1_000, 100_000, 600_000]),
        reference=st.sampled_from(["po-0", "po-1", "po-2"]),
    )
    def debit_wallet(self, via: int, user: str, currency: str, amount: int, reference: str) -> None:
        self.run(via, "debit_wallet", user, currency, amount, reference)

    # -- requests ----------------------------------------------------------------------------

    @rule(
        via=instance,
        fan=st.sampled_from(["fan-0", "fan-1", "fan-0", "star-0"]),
        star=st.sampled_from(["star-0", "star-1", "star-0", "fan-1"]),
        amount=st.sampled_from(AMOUNTS),
        currency=st.sampled_from(CURRENCIES),
    )
    def create_request(self, via: int, fan: str, star: str, amount: int, currency: str) -> None:
        self.counter += 1
        request_id = uuid.uuid5(NAMESPACE, f"request-{self.counter}")
        if self.run(via, "create_request", fan, star, amount, currency, request_id):
            self.requests.append(request_id)

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index, amount=st.sampled_from(AMOUNTS))
    def create_request_again(self, via: int, i: int, amount: int) -> None:
        request_id = self.pick(i)
        event = next(iter(self.ledgers[0].events.get(request_id, limit=1)))
        fan = self.ledgers[0].repository.get(event.fan_id).external_id
        star = self.ledgers[0].repository.get(event.celebrity_id).external_id
        self.run(via, "create_request", fan, star, amount, event.currency, request_id)

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def complete_request(self, via: int, i: int) -> None:
        self.run(via, "complete_request", self.pick(i))

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def decline_request(self, via: int, i: int) -> None:
        self.run(via, "decline_request", self.pick(i), note="declined in a test")

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def time_out_request(self, via: int, i: int) -> None:
        self.run(via, "time_out_request", self.pick(i))

    # -- payments ----------------------------------------------------------------------------

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index, j=index, choice=st.sampled_from(["new", "reuse", "none"]))
    def record_payment(self, via: int, i: int, j: int, choice: str) -> None:
        if choice == "reuse" and self.references:
            reference: str | None = self.references[j % len(self.references)]
        elif choice == "none":
            reference = None
        else:
            self.counter += 1
            reference = f"ref-{self.counter}"
        if self.run(via, "record_payment", self.pick(i), reference) and reference:
            self.references.append(reference)

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def initiate_payment(self, via: int, i: int) -> None:
        result = self.run(via, "initiate_payment", self.pick(i), email="fan@example.com")
        if result is not None and result.data:
            self.references.append(result.data["reference"])

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index, variant=st.sampled_from(["exact", "exact", "amount", "currency"]))
    def confirm_payment(self, via: int, i: int, variant: str) -> None:
        price = self.price(self.pick(i))
        assert price is not None
        amount, currency = price
        if variant == "amount":
            amount -= 1
        elif variant == "currency":
            currency = "KES"
        self.run(via, "confirm_payment", self.txn(i), amount=amount, currency=currency)

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def fail_payment(self, via: int, i: int) -> None:
        self.run(via, "fail_payment", self.txn(i), reason="Declined", provider_status="failed")

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index, reason=st.sampled_from(list(TimeoutReason)))
    def time_out_payment(self, via: int, i: int, reason: TimeoutReason) -> None:
        self.run(via, "time_out_payment", self.txn(i), reason)

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index, outcome=st.sampled_from(list(Outcome)))
    def apply_verification(self, via: int, i: int, outcome: Outcome) -> None:
        price = self.price(self.pick(i))
        assert price is not None
        if outcome is Outcome.SUCCESS:
            verification = Verification(outcome, "success", amount=price[0], currency=price[1])
        else:
            verification = Verification(outcome, outcome.value, gateway_response="from a test")
        self.run(via, "apply_verification", self.txn(i), verification)

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def provider_unreachable(self, via: int, i: int) -> None:
        self.run(via, "provider_unreachable", self.txn(i))

    # -- escrow and operators ----------------------------------------------------------------

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def release_escrow(self, via: int, i: int) -> None:
        self.run(via, "release_escrow", self.txn(i), run_id="run-1")

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def admin_release(self, via: int, i: int) -> None:
        self.run(via, "admin_release", self.txn(i), operator="ada", reason="ticket 1")

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def refund_escrow(self, via: int, i: int) -> None:
        self.run(via, "refund_escrow", self.txn(i), reason="dispute")

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def admin_refund(self, via: int, i: int) -> None:
        self.run(via, "admin_refund", self.txn(i), operator="ada", reason="ticket 2")

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def admin_resolve(self, via: int, i: int) -> None:
        self.run(via, "admin_resolve", self.txn(i), operator="ada", reason="ticket 3")

    @precondition(lambda self: self.requests)
    @rule(via=instance, i=index)
    def admin_mark_paid(self, via: int, i: int) -> None:
        self.run(via, "admin_mark_paid", self.txn(i), operator="ada", reason="ticket 4")

    @precondition(lambda self: self.references)
    @rule(via=instance, j=index)
    def confirm_refund(self, via: int, j: int) -> None:
        self.run(via, "confirm_refund", self.references[j % len(self.references)])

    # -- a guide, so that short runs reach deep states -------------------------------------

    # The guide is drawn three times as often as a single command (three rules), because a
    # run of 25 steps over some 30 rules rarely strings a request's whole life together.
    guide = {
        "via": instance,
        "i": index,
        "steps": st.integers(min_value=1, max_value=6),
        "path": st.sampled_from(["release", "refund", "flag", "late"]),
    }

    @precondition(lambda self: self.requests)
    @rule(**guide)
    def take_a_request_further(self, via: int, i: int, steps: int, path: str) -> None:
        self.take_request_further(via, i, steps, path)

    @precondition(lambda self: self.requests)
    @rule(**guide)
    def take_a_request_further_again(self, via: int, i: int, steps: int, path: str) -> None:
        self.take_request_further(via, i, steps, path)

    @precondition(lambda self: self.requests)
    @rule(**guide)
    def take_a_request_further_still(self, via: int, i: int, steps: int, path: str) -> None:
        self.take_request_further(via, i, steps, path)

    def take_request_further(self, via: int, i: int, steps: int, path: str) -> None:
        """Run the next commands of one request along a path, each one checked like a rule:
        ``release`` pays, completes and releases; ``refund`` pays and declines (refund);
        ``flag`` pays the wrong amount and refunds it; ``late`` fails, then succeeds late
        and is resolved by an operator."""
        request_id = self.pick(i)
        for _ in range(steps):
            ledger = self.ledgers[0]
            request = ledger.get_request(request_id)
            txn = ledger.find_request_transaction(request_id)
            status = request.status.value
            if txn is None:
                if status != "PENDING":
                    return
                self.counter += 1
                reference = f"ref-{self.counter}"
                if self.run(via, "record_payment", request_id, reference):
                    self.references.append(reference)
            elif txn.needs_review:
                command = "admin_refund" if path == "flag" else "admin_resolve"
                self.run(via, command, txn.id, operator="ada", reason=f"{path} path")
            elif txn.status.value == "PENDING":
                if path == "late":
                    self.run(via, "fail_payment", txn.id, reason="Declined", provider_status="x")
                else:
                    amount = txn.amount - (path == "flag")
                    self.run(via, "confirm_payment", txn.id, amount=amount, currency=txn.currency)
            elif txn.status.value == "FAILED" and txn.flag_reason is None and path == "late":
                self.run(via, "confirm_payment", txn.id, amount=txn.amount, currency=txn.currency)
            elif txn.escrow_status.value == "REFUNDED" and not txn.refund_confirmed:
                assert txn.reference is not None
                self.run(via, "confirm_refund", txn.reference)
            elif status == "IN_PROGRESS":
                if path == "refund":
                    self.run(via, "decline_request", request_id, note="refund path")
                else:
                    self.run(via, "complete_request", request_id)
            elif status == "COMPLETED" and txn.is_held:
                star = ledger.repository.get(request.celebrity_id).external_id
                self.run(via, "verify_user", star)
                self.run(via, "create_wallet", star, txn.currency)
                self.run(via, "release_escrow", txn.id)
            else:
                return

    # -- the world ---------------------------------------------------------------------------

    @rule(hours=st.sampled_from([1, 25, 49, 73]))
    def advance_clock(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule(mode=st.sampled_from(["fine", "fine", "down", "refusing"]))
    def provider_mood(self, mode: str) -> None:
        self.provider.down = mode == "down"
        self.provider.refuse_refunds = mode == "refusing"

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def store_keeps_the_invariants(self) -> None:
        check_store(self.ledgers, self.provider)


def check_store(ledgers: list[Ledger], provider: FakeProvider) -> None:
    """Invariants 2 to 5 against everything stored."""
    ledger = ledgers[0]
    events = stored_events(ledger)
    by_id = {e.originator_id for _, e in events}
    aggregates = {aid: ledger.repository.get(aid) for aid in by_id}

    # 5. Replay equals live. A cache may lag behind another instance's writes (a decision on
    # it is re-checked), but what it holds must be exactly the stored history at its version.
    for live in ledgers:
        for aid, cached in live._cache.items():
            assert cached._pending_events == [], "a cached aggregate has unsaved events"
            replayed = (
                aggregates[aid]
                if cached.version == aggregates[aid].version
                else ledger.repository.get(aid, version=cached.version)
            )
            assert state_of(cached) == state_of(replayed), f"cache differs from replay: {aid}"

    completed_at: dict[uuid.UUID, int] = {}
    closings: Counter[uuid.UUID] = Counter()
    credits: dict[uuid.UUID, list[tuple[int, Any]]] = defaultdict(list)
    verified: Counter[str] = Counter()
    released: Counter[str] = Counter()
    refunded_paid: Counter[str] = Counter()
    fees: Counter[str] = Counter()
    credited: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    flag_refunds: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    recorded_refunds = 0
    releases: list[tuple[int, Any]] = []
    wallet_moves: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    for nid, event in events:
        name = type(event).__name__
        aggregate = aggregates[event.originator_id]
        if name == "RequestCompleted":
            completed_at[event.originator_id] = nid
        elif name == "PaymentVerified":
            verified[aggregate.currency] += event.amount
        elif name == "PaymentFlagged":
            flagged[event.currency] += event.amount
        elif name == "EscrowReleased":
            closings[event.originator_id] += 1
            released[aggregate.currency] += event.amount
            fees[aggregate.currency] += event.fee
            releases.append((nid, event))
        elif name == "EscrowRefunded":
            closings[event.originator_id] += 1
            recorded_refunds += event.amount
            if aggregate.flag_reason is None:
                refunded_paid[aggregate.currency] += event.amount
            else:
                flag_refunds[aggregate.flagged_currency] += event.amount
        elif name == "ReviewResolved":
            resolved[aggregate.flagged_currency] += aggregate.flagged_amount
        elif name == "WalletCredited":
            credits[event.transaction_id].append((nid, event))
            credited[aggregate.currency] += event.amount
            wallet_moves[event.originator_id][0] += event.amount
        elif name == "WalletDebited":
            wallet_moves[event.originator_id][1] += event.amount

    # 2. Released or refunded at most once; a release only after the request completed.
    assert all(n == 1 for n in closings.values()), f"closed twice: {closings}"
    for nid, event in releases:
        txn = aggregates[event.originator_id]
        assert txn.request_id in completed_at, "released for a request never completed"
        assert completed_at[txn.request_id] < nid, "released before the request completed"
        # 3. Exactly one credit for it, in the same save (the next notification).
        assert len(credits[txn.id]) == 1, f"{txn.id} credited {len(credits[txn.id])} times"
        credit_nid, credit = credits[txn.id][0]
        assert credit_nid == nid + 1, "release and credit were not saved together"
        assert credit.originator_id == event.wallet_id
        assert credit.amount + event.fee == event.amount
    assert set(credits) <= {e.originator_id for _, e in releases}, "a credit without a release"

    # 4. Conservation, per currency.
    held: Counter[str] = Counter()
    suspense: Counter[str] = Counter()
    for aggregate in aggregates.values():
        kind = type(aggregate).__name__
        if kind == "Transaction":
            assert not (aggregate.flag_reason and aggregate.paid_at), "verified and flagged"
            if aggregate.is_held:
                held[aggregate.currency] += aggregate.amount
            if aggregate.in_suspense:
                suspense[aggregate.flagged_currency] += aggregate.flagged_amount
        elif kind == "Wallet":
            credit_sum, debit_sum = wallet_moves[aggregate.id]
            assert (aggregate.credited, aggregate.debited) == (credit_sum, debit_sum)
            assert aggregate.balance == credit_sum - debit_sum >= 0
    for currency in {*verified, *held, *released, *refunded_paid}:
        assert verified[currency] == held[currency] + released[currency] + refunded_paid[currency]
    for currency in {*released, *credited, *fees}:
        assert released[currency] == credited[currency] + fees[currency]
    for currency in {*flagged, *suspense, *flag_refunds, *resolved}:
        assert flagged[currency] == suspense[currency] + flag_refunds[currency] + resolved[currency]
    # The provider refunded exactly what the ledger recorded: never unrecorded, never twice.
    assert sum(amount for _, amount in provider.refunds) == recorded_refunds


class SQLiteLedgerMachine(LedgerMachine):
    def store_overrides(self) -> dict[str, Any]:
        self.tmpdir = tempfile.mkdtemp(prefix="ledger-sm-")
        return {"LEDGER_DATABASE_URL": f"sqlite:///{self.tmpdir}/ledger.db"}

    def drop_store(self) -> None:
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class PostgresLedgerMachine(LedgerMachine):
    def store_overrides(self) -> dict[str, Any]:
        assert PG_DATABASE_URL is not None
        self.schema = f"sm_{uuid.uuid4().hex[:12]}"
        PG_SCHEMAS.append(self.schema)
        return {
            "LEDGER_DATABASE_URL": PG_DATABASE_URL,
            "LEDGER_POSTGRES_SCHEMA": self.schema,
            "LEDGER_POSTGRES_POOL_SIZE": 1,
        }

    def drop_store(self) -> None:
        drop_schemas(PG_DATABASE_URL, [self.schema])


def drop_schemas(url: str | None, schemas: list[str]) -> None:
    if url is None or not schemas:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_machine_database(pg_database_url: str) -> Iterator[str]:
    global PG_DATABASE_URL  # noqa: PLW0603 - the machine is built by Hypothesis, not pytest
    PG_DATABASE_URL = pg_database_url
    yield pg_database_url
    drop_schemas(pg_database_url, PG_SCHEMAS)
    PG_SCHEMAS.clear()
    PG_DATABASE_URL = None


def run_machine(machine: Callable[[], LedgerMachine], **overrides: Any) -> None:
    run_state_machine_as_test(machine, settings=settings(settings(), **overrides))


def test_random_command_sequences_keep_the_invariants_on_sqlite() -> None:
    run_machine(SQLiteLedgerMachine)


@pytest.mark.postgres
def test_random_command_sequences_keep_the_invariants_on_postgres(
    pg_machine_database: str,
) -> None:
    # Bounded even under the "thorough" profile: each example makes a schema and two pools,
    # and the SQLite run already explores the same command space.
    run_machine(PostgresLedgerMachine, max_examples=min(settings().max_examples, 30))
