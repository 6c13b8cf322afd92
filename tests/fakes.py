"""Fakes for the payment-provider port (fakes beat mocks: they keep state and can fail)."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ledger.errors import ProviderUnavailable, RefundRefused
from ledger.providers.port import (
    Initialized,
    Outcome,
    ProviderPage,
    RefundAnswer,
    RefundStatus,
    Verification,
)


@dataclass
class FakeProvider:
    """Records calls; ``verifications`` scripts verify answers per reference; ``down`` makes
    every call raise ``ProviderUnavailable``; ``refuse_refunds`` makes refunds refused
    (``RefundRefused``). ``refunds`` lists (reference, amount) of each accepted refund and
    ``refund_answers`` what was answered, which ``get_refund`` and ``list_refunds`` serve
    (``set_refund_status`` moves one on)."""

    verifications: dict[str, Verification] = field(default_factory=dict)
    down: bool = False
    refuse_refunds: bool = False
    refunds: list[tuple[str, int]] = field(default_factory=list)
    refund_answers: list[RefundAnswer] = field(default_factory=list)
    initialized: list[dict[str, Any]] = field(default_factory=list)

    def _check(self) -> None:
        if self.down:
            raise ProviderUnavailable("fake provider is down")

    def initialize(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        email: str,
        callback_url: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Initialized:
        self._check()
        self.initialized.append(
            {"reference": reference, "amount": amount, "currency": currency, "email": email}
        )
        return Initialized(
            authorization_url=f"https://checkout.example/{reference}",
            access_code=f"ac_{reference}",
            reference=reference,
        )

    def verify(self, reference: str) -> Verification:
        self._check()
        return self.verifications.get(reference, Verification(Outcome.NOT_FOUND, "not_found"))

    def refund(
        self,
        *,
        reference: str,
        amount: int,
        currency: str | None = None,
        merchant_note: str | None = None,
        customer_note: str | None = None,
    ) -> RefundAnswer:
        self._check()
        if self.refuse_refunds:
            raise RefundRefused(
                "fake provider refused the refund",
                provider_message="Transaction has been fully reversed",
                http_status=400,
                code="transaction_reversed",
            )
        self.refunds.append((reference, amount))
        answer = RefundAnswer(
            provider_refund_id=f"rf_{len(self.refunds)}_{reference}",
            status=RefundStatus.PENDING,
            amount=amount,
            currency=(currency or "NGN").upper(),
            transaction_reference=reference,
            merchant_note=merchant_note,
            customer_note=customer_note,
            deducted_amount=0,
        )
        self.refund_answers.append(answer)
        return answer

    def get_refund(self, refund_id: str) -> RefundAnswer | None:
        self._check()
        return next((a for a in self.refund_answers if a.provider_refund_id == refund_id), None)

    def list_refunds(
        self,
        *,
        reference: str | None = None,
        currency: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> ProviderPage[RefundAnswer]:
        self._check()
        found = [
            a
            for a in reversed(self.refund_answers)
            if (reference is None or a.transaction_reference == reference)
            and (currency is None or a.currency == currency.upper())
        ]
        items = tuple(found[(page - 1) * per_page : page * per_page])
        count = -(-len(found) // per_page)
        return ProviderPage(items, total=len(found), page=page, page_count=count, per_page=per_page)

    def set_refund_status(self, refund_id: str, status: RefundStatus) -> None:
        """Paystack moved refund ``refund_id`` on (as its webhooks would say)."""
        for index, answer in enumerate(self.refund_answers):
            if answer.provider_refund_id == refund_id:
                self.refund_answers[index] = replace(answer, status=status)
                return
        raise KeyError(refund_id)
