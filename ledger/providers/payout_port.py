"""The payout-provider port: what the ledger needs from Flutterwave transfers (or the simulator).

Every answer is exactly one of five classes, as for payments (docs/providers.md), and the types
keep them apart so that a caller cannot mistake one for another:

- **definitive**: a ``Transfer`` (with its ``TransferOutcome``), a ``Recipient``, a
  ``ResolvedAccount`` or a ``TransferPage`` built from a well-formed answer about this call;
- **not found**: ``None`` from ``get_transfer`` / ``find_transfer`` (Flutterwave's documented
  not-found answer, or a complete search that did not meet the reference);
- **unreachable**: ``ProviderUnavailable`` (network error, the call's deadline, 5xx, 429 after
  the retries; ``PayoutLookupIncomplete`` when a search could not finish): nothing is decided;
- **misconfigured**: ``ProviderMisconfigured`` (401 after one token refresh, 403, a body that
  is not Flutterwave's JSON, a not-found that is not Flutterwave's): says nothing about money;
- **invalid**: ``ProviderAnswerInvalid`` (JSON that cannot be trusted about this call: schema,
  unknown status, another reference or id, an amount that does not convert exactly).

A documented refusal of a request (``TransferRefused``: insufficient balance, a bad bank code,
a validation error) means Flutterwave created nothing. ``ProviderMisconfigured``,
``ProviderAnswerInvalid`` and ``AnswerDigest`` are ``ledger.errors``'s, shared with Paystack
and re-exported here. Amounts are integer minor units; account numbers never appear in a repr,
a message or a log line (only their last four digits).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ledger.errors import (
    AnswerDigest,
    InvalidInput,
    PayoutLookupIncomplete,
    ProviderAnswerInvalid,
    ProviderMisconfigured,
    TransferRefused,
)

_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
_ACCOUNT = re.compile(r"[A-Za-z0-9]{4,34}")


def mask_account(number: str) -> str:
    """An account number as it may be shown: ``******0040`` (last four digits only)."""
    tail = number[-4:] if len(number) > 4 else ""
    return "*" * max(len(number) - len(tail), 4) + tail


def check_reference(reference: object) -> str:
    """A transfer reference: 1-100 letters, digits, ``_``, ``-`` or ``.``."""
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        raise InvalidInput("a transfer reference is 1-100 letters, digits, '_', '-' or '.'")
    return reference


def check_bank_code(code: object) -> str:
    """A bank code (surrounding spaces dropped): 1-20 letters or digits."""
    text = code.strip() if isinstance(code, str) else ""
    if not text or len(text) > 20 or not text.isalnum():
        raise InvalidInput("a bank code is 1-20 letters or digits")
    return text


def check_account_number(number: object) -> str:
    """An account number (surrounding spaces dropped): 4-34 letters or digits. The error
    never repeats it."""
    text = number.strip() if isinstance(number, str) else ""
    if not _ACCOUNT.fullmatch(text):
        raise InvalidInput("an account number is 4-34 letters or digits")
    return text


class TransferOutcome(StrEnum):
    """What a transfer's status says about the money."""

    PENDING = "pending"  # NEW, PENDING, INITIATED: not final yet
    SUCCEEDED = "succeeded"  # SUCCESSFUL: the money left
    FAILED = "failed"  # FAILED, CANCELLED: the money never left
    REVERSED = "reversed"  # reversed after a success: the money came back

    @property
    def final(self) -> bool:
        """Whether no later status is expected (a success may still be reversed later)."""
        return self is not TransferOutcome.PENDING


@dataclass(frozen=True)
class Transfer:
    """A transfer as the provider reports it, amounts in minor units of ``currency`` (the
    currency the amount applies to). ``status`` is the provider's own word."""

    id: str
    reference: str
    status: str
    outcome: TransferOutcome
    amount: int
    currency: str
    recipient_id: str | None = None
    fee: int | None = None
    fee_currency: str | None = None
    narration: str | None = None
    failure_reason: str | None = None
    created_at: datetime | None = None
    reversed_at: datetime | None = None


@dataclass(frozen=True)
class ResolvedAccount:
    """A bank account as the bank names its holder. The number is personal data: the repr
    shows only its last four digits."""

    bank_code: str
    account_number: str = field(repr=False)
    account_name: str

    @property
    def masked_number(self) -> str:
        return mask_account(self.account_number)

    def __repr__(self) -> str:
        return (
            f"ResolvedAccount(bank_code={self.bank_code!r}, "
            f"account_number={self.masked_number!r}, account_name={self.account_name!r})"
        )


@dataclass(frozen=True)
class Recipient:
    """The provider's recipient entity for one bank account (created once, reused)."""

    id: str
    bank_code: str
    account_last4: str
    currency: str
    name: str


@dataclass(frozen=True)
class UnreadableTransfer:
    """A listed transfer that could not be read (for reconciliation to report, not drop)."""

    id: str | None
    reference: str | None
    reason: str


@dataclass(frozen=True)
class TransferPage:
    """One page of the provider's transfer list, filtered to the window asked for.
    ``unreadable`` holds the listed items that failed validation, never silently skipped."""

    transfers: tuple[Transfer, ...]
    page: int
    total_pages: int
    total: int
    unreadable: tuple[UnreadableTransfer, ...] = ()

    @property
    def has_more(self) -> bool:
        return self.page < self.total_pages


class PayoutProvider(Protocol):
    def resolve_account(
        self, bank_code: str, account_number: str, *, currency: str = "NGN"
    ) -> ResolvedAccount: ...

    def create_recipient(
        self,
        *,
        bank_code: str,
        account_number: str,
        account_name: str,
        currency: str = "NGN",
        idempotency_key: str | None = None,
    ) -> Recipient: ...

    def create_transfer(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        recipient_id: str,
        narration: str,
        idempotency_key: str,
    ) -> Transfer: ...

    def get_transfer(self, transfer_id: str) -> Transfer | None: ...

    def find_transfer(self, reference: str) -> Transfer | None: ...

    def list_transfers(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
    ) -> TransferPage: ...


def by_reference(transfers: Sequence[Transfer], reference: str) -> list[Transfer]:
    """The transfers of ``transfers`` that carry ``reference``."""
    return [t for t in transfers if t.reference == reference]


__all__ = [
    "AnswerDigest",
    "PayoutLookupIncomplete",
    "PayoutProvider",
    "ProviderAnswerInvalid",
    "ProviderMisconfigured",
    "Recipient",
    "ResolvedAccount",
    "Transfer",
    "TransferOutcome",
    "TransferPage",
    "TransferRefused",
    "UnreadableTransfer",
    "by_reference",
    "check_account_number",
    "check_bank_code",
    "check_reference",
    "mask_account",
]
