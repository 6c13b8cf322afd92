"""A fan's request to a celebrity: create it, complete it, time it out.

Declining is in ``ledger.app.refunds``: a declined request's held payment is refunded.
Completing only *guards* its save against a payment another command holds (a refund in
flight): it then fails with ``PaymentBusy`` and writes nothing (``ledger.locks``).
"""

from uuid import UUID, uuid4

from ledger.app.result import Decision, Result
from ledger.app.unit_of_work import UnitOfWork
from ledger.domain import escrow, ids
from ledger.domain.money import Money, check_amount, check_currency
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import Role, User
from ledger.errors import DomainError


class RequestCommands(UnitOfWork):
    def create_request(
        self,
        fan: str,
        celebrity: str,
        amount: int,
        currency: str,
        request_id: UUID | None = None,
    ) -> Result:
        """A PENDING request from fan to celebrity. With ``request_id`` a repeat is a no-op."""
        price = Money(check_amount(amount), check_currency(currency))
        fan_id, celebrity_id = ids.user_id(fan), ids.user_id(celebrity)
        rid = request_id or uuid4()

        def new() -> Decision:
            # A user's role never changes: a cached copy is as good as a fresh one.
            fan_user, celebrity_user = self._get(User, fan_id), self._get(User, celebrity_id)
            fan_user.require_role(Role.FAN)
            celebrity_user.require_role(Role.CELEBRITY)
            request = Request.create(rid, fan_id, celebrity_id, price, self.now())
            return [request], Result(True, f"created request {rid} for {price.format()}", rid)

        def existing(fresh: bool) -> Decision:
            request = self._get(Request, rid, fresh=fresh)
            if not request.same_as(fan_id, celebrity_id, price):
                raise DomainError(f"request {rid} already exists with other details")
            return [], Result(False, f"request {rid} already exists", rid)

        return self._create_once(new, existing, rid)

    def complete_request(self, request_id: UUID) -> Result:
        def decide(fresh: bool) -> Decision:
            request = self._get(Request, request_id, fresh=fresh)
            if not request.complete(self.now()):
                return [], Result(False, f"request {request_id} is already completed", request_id)
            return [request], Result(True, f"completed request {request_id}", request_id)

        return self._run(decide, guard=[ids.transaction_id(request_id)])

    def time_out_request(self, request_id: UUID) -> Result:
        """Decline a request PENDING too long (the job checks the age): its pending payment
        times out, or a failed transaction is recorded when it never had one."""

        def decide(fresh: bool) -> Decision:
            request = self._get(Request, request_id, fresh=fresh)
            txn = self._find(Transaction, ids.transaction_id(request_id), fresh=fresh)
            changed = escrow.time_out_request(request, txn, self.now())
            if not changed:
                return [], Result(False, f"request {request_id} is already declined", request_id)
            return changed, Result(True, f"timed out request {request_id}", request_id)

        return self._run(decide)


__all__ = ["RequestCommands"]
