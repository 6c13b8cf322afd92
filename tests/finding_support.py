"""What the finding tests share: many payments at known times, quickly.

``seed_payments`` writes ``n`` requests, each with a recorded payment, through a ledger whose
business clock advances one minute every ``same_time`` payments, so several rows share a
``createdAt`` and the keyset's tie-break on the id is exercised. Every payment after the first
``held`` is left PENDING; the first ``held`` are verified (held in escrow).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.application import Ledger
from ledger.clock import FixedClock


@dataclass(frozen=True)
class Seeded:
    requests: list[str]
    payments: list[str]
    references: list[str]
    created: list[datetime]

    def payments_in_order(self, *, oldest_first: bool = False) -> list[str]:
        """The payments as a list shows them: by (createdAt, id), newest first."""
        return _ordered(self.created, self.payments, oldest_first)

    def requests_in_order(self, *, oldest_first: bool = False) -> list[str]:
        return _ordered(self.created, self.requests, oldest_first)


def _ordered(created: list[datetime], keys: list[str], oldest_first: bool) -> list[str]:
    pairs = sorted(zip(created, keys, strict=True), reverse=not oldest_first)
    return [key for _, key in pairs]


def seed_payments(
    ledger: Ledger,
    clock: FixedClock,
    n: int,
    *,
    held: int = 0,
    same_time: int = 7,
    prefix: str = "find",
) -> Seeded:
    for user, role in (("fan-1", "fan"), ("fan-2", "fan"), ("star-1", "celebrity")):
        ledger.register_user(user, role, verified=role == "celebrity")
    requests, payments, references, created = [], [], [], []
    for i in range(n):
        if i and i % same_time == 0:
            clock.advance(timedelta(minutes=1))
        fan = "fan-1" if i % 2 == 0 else "fan-2"
        rid = ledger.create_request(fan, "star-1", 1000 + i, "NGN").id
        reference = f"{prefix}-{i}"
        tid = ledger.record_payment(rid, reference).id
        if i < held:
            ledger.confirm_payment(tid, amount=1000 + i, currency="NGN")
        requests.append(str(rid))
        payments.append(str(tid))
        references.append(reference)
        created.append(clock())
    return Seeded(requests, payments, references, created)


def twin_ids(first: str = "8ce098db") -> tuple[uuid.UUID, uuid.UUID]:
    """Two request ids that share their first 8 characters (an ambiguous prefix)."""
    return (
        uuid.UUID(f"{first}-0000-4000-8000-000000000001"),
        uuid.UUID(f"{first}-1111-4000-8000-000000000002"),
    )


__all__ = ["Seeded", "seed_payments", "twin_ids"]
