"""Money going back to the fan: declining a request (its held payment is refunded), an
operator's refund, and the provider's confirmation. Every refund is decided here.

*Provider first*: the provider is asked for the refund before anything is recorded; if it
refuses or is down, the command fails and nothing is written, so ``EscrowRefunded`` means
"the provider accepted the refund". A command that calls the provider *holds* the payment's
lock from decision to save (``ledger.locks``): no other writer can change the payment while
the provider call is in flight, and the refund it made is always recorded. The provider is
asked once per command, and never on a decision taken from cached state.
"""

from uuid import UUID

from ledger.app.inputs import check_operator, check_reason, check_text
from ledger.app.queries import Queries
from ledger.app.result import Decision, Result
from ledger.domain import escrow, ids
from ledger.domain.money import Money
from ledger.domain.request import DeclineReason, Request, RequestStatus
from ledger.domain.transaction import EscrowStatus, Transaction
from ledger.errors import DomainError, InvalidInput


class RefundCommands(Queries):
    def decline_request(
        self,
        request_id: UUID,
        *,
        reason: DeclineReason | str = DeclineReason.CELEBRITY_DECLINED,
        note: str | None = None,
        operator: str | None = None,
    ) -> Result:
        """Decline a request. A pending payment fails with it; a held payment is refunded
        through the provider first (if the provider refuses, nothing is recorded).
        ``operator``: who issued it (a person, or an API token's principal), recorded on the
        events; required for ``operator_declined``."""
        note = check_text(note, "note")
        reason = DeclineReason(reason)
        operator = check_text(operator, "operator")
        if reason is DeclineReason.OPERATOR_DECLINED and operator is None:
            raise InvalidInput("an operator's decline needs the operator's name")
        refund_reference: list[str] = []

        def decide(fresh: bool) -> Decision:
            request = self._get(Request, request_id, fresh=fresh)
            txn = self._find(Transaction, ids.transaction_id(request_id), fresh=True)
            # A payment recorded after this read must not be left PENDING on a declined request.
            self._depends_on(ids.transaction_id(request_id), txn.version if txn else 0)
            if request.status is RequestStatus.IN_PROGRESS and not refund_reference:
                assert txn is not None
                self._before_side_effect(fresh)
                refund_reference.append(self._provider_refund(txn, txn.refundable_amount()))
            changed = escrow.decline(
                request,
                txn,
                reason=reason,
                at=self.now(),
                note=note,
                refund_reference=refund_reference[0] if refund_reference else None,
                operator=operator,
            )
            if not changed:
                return [], Result(False, f"request {request_id} is already declined", request_id)
            return changed, Result(True, f"declined request {request_id}", request_id)

        with self._locks.hold(ids.transaction_id(request_id)):
            return self._run(decide)

    def refund_escrow(
        self,
        transaction_id: UUID,
        *,
        reason: str,
        operator: str | None = None,
        note: str | None = None,
    ) -> Result:
        """Refund held or flagged money through the provider, then record it. A flagged
        pending payment is closed and its request declined (``payment_failed``)."""
        refund_reference: list[str] = []

        def decide(fresh: bool) -> Decision:
            txn, request = self._txn_and_request(transaction_id, fresh)
            if txn.escrow_status is EscrowStatus.REFUNDED:
                return [], Result(False, f"{txn.describe()} was already refunded", txn.id)
            amount = escrow.check_refundable(txn, request)
            if not refund_reference:
                self._before_side_effect(fresh)
                refund_reference.append(self._provider_refund(txn, amount))
            changed = escrow.refund(
                txn,
                request,
                reason=reason,
                refund_reference=refund_reference[0],
                at=self.now(),
                operator=operator,
                note=note,
            )
            return changed, Result(
                True, f"refunded {Money(amount, txn.currency).format()} of {txn.id}", txn.id
            )

        with self._locks.hold(transaction_id):
            return self._run(decide)

    def admin_refund(self, transaction_id: UUID, *, operator: str, reason: str) -> Result:
        """An operator refunds held or flagged money (audited: operator and reason)."""
        return self.refund_escrow(
            transaction_id,
            reason="admin",
            operator=check_operator(operator),
            note=check_reason(reason),
        )

    def confirm_refund(self, reference: str) -> Result:
        """The provider processed the refund of the payment with ``reference``."""
        tid = self.find_transaction_id(reference)

        def decide(fresh: bool) -> Decision:
            txn = self._get(Transaction, tid, fresh=fresh)
            if txn.refund_reference is None:
                raise DomainError(f"{txn.describe()} has no refund to confirm")
            if not txn.confirm_refund(txn.refund_reference, self.now()):
                return [], Result(False, f"refund of {tid} was already confirmed", tid)
            return [txn], Result(True, f"refund of {tid} confirmed", tid)

        return self._run(decide)

    def _provider_refund(self, txn: Transaction, amount: int) -> str:
        """Ask the provider to refund ``amount`` of ``txn``; its refund reference."""
        if txn.reference is None:
            raise DomainError(f"{txn.describe()} has no provider reference to refund against")
        accepted = self._require_provider().refund(reference=txn.reference, amount=amount)
        return accepted.refund_reference


__all__ = ["RefundCommands"]
