"""Per-payment locks in one process (the SQLite store): a held payment makes a guarded save
fail at once and another holder wait, then give up."""

import threading
import uuid

import pytest

from ledger.errors import PaymentBusy
from ledger.locks import LocalLocks, PostgresLocks, lock_key


def _in_other_thread(action: object) -> BaseException | None:
    outcome: list[BaseException | None] = [None]

    def run() -> None:
        try:
            action()  # type: ignore[operator]
        except BaseException as exc:  # collected for the assertion
            outcome[0] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    return outcome[0]


def test_a_guarded_save_fails_at_once_while_another_thread_holds_the_payment() -> None:
    locks = LocalLocks(f"scope-{uuid.uuid4()}", timeout=5.0)
    payment = uuid.uuid4()

    def guarded_save() -> None:
        with locks.guard([payment]):
            pass

    with locks.hold(payment):
        assert isinstance(_in_other_thread(guarded_save), PaymentBusy)
    assert _in_other_thread(guarded_save) is None


def test_a_second_holder_waits_up_to_the_timeout_then_is_refused() -> None:
    locks = LocalLocks(f"scope-{uuid.uuid4()}", timeout=0.2)
    payment = uuid.uuid4()

    def hold() -> None:
        with locks.hold(payment):
            pass

    with locks.hold(payment):
        assert isinstance(_in_other_thread(hold), PaymentBusy)
    assert _in_other_thread(hold) is None


def test_ledgers_on_one_store_share_the_locks_and_other_stores_do_not() -> None:
    scope = f"scope-{uuid.uuid4()}"
    payment = uuid.uuid4()
    first, second = LocalLocks(scope, 0.1), LocalLocks(scope, 0.1)
    elsewhere = LocalLocks(f"{scope}-other", 0.1)
    with first.hold(payment):
        assert isinstance(
            _in_other_thread(lambda: second.guard([payment]).__enter__()), PaymentBusy
        )
        with elsewhere.guard([payment]):
            pass


def test_postgres_guards_travel_with_the_save_as_advisory_lock_keys() -> None:
    payment = uuid.uuid4()
    locks = PostgresLocks(lambda: pytest.fail("a guard needs no connection"), timeout=1.0)
    assert locks.save_kwargs([]) == {}
    assert locks.save_kwargs([payment]) == {"payment_guard": [lock_key(payment)]}
    assert lock_key(payment) == lock_key(uuid.UUID(str(payment)))
    assert -(2**63) <= lock_key(payment) < 2**63
