"""The payment-provider port: what the ledger needs from Paystack (or a fake, or the simulator).

Every answer to ``verify`` is exactly one of five classes (docs/providers.md), and the types
keep them apart so that a caller cannot mistake one for another:

- **definitive**: a ``Verification`` whose ``outcome`` is SUCCESS, FAILED or PENDING (a
  well-formed body about this reference with a known ``data.status``);
- **not found**: a ``Verification`` with ``outcome`` NOT_FOUND (Paystack's documented answer
  for a reference it never saw);
- **unreachable**: ``ProviderUnavailable`` (network error, timeout, the call's deadline, 5xx,
  429, after the retries);
- **misconfigured**: ``ProviderMisconfigured`` (401/403, a body that is not JSON, a 404 that
  is not Paystack's not-found answer): says nothing about any payment;
- **invalid**: ``ProviderAnswerInvalid`` (JSON that cannot be trusted about this reference).

The last two carry an ``AnswerDigest``. Other refusals (``initialize``, ``refund``) are plain
``ProviderError`` with the provider's message. Implementations never put a secret key in an
exception, a log line or a repr.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    """What a verification says about the money (docs/providers.md's outcome table)."""

    SUCCESS = "success"  # data.status success: money arrived (amount/currency to be checked)
    FAILED = "failed"  # failed, abandoned, reversed
    PENDING = "pending"  # ongoing, pending, processing, queued
    NOT_FOUND = "not_found"  # the provider does not know the reference


@dataclass(frozen=True)
class Verification:
    """A definitive or not-found answer about one reference.

    Amounts are the provider's figures as sent, in minor units, and may lie outside what
    the ledger can book (above 10^12, say): deciding what fits is the ledger's job, never a
    reason to drop a success. ``currency`` is the code upper-cased for comparison (``ngn`` is
    ``NGN``; it may be one the ledger does not settle, such as ``XOF``); ``raw_currency`` is
    the code exactly as sent. ``amount`` is what was charged; ``requested_amount``, when the
    provider sends it, is what was asked for: with fees passed on to the customer ``amount``
    is the larger, and the request's price is to be compared with ``requested_amount``."""

    outcome: Outcome
    provider_status: str
    amount: int | None = None
    currency: str | None = None
    provider_transaction_id: str | None = None
    paid_at: datetime | None = None
    gateway_response: str | None = None
    requested_amount: int | None = None
    raw_currency: str | None = None
    reference: str | None = None


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
