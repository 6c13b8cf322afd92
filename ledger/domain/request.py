"""The Request aggregate: a fan's paid request to a celebrity.

States::

    PENDING --paid--> IN_PROGRESS --complete--> COMPLETED
       |                  |
       +--decline--> DECLINED <--decline (a person's: celebrity_declined or
                                          operator_declined; the held payment is refunded)

A declined request is never reinstated. Decline reasons are a closed set (``DeclineReason``):
the celebrity's own decline (``celebrity_declined``) and an operator's (``operator_declined``)
are told apart, and ``RequestDeclined.operator`` names whoever issued the command.
A request's payment transaction has the deterministic id ``ids.transaction_id(request.id)``.
"""

from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.money import Money
from ledger.errors import DomainError, InvalidInput


class RequestStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    DECLINED = "DECLINED"


class DeclineReason(StrEnum):
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_TIMED_OUT = "payment_timed_out"
    REQUEST_TIMED_OUT = "request_timed_out"
    CELEBRITY_DECLINED = "celebrity_declined"
    OPERATOR_DECLINED = "operator_declined"

    @property
    def by_a_person(self) -> bool:
        """A person's decision (the celebrity's or an operator's), which may decline a paid
        request; the others are the ledger's own (a failed or timed-out payment)."""
        return self in (DeclineReason.CELEBRITY_DECLINED, DeclineReason.OPERATOR_DECLINED)


def check_decline_reason(reason: object) -> DeclineReason:
    try:
        return DeclineReason(str(reason))
    except ValueError:
        choices = ", ".join(r.value for r in DeclineReason)
        raise InvalidInput(
            f"invalid decline reason {reason!r}: expected one of {choices}"
        ) from None


class Request(LedgerAggregate):
    fan_id: UUID
    celebrity_id: UUID
    amount: int
    currency: str
    status: RequestStatus
    decline_reason: DeclineReason | None
    note: str | None

    class RequestCreated(LedgerAggregate.Created):
        fan_id: UUID
        celebrity_id: UUID
        amount: int
        currency: str

        def apply(self, aggregate: Any) -> None:
            aggregate.fan_id = self.fan_id
            aggregate.celebrity_id = self.celebrity_id
            aggregate.amount = self.amount
            aggregate.currency = self.currency
            aggregate.status = RequestStatus.PENDING
            aggregate.decline_reason = None
            aggregate.note = None

    class RequestPaid(LedgerAggregate.Event):
        transaction_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.status = RequestStatus.IN_PROGRESS

    class RequestCompleted(LedgerAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.status = RequestStatus.COMPLETED

    class RequestDeclined(LedgerAggregate.Event):
        """Version 2 added ``note`` (free text from whoever declined); version 3 added
        ``operator`` (who issued the decline: a person, or an API token's principal; None
        for the ledger's own declines). See docs/events.md."""

        class_version = 3
        reason: str
        note: str | None
        operator: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["note"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["operator"] = None

        def apply(self, aggregate: Any) -> None:
            aggregate.status = RequestStatus.DECLINED
            aggregate.decline_reason = DeclineReason(self.reason)
            aggregate.note = self.note

    def __init__(self) -> None:  # state is set by RequestCreated.apply
        pass

    @classmethod
    def create(
        cls, request_id: UUID, fan_id: UUID, celebrity_id: UUID, price: Money, at: Stamp
    ) -> "Request":
        """A new PENDING request from ``fan_id`` to ``celebrity_id`` for ``price``."""
        if fan_id == celebrity_id:
            raise DomainError("a request needs two different users: fan and celebrity are the same")
        return cls._create(
            cls.RequestCreated,
            id=request_id,
            timestamp=at.business,
            recorded_at=at.recorded,
            fan_id=fan_id,
            celebrity_id=celebrity_id,
            amount=price.amount,
            currency=price.currency,
        )

    @property
    def price(self) -> Money:
        return Money(self.amount, self.currency)

    def same_as(self, fan_id: UUID, celebrity_id: UUID, price: Money) -> bool:
        """Whether a repeated create names the same request (then it is a no-op)."""
        return (fan_id, celebrity_id, price) == (self.fan_id, self.celebrity_id, self.price)

    def mark_paid(self, transaction_id: UUID, at: Stamp) -> bool:
        """PENDING -> IN_PROGRESS once its payment is verified. No-op if already past it."""
        if self.status in (RequestStatus.IN_PROGRESS, RequestStatus.COMPLETED):
            return False
        if self.status is RequestStatus.DECLINED:
            raise DomainError(f"request {self.id} is DECLINED and cannot be paid")
        self._trigger(self.RequestPaid, at, transaction_id=transaction_id)
        return True

    def complete(self, at: Stamp) -> bool:
        """IN_PROGRESS -> COMPLETED. No-op if already COMPLETED."""
        if self.status is RequestStatus.COMPLETED:
            return False
        if self.status is not RequestStatus.IN_PROGRESS:
            raise DomainError(
                f"request {self.id} is {self.status.value}: only an IN_PROGRESS (paid) "
                "request can be completed"
            )
        self._trigger(self.RequestCompleted, at)
        return True

    def decline(
        self,
        reason: DeclineReason | str,
        at: Stamp,
        note: str | None = None,
        operator: str | None = None,
    ) -> bool:
        """PENDING -> DECLINED for any reason; IN_PROGRESS -> DECLINED only when a person
        declines (the celebrity or an operator; the caller refunds the held payment in the
        same save). No-op if already DECLINED. Never from COMPLETED."""
        reason = check_decline_reason(reason)
        if self.status is RequestStatus.DECLINED:
            return False
        if self.status is RequestStatus.COMPLETED:
            raise DomainError(f"request {self.id} is COMPLETED and cannot be declined")
        if self.status is RequestStatus.IN_PROGRESS and not reason.by_a_person:
            raise DomainError(
                f"request {self.id} is IN_PROGRESS: only the celebrity or an operator can "
                f"decline it now (reason {reason.value} applies to unpaid requests)"
            )
        self._trigger(self.RequestDeclined, at, reason=reason.value, note=note, operator=operator)
        return True


__all__ = ["DeclineReason", "Request", "RequestStatus", "check_decline_reason"]
