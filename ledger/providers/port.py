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

The last two carry an ``AnswerDigest``. Refunds and the list calls use the same classes
(docs/providers.md, "Refunds" and "Listing"): ``refund`` answers a ``RefundAnswer`` (accepted) or
raises ``RefundRefused`` (a definitive refusal: nothing was created), ``get_refund`` answers a
``RefundAnswer`` or None (not found), the lists a ``ProviderPage``. A ``refund`` that ends
``ProviderUnavailable`` or ``ProviderAnswerInvalid`` has an UNKNOWN outcome (Paystack may have
accepted it): ask Paystack (``get_refund``, ``list_refunds(reference=...)``) before sending another.
Other refusals (``initialize``) are plain ``ProviderError`` with the provider's message.
Implementations never put a secret key in an exception, a log line or a repr.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from ledger.errors import ProviderError


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


class RefundStatus(StrEnum):
    """A refund's status at Paystack: ``pending`` -> ``processing`` -> ``processed``, or
    ``failed`` (the money went back to the merchant), or ``needs-attention`` (Paystack needs
    the customer's account details to finish it)."""

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs-attention"

    @property
    def final(self) -> bool:
        """Processed or failed: the refund will not move again on its own."""
        return self in (RefundStatus.PROCESSED, RefundStatus.FAILED)


@dataclass(frozen=True)
class RefundAnswer:
    """One refund as Paystack reports it (``POST /refund``, ``GET /refund/:id``, a list item).

    ``provider_refund_id`` is Paystack's ``data.id`` (the refund's own id, the key of
    ``GET /refund/:id``); it is never the ``refund_reference`` of the refund webhooks (a
    processor's reference, null until processed). ``amount`` and ``deducted_amount`` are minor
    units; ``currency`` is upper-cased. ``transaction_reference`` is the refunded payment's
    reference when the answer names it (``POST /refund`` and recent list/fetch answers do; an
    older answer gives only the numeric ``transaction_id``). ``merchant_note`` carries what the
    ledger sent (its refund key)."""

    provider_refund_id: str
    status: RefundStatus
    amount: int
    currency: str
    transaction_reference: str | None = None
    transaction_id: str | None = None
    merchant_note: str | None = None
    customer_note: str | None = None
    deducted_amount: int | None = None
    fully_deducted: bool | None = None
    created_at: datetime | None = None
    expected_at: datetime | None = None
    refunded_at: datetime | None = None

    @property
    def refund_reference(self) -> str:
        """``provider_refund_id`` under the name the ledger's older refund code reads (not
        Paystack's webhook ``refund_reference``)."""
        return self.provider_refund_id


@dataclass(frozen=True)
class ListedTransaction:
    """One item of ``GET /transaction``: the figures as Paystack sent them (``currency``
    upper-cased, ``raw_currency`` as sent). ``verification`` reads it as verify would."""

    verification: Verification
    provider_transaction_id: str
    reference: str
    status: str
    amount: int
    currency: str | None
    requested_amount: int | None = None
    paid_at: datetime | None = None
    created_at: datetime | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class ProviderPage(Generic[T]):
    """One page of a list call and Paystack's paging ``meta``: ``total`` items over
    ``page_count`` pages of ``per_page``; this is page ``page`` (from 1)."""

    items: tuple[T, ...]
    total: int
    page: int
    page_count: int
    per_page: int

    @property
    def is_last(self) -> bool:
        return not self.items or self.page >= self.page_count


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

    def refund(
        self,
        *,
        reference: str,
        amount: int,
        currency: str | None = None,
        merchant_note: str | None = None,
        customer_note: str | None = None,
    ) -> RefundAnswer: ...

    def get_refund(self, refund_id: str) -> RefundAnswer | None: ...

    def list_refunds(
        self,
        *,
        reference: str | None = None,
        currency: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> ProviderPage[RefundAnswer]: ...


class TransactionLister(Protocol):
    """What reconciliation needs besides the port: Paystack's list of transactions."""

    def list_transactions(
        self,
        *,
        from_: datetime,
        to: datetime,
        status: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> ProviderPage[ListedTransaction]: ...


def iter_pages(fetch: Callable[[int], ProviderPage[T]], *, max_pages: int = 10_000) -> Iterator[T]:
    """Every item of a paged list, asking ``fetch(page)`` for page 1, 2, ... as the caller
    consumes them: one page in memory at a time. Stops after the page Paystack's ``meta``
    calls the last (or an empty one). ``max_pages`` bounds a list that never ends (a
    provider answering nonsense): past it, ``ProviderError``.

    Offset paging over a list that changes meanwhile may show an item twice or skip one (a
    new item shifts the pages): page over a window that has ended, and key items by id."""
    for number in range(1, max_pages + 1):
        page = fetch(number)
        yield from page.items
        if page.is_last:
            return
    raise ProviderError(f"the provider's list did not end within {max_pages} pages")


__all__ = [
    "Initialized",
    "ListedTransaction",
    "Outcome",
    "PaymentProvider",
    "ProviderPage",
    "RefundAnswer",
    "RefundStatus",
    "TransactionLister",
    "Verification",
    "iter_pages",
]
