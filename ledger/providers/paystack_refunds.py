"""Reading Paystack's refund answers: the refund object, and the class of an answer to
``POST /refund`` and ``GET /refund/:id`` (docs/providers.md, "Refunds").

``parse_refund`` reads the refund object Paystack sends in all three places (create, fetch, a
list item): ``id``, ``status`` (one of ``RefundStatus``), ``amount`` and ``deducted_amount``
strict integers in minor units, ``currency`` three letters, ``transaction`` as an object (create)
or a numeric id (fetch, list), ``transaction_reference`` when sent, the notes, and the dates
(``createdAt`` or ``created_at``). ``fully_deducted`` comes as ``true``/``false``, ``1``/``0`` or
null.

``classify_refund_create`` turns one answer to ``POST /refund`` into exactly one class:

    2xx, status true, a well-formed refund of this reference   -> RefundAnswer (accepted)
    HTTP 400/422 in Paystack's error shape (status false and a
        message); HTTP 404 naming an unknown transaction        -> RefundRefused (nothing created)
    HTTP 401/403; a body that is not JSON; any other 404;
        a status other than 2xx, 400, 404, 422                 -> ProviderMisconfigured
    anything else: a 2xx with status false or unusable data,
        a refund of another transaction, an unknown status,
        a 400 that is not Paystack's error shape               -> ProviderAnswerInvalid

A refund's invalid answer says its outcome is unknown: Paystack may have accepted it. (Network
errors, timeouts, 429 and 5xx never get here: ``ledger.providers.http`` raises
``ProviderUnavailable``, and after an ambiguous one it does not replay the POST.)

``classify_refund_fetch`` does the same for ``GET /refund/:id``, where Paystack's not-found
answer (HTTP 404 or 400, status false, "Entity not found" or a ``*not_found`` code) is None.

What it deliberately does not do: compare the refunded amount with what was asked (the ledger
does), or read Paystack's message to decide a class (the HTTP status and the error shape do).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
)

from ledger.errors import ProviderAnswerInvalid, RefundRefused
from ledger.providers.http import invalid, misconfigured, one_line, problems, read_json
from ledger.providers.paystack_answers import MAX_RAW_AMOUNT, parse_instant
from ledger.providers.paystack_envelope import (
    key_refused,
    names_unknown,
    refusal,
    said,
    success_payload,
)
from ledger.providers.port import RefundAnswer, RefundStatus

PROVIDER = "paystack"
UNKNOWN_OUTCOME = "the refund may have been accepted: check with paystack before trying again"

_Text = Annotated[str, StringConstraints(strict=True, min_length=1)]
_Figure = Annotated[StrictInt, Field(ge=0, le=MAX_RAW_AMOUNT)]
_Currency = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z]{3}$")]
_STATUSES = frozenset(s.value for s in RefundStatus)


class RefundInvalid(Exception):
    """A refund object that cannot be trusted; the message names the field, never its value
    (except a status word, cut short)."""


class _Transaction(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: StrictInt | _Text | None = None
    reference: _Text | None = None


class PaystackRefund(BaseModel):
    """The fields of Paystack's refund object the ledger reads (others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: StrictInt | _Text
    status: _Text
    amount: _Figure
    currency: _Currency
    transaction: _Transaction | StrictInt | _Text | None = None
    transaction_reference: _Text | None = None
    merchant_note: str | None = None
    customer_note: str | None = None
    deducted_amount: _Figure | None = None
    fully_deducted: bool | None = None
    created_at: datetime | None = None
    created_at_camel: datetime | None = Field(None, alias="createdAt")
    expected_at: datetime | None = None
    refunded_at: datetime | None = None

    @field_validator("created_at", "created_at_camel", "expected_at", "refunded_at", mode="before")
    @classmethod
    def _instant(cls, value: object) -> datetime | None:
        return parse_instant(value)

    @field_validator("merchant_note", "customer_note", mode="before")
    @classmethod
    def _text_or_none(cls, value: object) -> str | None:
        return value if isinstance(value, str) else None

    @field_validator("fully_deducted", mode="before")
    @classmethod
    def _flag(cls, value: object) -> bool | None:
        """``true``/``false`` or, in list answers, ``1``/``0``; anything else is unknown."""
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        return None

    def answer(self) -> RefundAnswer:
        """This refund as the port's ``RefundAnswer``."""
        txn = self.transaction
        reference = self.transaction_reference
        txn_id: str | None = None
        if isinstance(txn, _Transaction):
            reference = reference or txn.reference
            txn_id = None if txn.id is None else str(txn.id)
        elif txn is not None:
            txn_id = str(txn)
        return RefundAnswer(
            provider_refund_id=str(self.id),
            status=RefundStatus(self.status),
            amount=self.amount,
            currency=self.currency.upper(),
            transaction_reference=reference,
            transaction_id=txn_id,
            merchant_note=self.merchant_note,
            customer_note=self.customer_note,
            deducted_amount=self.deducted_amount,
            fully_deducted=self.fully_deducted,
            created_at=self.created_at_camel or self.created_at,
            expected_at=self.expected_at,
            refunded_at=self.refunded_at,
        )


