"""Per-payment locks that keep a refund in flight safe from every other writer of that payment.

Refunds are provider-first (docs/design.md): Paystack is asked, then the refund is recorded, and if
Paystack refuses nothing is recorded. While the provider call is in flight, a second writer
(the release job, the celebrity completing the request, another decline) could change the
payment; the refund's save would then collide, and the money Paystack already sent back would
not be recorded, or would also be paid out. So the commands that call the provider
(refund, decline) and those whose decision another one could invalidate (resolve, recording a
payment) hold that payment's lock from decision to save, waiting up to
``LEDGER_PAYMENT_LOCK_TIMEOUT``; the hot commands that cannot conflict with each other
(complete, release) only *guard* their save: it fails with ``PaymentBusy`` if the payment is
held, checked inside the save's own transaction on PostgreSQL (no extra round trip). A refund
decides on fresh state after taking the lock, so a guarded save that landed just before it
is seen, and one that comes after fails. Nothing is written by a command that fails.

PostgreSQL: a session advisory lock, so it holds across processes and replicas. SQLite (the
embedded, single-process default): a lock in this process.
What it deliberately does not do: hold a lock across a crash. A process that dies after
Paystack accepted a refund but before recording it leaves no trace here; Paystack's
``refund.processed`` webhook for a refund the ledger does not know is then reported (see
docs/operations.md).
"""

import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, Protocol
from uuid import UUID

from ledger.errors import PaymentBusy

# The SQLSTATEs a save raises inside its own transaction: a payment is held (guard), or an
# aggregate the decision read but does not write changed since it was read (read set).
GUARD_SQLSTATE = "LDG01"
STALE_READ_SQLSTATE = "LDG02"

# (aggregate id, version the decision read; 0 when it did not exist)
ReadSet = Sequence[tuple[UUID, int]]


class PaymentLocks(Protocol):
    def hold(self, payment: UUID) -> AbstractContextManager[None]:
        """Hold ``payment`` from a decision to its save (waiting up to the timeout)."""
        ...

    def guard(self, payments: Sequence[UUID]) -> AbstractContextManager[None]:
        """Around a save: fail with ``PaymentBusy`` if any of ``payments`` is held."""
        ...

    def save_kwargs(self, payments: Sequence[UUID], reads: ReadSet = ()) -> dict[str, Any]:
        """Keyword arguments that make the save itself check, atomically, that none of
        ``payments`` is held and that no aggregate in ``reads`` moved past the version read."""
        ...

    @property
    def validates_reads(self) -> bool:
        """Whether saves check their read set (else a command must hold the lock instead)."""
        ...


def lock_key(payment: UUID) -> int:
    """A stable signed 64-bit advisory-lock key for ``payment``."""
    digest = hashlib.sha256(b"ledger.payment:" + payment.bytes).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _busy(payment: UUID) -> PaymentBusy:
    return PaymentBusy(
        f"payment {payment} is busy (a refund or another change is in progress); try again"
    )


_LOCAL: dict[tuple[str, UUID], threading.RLock] = {}
_LOCAL_GUARD = threading.Lock()


class LocalLocks:
    """Locks within this process, shared by every ledger on the same store ``scope``."""

    def __init__(self, scope: str, timeout: float) -> None:
        self.scope = scope
        self.timeout = timeout

    def _lock(self, payment: UUID) -> threading.RLock:
        with _LOCAL_GUARD:
            return _LOCAL.setdefault((self.scope, payment), threading.RLock())

    @contextmanager
    def hold(self, payment: UUID) -> Iterator[None]:
        lock = self._lock(payment)
        if not lock.acquire(timeout=self.timeout):
            raise _busy(payment)
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def guard(self, payments: Sequence[UUID]) -> Iterator[None]:
        with ExitStack() as stack:
            for payment in payments:
                lock = self._lock(payment)
                if not lock.acquire(blocking=False):
                    raise _busy(payment)
                stack.callback(lock.release)
            yield

    def save_kwargs(self, payments: Sequence[UUID], reads: ReadSet = ()) -> dict[str, Any]:
        return {}

    @property
    def validates_reads(self) -> bool:
        return False


class PostgresLocks:
    """Session advisory locks taken on a connection of the event store's pool (``hold``), and
    a check inside the save's own transaction (``save_kwargs``: a shared transaction-level
    try-lock, so a guarded save costs no extra round trip)."""

    def __init__(self, get_connection: Callable[[], AbstractContextManager[Any]], timeout: float):
        self._get_connection = get_connection
        self.timeout = timeout
        self._held = threading.local()  # re-entrant within a thread (decline -> refund)

    @contextmanager
    def hold(self, payment: UUID) -> Iterator[None]:
        held: set[UUID] = getattr(self._held, "keys", set())
        if payment in held:
            yield
            return
        key = lock_key(payment)
        with self._get_connection() as conn:
            deadline = time.monotonic() + self.timeout
            while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", [key]).fetchone()["ok"]:
                if time.monotonic() >= deadline:
                    raise _busy(payment)
                time.sleep(0.02)
            self._held.keys = held | {payment}
            try:
                yield
            finally:
                self._held.keys = held
                conn.execute("SELECT pg_advisory_unlock(%s)", [key])

    @contextmanager
    def guard(self, payments: Sequence[UUID]) -> Iterator[None]:
        yield  # the save checks (see save_kwargs)

    def save_kwargs(self, payments: Sequence[UUID], reads: ReadSet = ()) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if payments:
            kwargs["payment_guard"] = [lock_key(p) for p in payments]
        if reads:
            kwargs["expect_versions"] = list(reads)
        return kwargs

    @property
    def validates_reads(self) -> bool:
        return True


__all__ = [
    "GUARD_SQLSTATE",
    "STALE_READ_SQLSTATE",
    "LocalLocks",
    "PaymentLocks",
    "PostgresLocks",
    "ReadSet",
    "lock_key",
]
