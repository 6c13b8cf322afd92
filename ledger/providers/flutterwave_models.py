"""Flutterwave v4 answer shapes (tests/fixtures/flutterwave, tests/fixtures/README.md) and their
mapping onto the payout port's types.

Transfer statuses (``data.status``, compared case-insensitively):

    NEW, PENDING, INITIATED        -> PENDING
    SUCCESSFUL                     -> SUCCEEDED
    FAILED, CANCELLED              -> FAILED
    REVERSED, or any status with
    reversal.reconciliation_status
    REVERSED                       -> REVERSED
    anything else                  -> AnswerProblem (the answer cannot be trusted)

The amount is ``amount.value`` in major units of the currency ``amount.applies_to`` names
(``destination_currency`` when absent); a webhook's ``data.amount`` is the bare number, in the
destination currency. Converted exactly (``flutterwave_amounts``) or refused.

Models ignore unknown fields and refuse missing required ones. What this module deliberately
does not do: decide what an answer means for the ledger, or read HTTP (the client does).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError

from ledger.providers.flutterwave_amounts import AmountError, to_minor
from ledger.providers.http import one_line
from ledger.providers.payout_port import Transfer, TransferOutcome, mask_account

STATUS_OUTCOMES: Final[Mapping[str, TransferOutcome]] = {
    "NEW": TransferOutcome.PENDING,
    "PENDING": TransferOutcome.PENDING,
    "INITIATED": TransferOutcome.PENDING,
    "SUCCESSFUL": TransferOutcome.SUCCEEDED,
    "FAILED": TransferOutcome.FAILED,
    "CANCELLED": TransferOutcome.FAILED,
    "REVERSED": TransferOutcome.REVERSED,
}
_APPLIES_TO = ("destination_currency", "source_currency")


class AnswerProblem(Exception):
    """Why an answer cannot be trusted, in one line that names fields, never their values."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(_Model):
    status: str
    message: str = ""


class ErrorDetail(_Model):
    type: str = ""
    code: str = ""
    message: str = ""


class ErrorBody(_Model):
    """Flutterwave v4's error structure: ``{"status": "failed", "error": {...}}``."""

    status: str
    error: ErrorDetail


class Amount(_Model):
    value: Any
    applies_to: str | None = None


class Fee(_Model):
    currency: str | None = None
    value: Any = None


class Reversal(_Model):
    reversal_datetime: AwareDatetime | None = None
    initial_status: str | None = None
    reconciliation_status: str | None = None


class ProviderResponse(_Model):
    type: str | None = None
    code: str | None = None
    message: str | None = None


class RecipientRef(_Model):
    id: str | None = None


class TransferData(_Model):
    id: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    status: str = Field(min_length=1)
    amount: Any
    source_currency: str | None = None
    destination_currency: str | None = None
    narration: str | None = None
    fee: Fee | None = None
    reversal: Reversal | None = None
    provider_response: ProviderResponse | None = None
    recipient: RecipientRef | None = None
    recipient_id: str | None = None
    created_datetime: AwareDatetime | None = None


class PageInfo(_Model):
    total: StrictInt = Field(ge=0)
    current_page: StrictInt = Field(ge=1)
    total_pages: StrictInt = Field(ge=0)


class ListMeta(_Model):
    page_info: PageInfo


class ListAnswer(Envelope):
    data: list[Any]
    meta: ListMeta


class ResolvedData(_Model):
    bank_code: str = Field(min_length=1)
    account_number: str = Field(min_length=1)
    account_name: str = Field(min_length=1)


class Name(_Model):
    first: str = ""
    middle: str | None = None
    last: str = ""


class BankDetails(_Model):
    account_number: str = Field(min_length=1)
    code: str = Field(min_length=1)


class RecipientData(_Model):
    id: str = Field(min_length=1)
    currency: str | None = None
    name: Name | None = None
    bank: BankDetails | None = None


def problems(exc: ValidationError, *, prefix: str = "") -> str:
    """Each missing or malformed field by its path, without the values."""
    found = []
    for err in exc.errors(include_input=False, include_url=False)[:5]:
        path = [prefix] if prefix else []
        path.extend(str(part) for part in err["loc"])
        found.append(f"{'.'.join(path) or 'body'}: {err['msg']}")
    return "; ".join(found)


