"""Reading Paystack's answers: the transaction body shared by verify and the webhooks, and the
class of a verify answer (docs/providers.md, "Which answers may change a payment").

``parse_transaction`` reads the ``data`` object Paystack sends about one transaction, in a
verify answer and in a ``charge.success`` webhook alike, so both paths agree on what a body
means: ``amount`` (and ``requested_amount``, when customers bear the fees) strict integers in
minor units, ``currency`` as sent (compared upper-cased), ``paid_at`` or ``paidAt``.

``classify_verify`` turns one HTTP answer to ``GET /transaction/verify/:reference`` into
exactly one class:

    a well-formed body about this reference, known data.status   -> Verification (definitive)
    HTTP 400/404 with Paystack's not-found body                   -> Verification(NOT_FOUND)
    HTTP 401/403; a body that is not JSON; any other 404;
        a status other than 2xx, 400, 404                         -> ProviderMisconfigured
    any other HTTP 400; JSON that is not a usable answer about
        this reference (see below)                                 -> ProviderAnswerInvalid

(Network errors, timeouts, 429 and 5xx never get here: ``ledger.providers.http`` retries them
and raises ``ProviderUnavailable``.) Invalid: ``status`` not ``true``, ``data`` missing or
null, ``data.status`` missing or unknown, ``data.reference`` another reference, ``id``
missing, ``amount`` or ``requested_amount`` not an integer or outside ``[0, 2^63)`` (what no
bigint column can hold is no figure Paystack meant), a ``currency`` that is not three
letters, or a success without a currency.

Not invalid, deliberately: a success in a currency the ledger does not settle (``XOF``), in
lower case (``ngn``), or for an amount above the ledger's own bound (10^13 kobo). Those are
definitive successes carrying the raw figures: money that arrived must reach the books (as
flagged money in suspense), so the client never drops it.
"""

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

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

from ledger.providers.http import invalid, misconfigured, one_line, problems, read_json
from ledger.providers.port import Outcome, Verification

PROVIDER = "paystack"
MAX_RAW_AMOUNT = 2**63 - 1  # the largest figure a bigint column holds

STATUS_OUTCOMES: Mapping[str, Outcome] = {
    "success": Outcome.SUCCESS,
    "failed": Outcome.FAILED,
    "abandoned": Outcome.FAILED,
    "reversed": Outcome.FAILED,
    "ongoing": Outcome.PENDING,
    "pending": Outcome.PENDING,
    "processing": Outcome.PENDING,
    "queued": Outcome.PENDING,
}

_Text = Annotated[str, StringConstraints(strict=True, min_length=1)]
_Figure = Annotated[StrictInt, Field(ge=0, le=MAX_RAW_AMOUNT)]
_Currency = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z]{3}$")]


class TransactionInvalid(Exception):
    """A transaction body that cannot be trusted; the message is one line naming the field
    (``data.amount: ...``), never its value (except a status word, cut short)."""


class PaystackTransaction(BaseModel):
    """The fields of Paystack's transaction object the ledger reads (others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: StrictInt | _Text
    status: _Text
    reference: _Text
    amount: _Figure
    requested_amount: _Figure | None = None
    currency: _Currency | None = None
    paid_at: datetime | None = None
    paid_at_camel: datetime | None = Field(None, alias="paidAt")
    created_at: datetime | None = None
    created_at_camel: datetime | None = Field(None, alias="createdAt")
    gateway_response: str | None = None

    @field_validator("paid_at", "paid_at_camel", "created_at", "created_at_camel", mode="before")
    @classmethod
    def _instant(cls, value: object) -> datetime | None:
        """A timestamp with a zone, or None: a missing or unreadable ``paid_at`` costs the
        time of payment (the ledger records its own), never the answer."""
        return parse_instant(value)

    @field_validator("gateway_response", mode="before")
    @classmethod
    def _text_or_none(cls, value: object) -> str | None:
        return value if isinstance(value, str) else None

    @property
    def outcome(self) -> Outcome:
        return STATUS_OUTCOMES[self.status]

    def verification(self) -> Verification:
        """This body as the port's ``Verification`` (raw figures, currency upper-cased)."""
        success = self.outcome is Outcome.SUCCESS
        return Verification(
            self.outcome,
            self.status,
            amount=self.amount,
            currency=self.currency.upper() if self.currency else None,
            provider_transaction_id=str(self.id),
            paid_at=(self.paid_at or self.paid_at_camel) if success else None,
            gateway_response=self.gateway_response,
            requested_amount=self.requested_amount,
            raw_currency=self.currency,
            reference=self.reference,
        )


