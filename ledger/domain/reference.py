"""The PaymentReference aggregate: a unique index from a provider reference to its transaction.

Created in the same save as the transaction it names, with the deterministic id
``ids.reference_id(reference)``, so a reference can belong to one transaction only (a second
claim collides on version 1) and a webhook finds its transaction without a read table.
"""

from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.ids import check_reference, reference_id


class PaymentReference(LedgerAggregate):
    reference: str
    transaction_id: UUID

    class ReferenceClaimed(LedgerAggregate.Created):
        reference: str
        transaction_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.reference = self.reference
            aggregate.transaction_id = self.transaction_id

    def __init__(self) -> None:  # state is set by ReferenceClaimed.apply
        pass

    @classmethod
    def claim(cls, reference: str, transaction_id: UUID, at: Stamp) -> "PaymentReference":
        check_reference(reference)
        return cls._create(
            cls.ReferenceClaimed,
            id=reference_id(reference),
            timestamp=at.business,
            recorded_at=at.recorded,
            reference=reference,
            transaction_id=transaction_id,
        )


__all__ = ["PaymentReference"]