def outcome_of(data: TransferData) -> TransferOutcome:
    """The outcome of the status (see the module docstring); ``AnswerProblem`` if unknown."""
    reversal = data.reversal
    if reversal and (reversal.reconciliation_status or "").strip().upper() == "REVERSED":
        return TransferOutcome.REVERSED
    outcome = STATUS_OUTCOMES.get(data.status.strip().upper())
    if outcome is None:
        raise AnswerProblem(f"unknown transfer status {one_line(data.status, limit=40)!r}")
    return outcome


def _currency(code: str | None, what: str) -> str:
    if not code or len(code.strip()) != 3 or not code.strip().isalpha():
        raise AnswerProblem(f"{what} is missing or not a currency code")
    return code.strip().upper()


def _amount(data: TransferData) -> tuple[int, str]:
    if isinstance(data.amount, Mapping):
        try:
            amount = Amount.model_validate(data.amount)
        except ValidationError as exc:
            raise AnswerProblem(problems(exc, prefix="data.amount")) from None
        value, applies_to = amount.value, amount.applies_to or _APPLIES_TO[0]
    else:
        value, applies_to = data.amount, _APPLIES_TO[0]
    if applies_to not in _APPLIES_TO:
        raise AnswerProblem("data.amount.applies_to is not a known currency side")
    side = data.destination_currency if applies_to == _APPLIES_TO[0] else data.source_currency
    currency = _currency(side, f"data.{applies_to}")
    try:
        return to_minor(value, currency), currency
    except AmountError as exc:
        raise AnswerProblem(f"data.amount: {exc}") from None


def _fee(data: TransferData) -> tuple[int | None, str | None]:
    if data.fee is None or data.fee.value is None:
        return None, None
    currency = _currency(data.fee.currency, "data.fee.currency")
    try:
        return to_minor(data.fee.value, currency), currency
    except AmountError as exc:
        raise AnswerProblem(f"data.fee.value: {exc}") from None


def to_transfer(data: TransferData) -> Transfer:
    """The port's ``Transfer`` for a validated transfer object; ``AnswerProblem`` when its
    status is unknown or an amount does not convert exactly."""
    outcome = outcome_of(data)
    amount, currency = _amount(data)
    fee, fee_currency = _fee(data)
    reason = data.provider_response.message if data.provider_response else None
    failed = outcome in (TransferOutcome.FAILED, TransferOutcome.REVERSED)
    recipient_id = data.recipient_id or (data.recipient.id if data.recipient else None)
    reversed_at: datetime | None = data.reversal.reversal_datetime if data.reversal else None
    return Transfer(
        id=data.id,
        reference=data.reference,
        status=data.status,
        outcome=outcome,
        amount=amount,
        currency=currency,
        recipient_id=recipient_id,
        fee=fee,
        fee_currency=fee_currency,
        narration=data.narration,
        failure_reason=one_line(reason) if failed and reason else None,
        created_at=data.created_datetime,
        reversed_at=reversed_at if outcome is TransferOutcome.REVERSED else None,
    )


def parse_transfer(payload: object, *, prefix: str = "data") -> Transfer:
    """A transfer object (``payload``) as a ``Transfer``; ``AnswerProblem`` naming the fields."""
    try:
        data = TransferData.model_validate(payload)
    except ValidationError as exc:
        raise AnswerProblem(problems(exc, prefix=prefix)) from None
    return to_transfer(data)


def scrub(text: str, *, secrets: tuple[str, ...] = (), accounts: tuple[str, ...] = ()) -> str:
    """A provider's message made safe for one line: secrets as ``***``, account numbers
    masked to their last four digits."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for number in accounts:
        if number:
            text = text.replace(number, mask_account(number))
    return one_line(text) or "no message"


__all__ = [
    "STATUS_OUTCOMES",
    "AnswerProblem",
    "Envelope",
    "ErrorBody",
    "ListAnswer",
    "RecipientData",
    "ResolvedData",
    "TransferData",
    "outcome_of",
    "parse_transfer",
    "problems",
    "scrub",
    "to_transfer",
]
