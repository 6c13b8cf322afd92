"""The API's request and response bodies (they are its OpenAPI schema).

Machine format as everywhere (docs/design.md "Money"): amounts are integers in minor units with
their ISO 4217 ``currency``, ids are strings, times ISO 8601 with their UTC offset. The
response models mirror ``ledger.views`` field for field; the domain, not these models, decides
what is valid (a schema check here only rejects shapes, with 422 ``invalid_request``).
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ledger.domain.money import MAX_AMOUNT

UserIdText = Field(
    min_length=1,
    max_length=128,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$",
    description="The host application's user id.",
)


def upper(value: Any) -> Any:
    """Text in upper case (choices and currencies take any case); anything else as it is."""
    return value.strip().upper() if isinstance(value, str) else value


def lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Currency = Annotated[Literal["NGN", "GHS", "ZAR", "KES", "USD"], BeforeValidator(upper)]
Role = Annotated[Literal["fan", "celebrity"], BeforeValidator(lower)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterUser(_In):
    user_id: str = UserIdText
    role: Role
    verified: bool = Field(False, description="Also mark the user verified.")


class CreateRequest(_In):
    fan: str = UserIdText
    celebrity: str = UserIdText
    amount: int = Field(ge=1, le=MAX_AMOUNT, strict=True, description="Minor units.")
    currency: Currency
    id: UUID | None = Field(
        None, description="The request's UUID (default: a new one); repeating it is idempotent."
    )


class DeclineRequest(_In):
    reason: str | None = Field(None, max_length=1000, description="A note on why.")


class InitiatePayment(_In):
    email: str = Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^\s@]+@[^\s@]+$",
        description="The fan's email, passed to Paystack only.",
    )
    callback_url: str | None = Field(
        None, max_length=2000, description="Where Paystack sends the fan afterwards."
    )


class RecordPayment(_In):
    reference: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$",
        description="The reference the host initialised.",
    )


class CreateWallet(_In):
    user_id: str = UserIdText
    currency: Currency = "NGN"


class CommandResult(BaseModel):
    """What a command did; ``changed`` is false when it had already taken effect."""

    changed: bool
    message: str
    id: str


class PaymentInitiated(BaseModel):
    changed: bool
    transaction_id: str
    reference: str
    authorization_url: str
    access_code: str


class UserView(BaseModel):
    user_id: str
    id: str
    role: str
    verified: bool
    created_at: str | None
    updated_at: str | None
    version: int


class RequestView(BaseModel):
    id: str
    status: str
    amount: int
    currency: str
    fan: str | None
    fan_id: str
    celebrity: str | None
    celebrity_id: str
    decline_reason: str | None
    note: str | None
    transaction_id: str | None
    payment_status: str | None
    escrow_status: str | None
    created_at: str | None
    updated_at: str | None
    version: int


class TransactionView(BaseModel):
    id: str
    request_id: str
    reference: str | None
    amount: int
    currency: str
    status: str
    escrow_status: str
    held: bool
    needs_review: bool
    flag_reason: str | None
    flagged_amount: int | None
    flagged_currency: str | None
    provider_transaction_id: str | None
    paid_at: str | None
    failure_reason: str | None
    wallet_id: str | None
    fee: int | None
    payout: int | None
    refund_reference: str | None
    refunded_amount: int | None
    refund_confirmed: bool | None
    created_at: str | None
    updated_at: str | None
    version: int


class WalletView(BaseModel):
    id: str
    user_id: str | None
    user_uuid: str
    currency: str
    balance: int
    credited: int
    debited: int
    created_at: str | None
    updated_at: str | None
    version: int


class WebhookAnswer(BaseModel):
    """What the ledger made of a webhook delivery (also kept in ``webhook_deliveries``)."""

    delivery_id: str
    outcome: str = Field(
        description="applied, flagged, duplicate, ignored, unknown_reference or refused."
    )
    message: str


class DeliveryView(BaseModel):
    id: str
    received_at: str
    event: str | None
    reference: str | None
    signature_valid: bool
    outcome: str
    detail: str
    body_sha256: str
    source_ip: str | None
    transaction_id: str | None


class Deliveries(BaseModel):
    items: list[DeliveryView]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str]


class NotReady(BaseModel):
    error: Literal["not_ready"]
    message: str
    checks: dict[str, str]


__all__ = [
    "CommandResult",
    "CreateRequest",
    "CreateWallet",
    "DeclineRequest",
    "Deliveries",
    "DeliveryView",
    "Health",
    "InitiatePayment",
    "NotReady",
    "PaymentInitiated",
    "Readiness",
    "RecordPayment",
    "RegisterUser",
    "RequestView",
    "TransactionView",
    "UserView",
    "WalletView",
    "WebhookAnswer",
]
