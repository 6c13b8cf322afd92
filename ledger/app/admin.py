"""Operator interventions on a payment, each audited (operator and reason are recorded):
mark a pending payment paid, release it by hand, resolve a flagged one settled outside the
ledger. (An operator's refund is with the other refunds, in ``ledger.app.refunds``.)
"""

from uuid import UUID

from ledger.app.inputs import check_operator, check_reason
from ledger.app.release import ReleaseCommands
from ledger.app.result import Decision, Result
from ledger.domain import escrow
from ledger.domain.base import LedgerAggregate
from ledger.domain.request import DeclineReason
from ledger.domain.transaction import ReleaseTrigger, TxStatus
from ledger.errors import DomainError


class AdminCommands(ReleaseCommands):
    def admin_mark_paid(self, transaction_id: UUID, *, operator: str, reason: str) -> Result:
        """An operator confirms a pending payment was received in full (replaces the old
        runbook's ``UPDATE ... SET status='COMPLETED'``)."""
        operator, reason = check_operator(operator), check_reason(reason)

        def decide(fresh: bool) -> Decision:
            txn, request = self._txn_and_request(transaction_id, fresh)
            if txn.status is TxStatus.COMPLETED:
                return [], Result(False, f"{txn.describe()} is already paid", txn.id)
            if txn.status is TxStatus.FAILED:
                raise DomainError(f"{txn.describe()} has failed and cannot be marked paid")
            if txn.needs_review:
                raise DomainError(
                    f"{txn.describe()} is flagged ({txn.flag_reason}): refund or resolve it"
                )
            at = self.now()
            changed = escrow.apply_success(
                txn,
                request,
                received=txn.price,
                provider_status="manual",
                provider_transaction_id=None,
                paid_at=at.business,
                at=at,
                operator=operator,
                note=reason,
            )
            return changed, Result(True, f"marked {txn.id} paid", txn.id)

        return self._run(decide)

    def admin_release(self, transaction_id: UUID, *, operator: str, reason: str) -> Result:
        """An operator releases held money of a COMPLETED request before the job does."""
        return self.release_escrow(
            transaction_id,
            trigger=ReleaseTrigger.ADMIN,
            operator=check_operator(operator),
            note=check_reason(reason),
        )

    def admin_resolve(self, transaction_id: UUID, *, operator: str, reason: str) -> Result:
        """Close a flagged payment settled outside the ledger (with a note). A pending one
        is closed and its request declined (``payment_failed``)."""
        operator, reason = check_operator(operator), check_reason(reason)

        def decide(fresh: bool) -> Decision:
            txn, request = self._txn_and_request(transaction_id, fresh)
            was_pending = txn.status is TxStatus.PENDING
            at = self.now()
            if not txn.resolve(operator=operator, note=reason, at=at):
                return [], Result(False, f"{txn.describe()} was already resolved", txn.id)
            changed: list[LedgerAggregate] = [txn]
            if was_pending and request.decline(DeclineReason.PAYMENT_FAILED, at, note=reason):
                changed.append(request)
            return changed, Result(True, f"resolved {txn.id}", txn.id)

        with self._locks.hold(transaction_id):
            return self._run(decide)


__all__ = ["AdminCommands"]
