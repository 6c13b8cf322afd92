"""The payment-provider port: what the ledger needs from Paystack (or a fake, or the simulator).

Implementations raise ``ProviderUnavailable`` for what a retry may fix (network error, timeout,
5xx, 429) and ``ProviderError`` for a refusal or an answer that cannot be used. They never put
a secret key in an exception, a log line or a repr.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    """What a verification says about the money (docs/design.md's outcome table)."""

    SUCCESS = "success"  # data.status success: money arrived (amount/currency to be checked)
    FAILED = "failed"  # failed, abandoned, reversed
    PENDING = "pending"  # ongoing, pending, processing, queued
    NOT_FOUND = "not_found"  # the provider does not know the reference


@dataclass(frozen=True)
class Verification:
    outcome: Outcome
    provider_status: str
    amount: int | None = None
    currency: str | None = None
    provider_transaction_id: str | None = None
    paid_at: datetime | None = None
    gateway_response: str | None = None


@dataclass(frozen=True)
class Initialized:
    authorization_url: str
    access_code: str
    reference: str


@dataclass(frozen=True)
class RefundAccepted:
    """The provider accepted (maybe queued) a refund; ``refund_reference`` identifies it."""

    refund_reference: str
    status: str


class PaymentProvider(Protocol):
    def initialize(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        email: str,
        callback_url: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Initialized: ...

    def verify(self, reference: str) -> Verification: ...

    def refund(self, *, reference: str, amount: int) -> RefundAccepted: ...


__all__ = ["Initialized", "Outcome", "PaymentProvider", "RefundAccepted", "Verification"]