def parse_refund(data: object, *, prefix: str = "data") -> RefundAnswer:
    """``data`` as a ``RefundAnswer``; ``RefundInvalid`` naming the field (under ``prefix``)."""
    if data is None:
        raise RefundInvalid(f"{prefix}: null")
    if not isinstance(data, dict):
        raise RefundInvalid(f"{prefix}: not an object")
    try:
        body = PaystackRefund.model_validate(data)
    except ValidationError as exc:
        raise RefundInvalid(problems(exc, prefix=prefix)) from None
    if body.status not in _STATUSES:
        cut = one_line(body.status, limit=40)
        raise RefundInvalid(f"{prefix}.status: unknown refund status {cut!r}")
    return body.answer()


def classify_refund_create(
    response: httpx.Response, reference: str, *, safe: Callable[[str], str]
) -> RefundAnswer:
    """The class of one answer to ``POST /refund`` of ``reference`` (module docstring)."""
    what = f"refund of {reference}"
    code = response.status_code
    if code in (401, 403):
        raise key_refused(what, response, code, safe)
    payload = read_json(response, provider=PROVIDER, what=what)
    refused = refusal(payload, safe)
    if refused is not None and (
        code in (400, 422) or (code == 404 and names_unknown(payload, "transaction"))
    ):
        message, error_code, error_type = refused
        raise RefundRefused(
            f"paystack refused the refund of {reference} (HTTP {code}): {message}",
            provider_message=message,
            http_status=code,
            code=error_code,
            type_=error_type,
        )
    if code == 404:
        reason = "HTTP 404 that is not Paystack's answer (a wrong PAYSTACK_URL?)"
        raise misconfigured(PROVIDER, what, response, reason)
    if code in (400, 422):
        raise _unknown(invalid(PROVIDER, what, response, f"HTTP {code} not in Paystack's shape"))
    if not 200 <= code < 300:
        raise misconfigured(PROVIDER, what, response, f"unexpected HTTP {code}")
    data = _success_data(payload, what, response, safe, unknown_outcome=True)
    try:
        answer = parse_refund(data)
    except RefundInvalid as exc:
        raise _unknown(invalid(PROVIDER, what, response, str(exc))) from None
    named = answer.transaction_reference
    if named is not None and named != reference:
        reason = f"data.transaction: a refund of another reference {one_line(named, limit=60)!r}"
        raise _unknown(invalid(PROVIDER, what, response, reason))
    return answer


def classify_refund_fetch(
    response: httpx.Response, refund_id: str, *, safe: Callable[[str], str]
) -> RefundAnswer | None:
    """The class of one answer to ``GET /refund/:id``: a ``RefundAnswer``, None for Paystack's
    not-found answer, or ``ProviderMisconfigured`` / ``ProviderAnswerInvalid``."""
    what = f"fetch of refund {refund_id}"
    code = response.status_code
    if code in (401, 403):
        raise key_refused(what, response, code, safe)
    payload = read_json(response, provider=PROVIDER, what=what)
    if (
        code in (400, 404)
        and refusal(payload, safe) is not None
        and names_unknown(payload, "refund", "entity")
    ):
        return None
    if code == 404:
        reason = "HTTP 404 that is not Paystack's not-found answer (a wrong PAYSTACK_URL?)"
        raise misconfigured(PROVIDER, what, response, reason)
    if code == 400:
        raise invalid(PROVIDER, what, response, f"refused (HTTP 400): {said(payload, safe)}")
    if not 200 <= code < 300:
        raise misconfigured(PROVIDER, what, response, f"unexpected HTTP {code}")
    data = _success_data(payload, what, response, safe, unknown_outcome=False)
    try:
        answer = parse_refund(data)
    except RefundInvalid as exc:
        raise invalid(PROVIDER, what, response, str(exc)) from None
    if answer.provider_refund_id != refund_id:
        raise invalid(PROVIDER, what, response, "data.id: about another refund")
    return answer


def _success_data(
    payload: object,
    what: str,
    response: httpx.Response,
    safe: Callable[[str], str],
    *,
    unknown_outcome: bool,
) -> object:
    try:
        body = success_payload(payload, what, response, safe)
        if "data" not in body:
            raise invalid(PROVIDER, what, response, "data: Field required")
    except ProviderAnswerInvalid as exc:
        raise (_unknown(exc) if unknown_outcome else exc) from None
    return body["data"]


def _unknown(exc: ProviderAnswerInvalid) -> ProviderAnswerInvalid:
    """``exc`` saying that the refund's outcome is unknown."""
    return ProviderAnswerInvalid(f"{exc}; {UNKNOWN_OUTCOME}", exc.digest)


__all__ = [
    "UNKNOWN_OUTCOME",
    "PaystackRefund",
    "RefundInvalid",
    "classify_refund_create",
    "classify_refund_fetch",
    "parse_refund",
]
