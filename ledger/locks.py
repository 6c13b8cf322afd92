"""Per-payment locks that keep a refund in flight safe from every other writer of that payment.

Refunds are provider-first (DESIGN.md): Paystack is asked, then the refund is recorded, and if
Paystack refuses nothing is recorded. While the provider call is in flight, a second writer
(the release job, the celebrity completing the request, another decline) could change the
payment; the refund's save would then collide, and the money Paystack already sent back would
not be recorded, or would also be paid out. So every command that can consume a payment's
escrow (refund, decline, resolve, release, complete) holds that payment's lock from its
decision to its save. The lock is waited for up to ``LEDGER_PAYMENT_LOCK_TIMEOUT``, then the
command fails with ``PaymentBusy`` (nothing written; retry later).

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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol
from uuid import UUID

from ledger.errors import LedgerError


class PaymentBusy(LedgerError):
    """Another command holds this payment (e.g. a refund is in flight); nothing was written."""


class PaymentLocks(Protocol):
    def hold(self, payment: UUID) -> AbstractContextManager[None]: ...


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

    @contextmanager
    def hold(self, payment: UUID) -> Iterator[None]:
        with _LOCAL_GUARD:
            lock = _LOCAL.setdefault((self.scope, payment), threading.RLock())
        if not lock.acquire(timeout=self.timeout):
            raise _busy(payment)
        try:
            yield
        finally:
            lock.release()


class PostgresLocks:
    """Session advisory locks taken on a connection of the event store's pool."""

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


__all__ = ["LocalLocks", "PaymentBusy", "PaymentLocks", "PostgresLocks", "lock_key"]
