"""Fakes for the payment-provider port (fakes beat mocks: they keep state and can fail)."""

from dataclasses import dataclass, field
from typing import Any

from ledger.errors import ProviderError, ProviderUnavailable
from ledger.providers.port import Initialized, Outcome, RefundAccepted, Verification


@dataclass
class FakeProvider:
    """Records calls; ``verifications`` scripts verify answers per reference; ``down`` makes
    every call raise ``ProviderUnavailable``; ``refuse_refunds`` makes refunds fail."""

    verifications: dict[str, Verification] = field(default_factory=dict)
    down: bool = False
    refuse_refunds: bool = False
    refunds: list[tuple[str, int]] = field(default_factory=list)
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

    def refund(self, *, reference: str, amount: int) -> RefundAccepted:
        self._check()
        if self.refuse_refunds:
            raise ProviderError("fake provider refused the refund")
        self.refunds.append((reference, amount))
        return RefundAccepted(
            refund_reference=f"rf_{len(self.refunds)}_{reference}", status="pending"
        )
