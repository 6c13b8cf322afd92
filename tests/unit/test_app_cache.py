"""The aggregate cache's copy and store, held against the library's behaviour.

``fast_copy`` must be indistinguishable from ``copy.deepcopy`` for every aggregate type in
every state the domain can reach (with and without pending events), and as independent of the
original; ``AggregateCache`` must keep the most recently used aggregates, at most ``size``.
"""

import threading
from copy import deepcopy
from enum import Enum
from typing import Any

import pytest

from ledger.app.cache import IMMUTABLE, AggregateCache, fast_copy, is_plain
from ledger.domain.base import LedgerAggregate
from ledger.domain.money import Money
from ledger.domain.reference import PaymentReference
from ledger.domain.request import Request
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from tests.unit.helpers import (
    AT,
    CELEBRITY,
    FAN,
    PRICE,
    REFERENCE,
    TXN_ID,
    given,
    live_txn,
    request_history,
    txn_history,
    user_history,
    wallet_history,
)

TXN_STATES = [
    "pending",
    "held",
    "failed",
    "timed_out",
    "flagged",
    "flagged_late",
    "released",
    "refunded",
    "refund_confirmed",
    "flagged_refunded",
    "flagged_resolved",
    "recorded_failed",
]


def _wallet_with_debits() -> Wallet:
    wallet: Wallet = given(wallet_history(balance=900_000))
    wallet.debit(Money(100_000, "NGN"), "payout-1", AT)
    wallet.debit(Money(200_000, "NGN"), "payout-2", AT)
    wallet.collect_events()
    return wallet


def _aggregates() -> list[tuple[str, LedgerAggregate]]:
    found: list[tuple[str, LedgerAggregate]] = [
        ("user registered", given(user_history())),
        ("user verified", given(user_history(role="celebrity", verified=True))),
        ("user pending events", User.register("fan-9", "fan", AT)),
        *[(f"request {s}", given(request_history(s))) for s in ("PENDING", "IN_PROGRESS")],
        *[(f"request {s}", given(request_history(s))) for s in ("COMPLETED", "DECLINED")],
        ("request pending events", Request.create(TXN_ID, FAN, CELEBRITY, PRICE, AT)),
        *[(f"transaction {s}", given(txn_history(s))) for s in TXN_STATES],
        *[(f"transaction {s} pending events", live_txn(s)) for s in ("held", "refunded")],
        ("wallet empty", given(wallet_history())),
        ("wallet credited", given(wallet_history(balance=500_000))),
        ("wallet debited", _wallet_with_debits()),
        ("reference", PaymentReference.claim(REFERENCE, TXN_ID, AT)),
    ]
    return found


AGGREGATES = _aggregates()


def test_every_aggregate_type_is_covered() -> None:
    covered = {type(a) for _, a in AGGREGATES}
    assert covered == {cls for cls in _all_subclasses(LedgerAggregate)}


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("ledger.domain"):
            found |= {sub} | _all_subclasses(sub)
    return found


@pytest.mark.parametrize(("name", "aggregate"), AGGREGATES, ids=[n for n, _ in AGGREGATES])
def test_every_aggregate_type_takes_the_fast_path(name: str, aggregate: LedgerAggregate) -> None:
    assert is_plain(type(aggregate)), f"{name}: fast_copy falls back to deepcopy"


@pytest.mark.parametrize(("name", "aggregate"), AGGREGATES, ids=[n for n, _ in AGGREGATES])
def test_fast_copy_equals_deepcopy(name: str, aggregate: LedgerAggregate) -> None:
    fast, deep = fast_copy(aggregate), deepcopy(aggregate)
    assert type(fast) is type(deep) is type(aggregate)
    assert vars(fast) == vars(deep) == vars(aggregate)
    assert fast.collect_events() == deep.collect_events()


@pytest.mark.parametrize(("name", "aggregate"), AGGREGATES, ids=[n for n, _ in AGGREGATES])
def test_fast_copy_shares_only_immutable_values(name: str, aggregate: LedgerAggregate) -> None:
    fast = fast_copy(aggregate)
    for attribute, value in vars(aggregate).items():
        if vars(fast)[attribute] is value:
            assert type(value) in IMMUTABLE or isinstance(value, Enum), (
                f"{name}.{attribute} ({type(value).__name__}) is shared with the original"
            )


def test_changing_a_copy_leaves_the_original_as_it_was() -> None:
    original = _wallet_with_debits()
    before = deepcopy(vars(original))
    copy = fast_copy(original)
    copy.debit(Money(1, "NGN"), "payout-3", AT)
    copy.debit_references.add("payout-4")
    assert vars(original) == before
    assert original.collect_events() == []
    assert "payout-3" in copy.debit_references


def test_values_shared_inside_an_aggregate_stay_shared_in_the_copy() -> None:
    wallet = _wallet_with_debits()
    shared: set[str] = {"x"}
    wallet.__dict__["a"], wallet.__dict__["b"] = shared, shared  # as deepcopy's memo keeps
    copy = fast_copy(wallet)
    assert copy.__dict__["a"] is copy.__dict__["b"]
    assert copy.__dict__["a"] is not shared


class _Custom:
    def __init__(self) -> None:
        self.items = [1, 2]
        self.copied = False

    def __deepcopy__(self, memo: dict[int, Any]) -> "_Custom":
        clone = _Custom()
        clone.copied = True
        return clone


class _Slotted:
    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items = [1]


def test_an_unusual_class_is_copied_by_deepcopy_itself() -> None:
    assert not is_plain(_Custom)
    assert fast_copy(_Custom()).copied  # type: ignore[type-var]
    assert not is_plain(_Slotted)
    slotted = _Slotted()
    copy = fast_copy(slotted)  # type: ignore[type-var]
    assert copy.items == [1]
    assert copy.items is not slotted.items


# -- the cache ----------------------------------------------------------------------------


def _users(n: int) -> list[User]:
    return [given(user_history(external_id=f"user-{i}")) for i in range(n)]


def test_the_least_recently_used_aggregate_is_evicted_first() -> None:
    a, b, c = _users(3)
    cache = AggregateCache(2)
    cache.put(a)
    cache.put(b)
    assert cache.get(a.id) is a  # a is now the most recently used
    cache.put(c)
    assert a.id in cache
    assert b.id not in cache
    assert c.id in cache
    assert len(cache) == 2
    assert [aid for aid, _ in cache.items()] == [a.id, c.id]


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    (a,) = _users(1)
    cache = AggregateCache(0)
    cache.put(a)
    assert cache.get(a.id) is None
    assert len(cache) == 0


def test_forgotten_aggregates_are_read_again() -> None:
    a, b = _users(2)
    cache = AggregateCache(10)
    cache.put(a)
    cache.put(b)
    cache.forget(a.id, b.id, TXN_ID)
    assert cache.get(a.id) is None
    assert len(cache) == 0


def test_threads_sharing_a_cache_never_exceed_its_size_or_lose_an_entry() -> None:
    users = _users(200)
    cache = AggregateCache(50)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(2000):
                user = users[(offset + i) % len(users)]
                cache.put(user)
                found = cache.get(user.id)
                assert found is None or found is user
                assert len(cache) <= 50
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n * 37,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) == 50
