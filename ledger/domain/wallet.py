"""The Wallet aggregate: one per user and currency, with a balance in minor units.

Invariant: ``balance == credited - debited >= 0``; a debit that would go below zero raises
``InsufficientFunds`` and writes nothing. Credits come only from escrow releases (see
``ledger.domain.escrow``); a debit reference is applied at most once.
"""

from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.ids import wallet_id
from ledger.domain.money import Money, check_currency
from ledger.errors import DomainError, InsufficientFunds


class Wallet(LedgerAggregate):
    user_id: UUID
    currency: str
    balance: int
    credited: int
    debited: int
    debit_references: set[str]

    class WalletCreated(LedgerAggregate.Created):
        user_id: UUID
        currency: str

        def apply(self, aggregate: Any) -> None:
            aggregate.user_id = self.user_id
            aggregate.currency = self.currency
            aggregate.balance = 0
            aggregate.credited = 0
            aggregate.debited = 0
            aggregate.debit_references = set()

    class WalletCredited(LedgerAggregate.Event):
        amount: int
        transaction_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.balance += self.amount
            aggregate.credited += self.amount

    class WalletDebited(LedgerAggregate.Event):
        amount: int
        reference: str

        def apply(self, aggregate: Any) -> None:
            aggregate.balance -= self.amount
            aggregate.debited += self.amount
            aggregate.debit_references.add(self.reference)

    def __init__(self) -> None:  # state is set by WalletCreated.apply
        pass

    @classmethod
    def open(cls, user_id: UUID, currency: str, at: Stamp) -> "Wallet":
        """A new, empty wallet for ``user_id`` in ``currency`` (deterministic id)."""
        check_currency(currency)
        return cls._create(
            cls.WalletCreated,
            id=wallet_id(user_id, currency),
            timestamp=at.business,
            recorded_at=at.recorded,
            user_id=user_id,
            currency=currency,
        )

    def _check_currency(self, money: Money) -> None:
        if money.currency != self.currency:
            raise DomainError(
                f"wallet {self.id} holds {self.currency}, not {money.currency}: "
                "currencies never mix"
            )

    def credit(self, money: Money, transaction_id: UUID, at: Stamp) -> None:
        """Add ``money`` released from ``transaction_id``'s escrow."""
        self._check_currency(money)
        self._trigger(self.WalletCredited, at, amount=money.amount, transaction_id=transaction_id)

    def debit(self, money: Money, reference: str, at: Stamp) -> bool:
        """Take ``money`` out (a payout). No-op if ``reference`` was already debited."""
        self._check_currency(money)
        if reference in self.debit_references:
            return False
        if money.amount > self.balance:
            raise InsufficientFunds(
                f"wallet {self.id} balance {self.balance} is below the debit of {money.amount}"
            )
        self._trigger(self.WalletDebited, at, amount=money.amount, reference=reference)
        return True


__all__ = ["Wallet"]