def parse_instant(value: object) -> datetime | None:
    """Paystack's ISO 8601 timestamp (``2026-11-27T09:12:44.000Z``) with its zone, or None
    for anything else (missing, null, unreadable, or without a zone)."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def parse_transaction(data: object, *, reference: str | None = None) -> PaystackTransaction:
    """``data`` as a ``PaystackTransaction``, about ``reference`` when given. Raises
    ``TransactionInvalid`` (see the module docstring for what is invalid)."""
    if data is None:
        raise TransactionInvalid("data: null")
    if not isinstance(data, dict):
        raise TransactionInvalid("data: not an object")
    named = data.get("reference")
    if reference is not None and isinstance(named, str) and named != reference:
        raise TransactionInvalid(f"data.reference: about another reference {_cut(named, 60)!r}")
    try:
        body = PaystackTransaction.model_validate(data)
    except ValidationError as exc:
        raise TransactionInvalid(problems(exc, prefix="data")) from None
    if body.status not in STATUS_OUTCOMES:
        raise TransactionInvalid(f"data.status: unknown transaction status {_cut(body.status)!r}")
    if body.outcome is Outcome.SUCCESS and body.currency is None:
        raise TransactionInvalid("data.currency: Field required on a success")
    return body


def classify_verify(
    response: httpx.Response, reference: str, *, safe: Callable[[str], str]
) -> Verification:
    """The class of one answer to ``GET /transaction/verify/:reference`` (module docstring):
    a ``Verification``, or ``ProviderMisconfigured`` / ``ProviderAnswerInvalid``. ``safe``
    makes a provider message fit for one line without the secret key."""
    what = f"verify of {reference}"
    code = response.status_code
    if code in (401, 403):
        message = safe(_message(_json_or_none(response)))
        reason = f"the secret key was refused (HTTP {code}): {message}"
        raise misconfigured(PROVIDER, what, response, reason)
    payload = read_json(response, provider=PROVIDER, what=what)
    if code in (400, 404) and _is_not_found(payload):
        return Verification(Outcome.NOT_FOUND, "not_found", reference=reference)
    if code == 404:
        reason = "HTTP 404 that is not Paystack's not-found answer (a wrong PAYSTACK_URL?)"
        raise misconfigured(PROVIDER, what, response, reason)
    if code == 400:
        reason = f"refused (HTTP 400): {safe(_message(payload))}"
        raise invalid(PROVIDER, what, response, reason)
    if not 200 <= code < 300:
        raise misconfigured(PROVIDER, what, response, f"unexpected HTTP {code}")
    if not isinstance(payload, dict):
        raise invalid(PROVIDER, what, response, "body: not a JSON object")
    status = payload.get("status")
    if status is False:
        raise invalid(PROVIDER, what, response, f"status false: {safe(_message(payload))}")
    if status is not True:
        raise invalid(PROVIDER, what, response, "status: missing or not true")
    if "data" not in payload:
        raise invalid(PROVIDER, what, response, "data: Field required")
    try:
        body = parse_transaction(payload["data"], reference=reference)
    except TransactionInvalid as exc:
        raise invalid(PROVIDER, what, response, str(exc)) from None
    if body.reference != reference:  # a reference that is not a string was refused above
        raise invalid(PROVIDER, what, response, "data.reference: about another reference")
    return body.verification()


def _is_not_found(payload: object) -> bool:
    """Paystack's answer for an unknown reference (tests/fixtures/paystack/
    verify_answer_not_found*.json): ``status: false`` with code ``transaction_not_found``, or
    (older answers) the message "Transaction reference not found"."""
    if not isinstance(payload, dict) or payload.get("status") is not False:
        return False
    if payload.get("code") == "transaction_not_found":
        return True
    message = payload.get("message")
    return isinstance(message, str) and "reference not found" in message.lower()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _message(payload: object) -> str:
    message = payload.get("message") if isinstance(payload, dict) else None
    return message if isinstance(message, str) and message.strip() else "no message"


def _cut(text: str, limit: int = 40) -> str:
    return one_line(text, limit=limit)


__all__ = [
    "MAX_RAW_AMOUNT",
    "STATUS_OUTCOMES",
    "PaystackTransaction",
    "TransactionInvalid",
    "classify_verify",
    "parse_instant",
    "parse_transaction",
]
