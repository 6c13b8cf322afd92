"""Wallets: open one for a verified user in a currency, take money out of one (a payout).

A wallet's id derives from its owner and currency, so opening twice finds the same wallet
("already exists"); a debit's reference makes a repeated payout a no-op.
"""

from ledger.app.result import Decision, Result
from ledger.app.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.money import Money, check_amount, check_currency
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.errors import DomainError


class WalletCommands(UnitOfWork):
    def create_wallet(self, external_id: str, currency: str = "NGN") -> Result:
        """Open a verified user's wallet in ``currency``. A repeat is a no-op."""
        check_currency(currency)
        uid = ids.user_id(external_id)
        wid = ids.wallet_id(uid, currency)

        def new() -> Decision:
            user = self._get(User, uid)
            if not user.verified:  # a cached "not verified" may be stale: re-check fresh
                user = self._get(User, uid, fresh=True)
            if not user.verified:
                raise DomainError(f"user {external_id} is not verified; verify before a wallet")
            wallet = Wallet.open(uid, currency, self.now())
            return [wallet], Result(True, f"created {currency} wallet for {external_id}", wid)

        def existing(fresh: bool) -> Decision:
            self._get(Wallet, wid, fresh=fresh)
            return [], Result(False, f"{currency} wallet of {external_id} already exists", wid)

        return self._create_once(new, existing, wid)

    def debit_wallet(self, external_id: str, currency: str, amount: int, reference: str) -> Result:
        """Take money out of a wallet (a payout). A repeated reference is a no-op."""
        money = Money(check_amount(amount), check_currency(currency))
        ids.check_reference(reference)
        wid = ids.wallet_id(ids.user_id(external_id), currency)

        def decide(fresh: bool) -> Decision:
            wallet = self._get(Wallet, wid, fresh=fresh)
            if not wallet.debit(money, reference, self.now()):
                return [], Result(False, f"debit {reference} was already applied", wid)
            return [wallet], Result(True, f"debited {money.format()}", wid)

        return self._run(decide)


__all__ = ["WalletCommands"]
