"""A request's payment: record or initialise it, then apply what the provider says of it.

One payment attempt per request (the transaction's id derives from the request's). A
provider reference belongs to one transaction only: ``PaymentReference`` is claimed in the
same save. ``apply_verification`` applies the provider's answer as the outcome table of
docs/design.md says; the rules themselves are the domain's (``ledger.domain.escrow``).
"""

from datetime import datetime
from uuid import UUID

from ledger.addresses import check_email
from ledger.app.result import Decision, Result
from ledger.app.unit_of_work import UnitOfWork
from ledger.domain import escrow, ids
from ledger.domain.money import Money, check_amount, check_currency
from ledger.domain.reference import PaymentReference
from ledger.domain.request import Request, RequestStatus
from ledger.domain.transaction import TimeoutReason, Transaction
from ledger.errors import DomainError, InvalidInput
from ledger.providers.port import Outcome, Verification


class PaymentCommands(UnitOfWork):
    def record_payment(self, request_id: UUID, reference: str | None) -> Result:
        """Record a payment attempt the host initialised with the provider itself."""
        if reference is not None:
            ids.check_reference(reference)
        tid = ids.transaction_id(request_id)
        attempted: list[bool] = []

        def new() -> Decision:
            request = self._get(Request, request_id, fresh=True)
            self._depends_on(request.id, request.version)
            if request.status is not RequestStatus.PENDING:
                raise DomainError(
                    f"request {request_id} is {request.status.value}: only a PENDING request "
                    "takes a payment"
                )
            at = self.now()
            txn = Transaction.initiate(request_id, reference, request.price, at)
            done = Result(True, f"recorded payment {reference} for request {request_id}", tid)
            if reference is None:
                return [txn], done
            # A claim never changes, so a cached one is as good as a fresh one. An unknown
            # reference is not read on the first attempt: a claim by another transaction makes
            # this one collide on version 1 (nothing is written), and the retry reads the claim
            # and reports the clash here (without it, it would end as a misleading Conflict).
            ref_id = ids.reference_id(reference)
            if attempted or ref_id in self._cache:
                claimed = self._find(PaymentReference, ref_id)
                if claimed is not None and claimed.transaction_id != tid:
                    raise DomainError(
                        f"payment reference {reference} already belongs to transaction "
                        f"{claimed.transaction_id}"
                    )
            attempted.append(True)
            return [txn, PaymentReference.claim(reference, tid, at)], done

        def existing(fresh: bool) -> Decision:
            txn = self._get(Transaction, tid, fresh=fresh)
            if txn.reference != reference:
                raise DomainError(
                    f"request {request_id} already has a payment"
                    + (f" with reference {txn.reference}" if txn.reference else "")
                )
            return [], Result(False, f"payment {reference} is already recorded", tid)

        # The two save no aggregate in common with a decline of the same request, so without a
        # check a decline landing between new()'s read and the save left a PENDING payment on a
        # DECLINED request, and the money, when it arrived, could be neither applied nor
        # flagged. The save validates the request's version read (PostgreSQL), or the command
        # holds the payment's lock like decline_request does (SQLite).
        if self._locks.validates_reads:
            return self._create_once(new, existing, tid)
        with self._locks.hold(tid):
            return self._create_once(new, existing, tid)

    def initiate_payment(
        self,
        request_id: UUID,
        *,
        email: str,
        callback_url: str | None = None,
    ) -> Result:
        """Initialise a payment with the provider, then record it. The email goes to the
        provider only. ``data`` holds ``authorization_url``, ``access_code``, ``reference``."""
        check_email(email)
        provider = self._require_provider()
        request = self._get(Request, request_id, fresh=True)
        tid = ids.transaction_id(request_id)
        existing = self._find(Transaction, tid, fresh=True)
        if existing is not None:
            raise DomainError(
                f"request {request_id} already has a payment"
                + (f" with reference {existing.reference}" if existing.reference else "")
            )
        if request.status is not RequestStatus.PENDING:
            raise DomainError(f"request {request_id} is {request.status.value}, not PENDING")
        reference = f"esc_{request_id.hex}"
        init = provider.initialize(
            reference=reference,
            amount=request.amount,
            currency=request.currency,
            email=email,
            callback_url=callback_url,
            metadata={"request_id": str(request_id)},
        )
        result = self.record_payment(request_id, init.reference)
        data = {
            "authorization_url": init.authorization_url,
            "access_code": init.access_code,
            "reference": init.reference,
            "transaction_id": str(tid),
        }
        return Result(result.changed, result.message, tid, data)

    def confirm_payment(
        self,
        transaction_id: UUID,
        *,
        amount: int,
        currency: str,
        provider_status: str = "success",
        provider_transaction_id: str | None = None,
        paid_at: datetime | None = None,
    ) -> Result:
        """The provider says the money arrived (webhook or verify). Expected amount and
        currency: verified and held. Otherwise flagged; after a failure: late success."""
        received = Money(check_amount(amount), check_currency(currency))

        def decide(fresh: bool) -> Decision:
            txn, request = self._txn_and_request(transaction_id, fresh)
            at = self.now()
            changed = escrow.apply_success(
                txn,
                request,
                received=received,
                provider_status=provider_status,
                provider_transaction_id=provider_transaction_id,
                paid_at=paid_at or at.business,
                at=at,
            )
            return changed, _payment_result(txn, bool(changed))

        return self._run(decide)

    def fail_payment(
        self, transaction_id: UUID, *, reason: str, provider_status: str | None
    ) -> Result:
        """The provider says the payment failed: FAILED, escrow CANCELLED, request DECLINED."""

        def decide(fresh: bool) -> Decision:
            txn, request = self._txn_and_request(transaction_id, fresh)
            changed = escrow.apply_failure(
                txn, request, reason=reason, provider_status=provider_status, at=self.now()
            )
            return changed, _payment_result(txn, bool(changed))

        return self._run(decide)

    def time_out_payment(self, transaction_id: UUID, reason: TimeoutReason) -> Result:
        """Give up on a pending payment: FAILED, escrow CANCELLED, request DECLINED."""

        def decide(fresh: bool) -> Decision:
            txn, request = self._txn_and_request(transaction_id, fresh)
            changed = escrow.apply_timeout(txn, request, reason=reason, at=self.now())
            return changed, _payment_result(txn, bool(changed))

        return self._run(decide)

    def give_up_due(self, transaction_id: UUID) -> bool:
        """Whether a pending payment is past ``LEDGER_PAYMENT_GIVE_UP_AFTER`` from creation."""
        txn = self._get(Transaction, transaction_id)
        return self.clock() >= txn.created_on + self.settings.payment_give_up_after

    def apply_verification(self, transaction_id: UUID, verification: Verification) -> Result:
        """Apply a provider verification to a payment, as docs/design.md's outcome table
        says."""
        v = verification
        if v.outcome is Outcome.SUCCESS:
            if v.amount is None or v.currency is None:
                raise InvalidInput("a successful verification needs amount and currency")
            return self.confirm_payment(
                transaction_id,
                amount=v.amount,
                currency=v.currency,
                provider_status=v.provider_status,
                provider_transaction_id=v.provider_transaction_id,
                paid_at=v.paid_at,
            )
        if v.outcome is Outcome.FAILED:
            reason = v.gateway_response or v.provider_status
            return self.fail_payment(
                transaction_id, reason=reason, provider_status=v.provider_status
            )
        if v.outcome is Outcome.NOT_FOUND:
            return self.time_out_payment(transaction_id, TimeoutReason.NO_REFERENCE)
        if self.give_up_due(transaction_id):
            return self.time_out_payment(transaction_id, TimeoutReason.UNRESOLVED)
        return Result(
            False, f"payment still {v.provider_status}; checked again later", transaction_id
        )

    def provider_unreachable(self, transaction_id: UUID) -> Result:
        """The provider could not be asked: leave the payment PENDING until the give-up
        deadline, then time it out (``provider_unreachable``)."""
        if self.give_up_due(transaction_id):
            return self.time_out_payment(transaction_id, TimeoutReason.PROVIDER_UNREACHABLE)
        return Result(False, "provider unreachable; left pending for the next run", transaction_id)


def _payment_result(txn: Transaction, changed: bool) -> Result:
    if changed:
        return Result(True, f"{txn.describe()}", txn.id)
    return Result(False, f"nothing to do: {txn.describe()}", txn.id)


__all__ = ["PaymentCommands"]
