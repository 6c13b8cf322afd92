"""Reading single aggregates by id, fresh from the store: what ``show`` commands and the API's
GET routes return. (Lists and reports come from the read tables, ``projections``.)"""

from uuid import UUID

from ledger.app.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.money import check_currency
from ledger.domain.reference import PaymentReference
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.errors import NotFound


class Queries(UnitOfWork):
    def get_user(self, external_id: str) -> User:
        return self._get(User, ids.user_id(external_id), fresh=True)

    def get_request(self, request_id: UUID) -> Request:
        return self._get(Request, request_id, fresh=True)

    def get_transaction(self, transaction_id: UUID) -> Transaction:
        return self._get(Transaction, transaction_id, fresh=True)

    def get_wallet(self, external_id: str, currency: str = "NGN") -> Wallet:
        check_currency(currency)
        return self._get(Wallet, ids.wallet_id(ids.user_id(external_id), currency), fresh=True)

    def wallet_id_if_open(self, user_id: UUID, currency: str) -> UUID:
        """The id of ``user_id``'s wallet in ``currency``; ``NotFound`` when it is not open
        yet. (Wallets are never closed, so a cached answer is a true one.)"""
        wid = ids.wallet_id(user_id, check_currency(currency))
        if self._find(Wallet, wid) is None:
            raise NotFound(f"user {user_id} has no {currency} wallet yet")
        return wid

    def find_request_transaction(self, request_id: UUID) -> Transaction | None:
        return self._find(Transaction, ids.transaction_id(request_id), fresh=True)

    def find_transaction_id(self, reference: str) -> UUID:
        """The transaction a provider reference belongs to. Raises ``NotFound``.
        (A claim never changes, so a cached one is as good as a fresh one.)"""
        ids.check_reference(reference)
        index = self._get(PaymentReference, ids.reference_id(reference))
        return index.transaction_id


__all__ = ["Queries"]
