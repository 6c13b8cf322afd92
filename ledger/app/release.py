"""Releasing held money to the celebrity's wallet, less the platform fee: the job's and an
operator's (``ledger.app.admin``) way out of escrow.

The transaction and the wallet are saved together: the release marks the payment and credits
the wallet, or neither happens. The save only *guards* against a payment another command
holds (a refund in flight): it then fails with ``PaymentBusy`` and writes nothing.
"""

from uuid import UUID

from ledger.app.result import Decision, Result
from ledger.app.unit_of_work import UnitOfWork
from ledger.domain import escrow, ids
from ledger.domain.money import Money
from ledger.domain.transaction import EscrowStatus, ReleaseTrigger
from ledger.domain.wallet import Wallet
from ledger.errors import NotFound


class ReleaseCommands(UnitOfWork):
    def release_escrow(
        self,
        transaction_id: UUID,
        *,
        trigger: ReleaseTrigger = ReleaseTrigger.JOB,
        run_id: str | None = None,
        operator: str | None = None,
        note: str | None = None,
    ) -> Result:
        """Release held money to the celebrity's wallet (less the fee), atomically.
        Raises ``NotFound`` when the celebrity has no wallet in that currency yet."""

        def decide(fresh: bool) -> Decision:
            txn, request = self._txn_and_request(transaction_id, fresh)
            if txn.escrow_status is EscrowStatus.RELEASED:
                return [], Result(False, f"{txn.describe()} was already released", txn.id)
            wid = ids.wallet_id(request.celebrity_id, txn.currency)
            wallet = self._find(Wallet, wid, fresh=fresh)
            if wallet is None:
                raise NotFound(
                    f"celebrity of request {request.id} has no {txn.currency} wallet yet "
                    "(create it with `ledger wallets create`)"
                )
            changed = escrow.release(
                txn,
                request,
                wallet,
                fee_bps=self.fee_bps,
                trigger=trigger,
                run_id=run_id,
                at=self.now(),
                operator=operator,
                note=note,
            )
            fee = txn.fee or 0
            return changed, Result(
                True,
                f"released {Money(txn.amount, txn.currency).format()} (fee {fee}) to wallet {wid}",
                txn.id,
            )

        return self._run(decide, guard=[transaction_id])


__all__ = ["ReleaseCommands"]
