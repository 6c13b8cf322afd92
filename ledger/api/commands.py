"""The command and query API for the platform's backend, mirroring the CLI.

    POST /users                           ledger users register      201 created, 200 already
    POST /users/{user_id}/verify          ledger users verify
    GET  /users/{user_id}                 ledger users show
    POST /requests                        ledger requests create     201 created, 200 already
    GET  /requests/{request_id}           ledger requests show
    POST /requests/{request_id}/complete  ledger requests complete
    POST /requests/{request_id}/decline   ledger requests decline (a held payment is refunded)
    POST /requests/{request_id}/payments  ledger payments initiate   201, authorization_url
    POST /requests/{request_id}/payments/record   ledger payments record
    GET  /transactions/{transaction_id}   ledger payments show
    GET  /transactions/by-reference/{reference}   ledger payments show --reference
    POST /wallets                         ledger wallets create      201 created, 200 already
    GET  /wallets/{user_id}?currency=NGN  ledger wallets show

Every route needs a bearer token; errors are ``ledger.api.errors``'. Each handler is a thin
call of the ``Ledger`` service (run in the server's thread pool: the ledger is synchronous and
thread-safe). Id path parameters take the full id or a unique prefix of at least 8 characters,
and a transaction's also its Paystack reference (``ledger.ids_lookup``, the CLI's resolver).
A decline records the token's principal as its operator. What is deliberately not here: the
operators' ``admin`` interventions (they stay on the CLI, where the operator is a person with
a shell, not the backend's token).
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from ledger.api.deps import Authenticated, IdempotencyKey, Svc, require_token
from ledger.api.errors import COMMAND_ERRORS, PROVIDER_ERRORS, QUERY_ERRORS
from ledger.api.models import (
    CommandResult,
    CreateRequest,
    CreateWallet,
    Currency,
    DeclineRequest,
    InitiatePayment,
    PaymentInitiated,
    RecordPayment,
    RegisterUser,
    RequestView,
    TransactionView,
    UserView,
    WalletView,
)
from ledger.application import Result
from ledger.domain.request import DeclineReason
from ledger.domain.user import User
from ledger.errors import NotFound
from ledger.views import request_view, transaction_view, user_view, wallet_view

router = APIRouter(dependencies=[Depends(require_token)])

UserId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$",
        description="The host's user id.",
    ),
]
RequestId = Annotated[
    str,
    Path(
        min_length=8,
        max_length=36,
        pattern=r"^[0-9A-Fa-f-]+$",
        description="The request's id, or a unique prefix of at least 8 characters.",
    ),
]
TransactionId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$",
        description="The payment's id, a unique prefix of at least 8 characters, or its "
        "Paystack reference.",
    ),
]


def _request(svc: Svc, text: str) -> UUID:
    return svc.components.ids().request(text)


CREATED: dict[int | str, dict[str, Any]] = {
    201: {"model": CommandResult, "description": "Created."},
    **COMMAND_ERRORS,
}


def _result(result: Result, response: Response | None = None) -> CommandResult:
    if response is not None:
        response.status_code = 201 if result.changed else 200
    return CommandResult(changed=result.changed, message=result.message, id=str(result.id))


# -- users -----------------------------------------------------------------------------------


@router.post(
    "/users",
    tags=["users"],
    response_model=CommandResult,
    responses=CREATED,
    summary="Register a fan or a celebrity (200 when already registered)",
)
def register_user(
    body: RegisterUser, svc: Svc, response: Response, _key: IdempotencyKey
) -> CommandResult:
    result = svc.ledger.register_user(body.user_id, body.role, verified=body.verified)
    return _result(result, response)


@router.post(
    "/users/{user_id}/verify",
    tags=["users"],
    response_model=CommandResult,
    responses=COMMAND_ERRORS,
    summary="Mark a user verified",
)
def verify_user(user_id: UserId, svc: Svc, _key: IdempotencyKey) -> CommandResult:
    return _result(svc.ledger.verify_user(user_id))


@router.get("/users/{user_id}", tags=["users"], response_model=UserView, responses=QUERY_ERRORS)
def show_user(user_id: UserId, svc: Svc) -> dict[str, Any]:
    return user_view(svc.ledger.get_user(user_id))


# -- requests --------------------------------------------------------------------------------


@router.post(
    "/requests",
    tags=["requests"],
    response_model=CommandResult,
    responses=CREATED,
    summary="Create a PENDING request from a fan to a celebrity",
)
def create_request(
    body: CreateRequest, svc: Svc, response: Response, _key: IdempotencyKey
) -> CommandResult:
    result = svc.ledger.create_request(
        body.fan, body.celebrity, body.amount, body.currency, body.id
    )
    return _result(result, response)


@router.get(
    "/requests/{request_id}",
    tags=["requests"],
    response_model=RequestView,
    responses=QUERY_ERRORS,
    summary="A request, its users and the state of its payment",
)
def show_request(request_id: RequestId, svc: Svc) -> dict[str, Any]:
    ledger = svc.ledger
    request = ledger.get_request(_request(svc, request_id))
    fan: object = ledger.repository.get(request.fan_id)
    celebrity: object = ledger.repository.get(request.celebrity_id)
    return request_view(
        request,
        transaction=ledger.find_request_transaction(request.id),
        fan=fan if isinstance(fan, User) else None,
        celebrity=celebrity if isinstance(celebrity, User) else None,
    )


@router.post(
    "/requests/{request_id}/complete",
    tags=["requests"],
    response_model=CommandResult,
    responses=COMMAND_ERRORS,
    summary="Mark a paid (IN_PROGRESS) request COMPLETED",
)
def complete_request(request_id: RequestId, svc: Svc, _key: IdempotencyKey) -> CommandResult:
    return _result(svc.ledger.complete_request(_request(svc, request_id)))


@router.post(
    "/requests/{request_id}/decline",
    tags=["requests"],
    response_model=CommandResult,
    responses={**COMMAND_ERRORS, **PROVIDER_ERRORS},
    summary="The celebrity declines; a held payment is refunded through Paystack first",
    description="Recorded as `celebrity_declined`, with the caller's token principal as "
    "operator and `reason` as the note.",
)
def decline_request(
    request_id: RequestId,
    svc: Svc,
    principal: Authenticated,
    _key: IdempotencyKey,
    body: DeclineRequest | None = None,
) -> CommandResult:
    note = body.reason if body is not None else None
    result = svc.ledger.decline_request(
        _request(svc, request_id),
        reason=DeclineReason.CELEBRITY_DECLINED,
        note=note,
        operator=principal,
    )
    return _result(result)


# -- payments --------------------------------------------------------------------------------


@router.post(
    "/requests/{request_id}/payments",
    tags=["payments"],
    status_code=201,
    response_model=PaymentInitiated,
    responses={**COMMAND_ERRORS, **PROVIDER_ERRORS},
    summary="Initialise a Paystack payment; send the fan to authorization_url",
)
def initiate_payment(
    request_id: RequestId, body: InitiatePayment, svc: Svc, _key: IdempotencyKey
) -> PaymentInitiated:
    result = svc.ledger.initiate_payment(
        _request(svc, request_id), email=body.email, callback_url=body.callback_url
    )
    data = dict(result.data or {})
    return PaymentInitiated(
        changed=result.changed,
        transaction_id=str(result.id),
        reference=str(data.get("reference")),
        authorization_url=str(data.get("authorization_url")),
        access_code=str(data.get("access_code")),
    )


@router.post(
    "/requests/{request_id}/payments/record",
    tags=["payments"],
    response_model=CommandResult,
    responses=CREATED,
    summary="Record a payment the host initialised with Paystack itself",
)
def record_payment(
    request_id: RequestId,
    body: RecordPayment,
    svc: Svc,
    response: Response,
    _key: IdempotencyKey,
) -> CommandResult:
    return _result(svc.ledger.record_payment(_request(svc, request_id), body.reference), response)


@router.get(
    "/transactions/by-reference/{reference}",
    tags=["payments"],
    response_model=TransactionView,
    responses=QUERY_ERRORS,
    summary="A payment by its Paystack reference",
)
def show_transaction_by_reference(
    reference: Annotated[
        str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$")
    ],
    svc: Svc,
) -> dict[str, Any]:
    try:
        tid = svc.ledger.find_transaction_id(reference)
    except NotFound:
        raise NotFound(f"no payment with reference {reference!r}") from None
    return transaction_view(svc.ledger.get_transaction(tid))


@router.get(
    "/transactions/{transaction_id}",
    tags=["payments"],
    response_model=TransactionView,
    responses=QUERY_ERRORS,
    summary="A payment transaction: status, escrow status, review flag, fee, refund",
)
def show_transaction(transaction_id: TransactionId, svc: Svc) -> dict[str, Any]:
    tid = svc.components.ids().payment(transaction_id)
    return transaction_view(svc.ledger.get_transaction(tid))


# -- wallets ---------------------------------------------------------------------------------


@router.post(
    "/wallets",
    tags=["wallets"],
    response_model=CommandResult,
    responses=CREATED,
    summary="Open a verified user's wallet in a currency (200 when it exists)",
)
def create_wallet(
    body: CreateWallet, svc: Svc, response: Response, _key: IdempotencyKey
) -> CommandResult:
    return _result(svc.ledger.create_wallet(body.user_id, body.currency), response)


@router.get(
    "/wallets/{user_id}",
    tags=["wallets"],
    response_model=WalletView,
    responses=QUERY_ERRORS,
    summary="A user's wallet: balance, credits and debits",
)
def show_wallet(
    user_id: UserId, svc: Svc, currency: Annotated[Currency, Query()] = "NGN"
) -> dict[str, Any]:
    return wallet_view(svc.ledger.get_wallet(user_id, currency), owner=user_id)


__all__ = ["router"]
