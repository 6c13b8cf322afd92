"""The one place where the HTTP API turns failures into statuses and one JSON shape.

Every error answer, whatever raised it, is ``{"error": CODE, "message": TEXT}``::

    status  code                        raised by
    400     malformed_webhook           a webhook body that is not JSON or lacks event/data
    401     unauthorized                no bearer token / no or a wrong x-paystack-signature
    403     forbidden                   an unknown bearer token / a webhook source not allowed
    404     not_found                   NotFound, an unknown route
    405     method_not_allowed          a known route with another method
    409     rule_violation              DomainError (a rule said no; nothing was written)
    409     insufficient_funds          InsufficientFunds
    409     conflict                    Conflict (concurrent writers; Retry-After)
    409     payment_busy                PaymentBusy (a refund of the payment is in flight;
                                        Retry-After)
    409     idempotency_in_progress     the same Idempotency-Key is being executed right now
    413     payload_too_large           a body over the limit
    422     invalid_input               InvalidInput (a malformed id, currency, amount, ...)
    422     invalid_request             the request does not match the API's schema
    422     idempotency_key_reused      the same Idempotency-Key with another request
    502     provider_error              ProviderError (the payment provider refused)
    502     provider_misconfigured      ProviderMisconfigured (our key or URL is wrong)
    502     provider_answer_invalid     ProviderAnswerInvalid (an answer we cannot trust)
    502     provider_refused            RefundRefused, TransferRefused (a definitive refusal)
    503     provider_unavailable        ProviderUnavailable (Retry-After)
    503     not_configured              ConfigError at request time (a missing setting, the
                                        database unreachable)
    503     database_unavailable        a database failure mid-request (a lost connection
                                        also makes /readyz 503 until it is back)
    500     internal_error              anything else (a bug); its text is never shown

Every class of ``ledger.errors`` has its row in ``LEDGER_ERRORS`` (a test fails when a new one
has none); the transient ones (conflict, payment_busy, provider_unavailable) carry
``Retry-After: 1`` and are not stored for replay under an ``Idempotency-Key``.

Messages come from our own exceptions, which never carry secrets; for anything else only a
generic line is sent (and logged with the exception's type, not its text).
"""

import logging
from collections.abc import Mapping
from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from ledger.errors import (
    ConfigError,
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidInput,
    LedgerError,
    NotFound,
    PaymentBusy,
    PayoutLookupIncomplete,
    ProviderAnswerInvalid,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
    RefundRefused,
    SchemaError,
    TransferRefused,
    WebhookMalformed,
    WebhookSignatureInvalid,
)
from ledger.outage import describe, is_connection_error
from ledger.webhooks import WebhookOutcome

log = logging.getLogger("ledger.api")


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: str = Field(description="A stable machine-readable code, e.g. not_found.")
    message: str = Field(description="One line for people; never contains secrets.")


class ApiError(Exception):
    """An error the API answers directly (auth, idempotency, webhooks)."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


# Every class of ledger.errors, explicitly: (status, code).
LEDGER_ERRORS: Mapping[type[LedgerError], tuple[int, str]] = {
    LedgerError: (500, "internal_error"),
    DomainError: (409, "rule_violation"),
    InvalidInput: (422, "invalid_input"),
    InsufficientFunds: (409, "insufficient_funds"),
    NotFound: (404, "not_found"),
    ConfigError: (503, "not_configured"),
    SchemaError: (503, "not_configured"),
    WebhookSignatureInvalid: (401, "invalid_signature"),
    WebhookMalformed: (400, "malformed_webhook"),
    TransferRefused: (502, "provider_refused"),
    RefundRefused: (502, "provider_refused"),
    PayoutLookupIncomplete: (503, "provider_unavailable"),
    ProviderError: (502, "provider_error"),
    ProviderUnavailable: (503, "provider_unavailable"),
    ProviderMisconfigured: (502, "provider_misconfigured"),
    ProviderAnswerInvalid: (502, "provider_answer_invalid"),
    Conflict: (409, "conflict"),
    PaymentBusy: (409, "payment_busy"),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}

# Codes a client should retry with the same Idempotency-Key (the answer is not final).
RETRYABLE_CODES = frozenset({"conflict", "payment_busy", "idempotency_in_progress"})

# Codes answered with ``Retry-After``: the same request a moment later may succeed.
RETRY_AFTER_CODES = frozenset({"conflict", "payment_busy", "provider_unavailable"})


# Webhook outcomes that are not acknowledged with 200 (Paystack delivers those again).
WEBHOOK_ERRORS: Mapping[WebhookOutcome, tuple[int, str]] = {
    WebhookOutcome.FORBIDDEN_SOURCE: (403, "forbidden"),
    WebhookOutcome.TOO_LARGE: (413, "payload_too_large"),
    WebhookOutcome.INVALID_SIGNATURE: (401, "unauthorized"),
    WebhookOutcome.MALFORMED: (400, "malformed_webhook"),
    WebhookOutcome.FAILED: (503, "database_unavailable"),
}


def status_for(exc: LedgerError) -> tuple[int, str]:
    """The HTTP status and error code for one of the ledger's errors: its class's row, or
    its nearest mapped ancestor's."""
    for cls in type(exc).__mro__:
        found = LEDGER_ERRORS.get(cls)
        if found is not None:
            return found
    return 500, "internal_error"


def one_line(message: str) -> str:
    return " ".join(message.split())[:500] or "error"


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": one_line(message)}, status_code=status, headers=headers
    )


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "the request does not match the API's schema"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    text = str(first.get("msg", "invalid value"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where or 'request'}: {text}{more}"


def note_database_lost(scope_app: object, exc: BaseException) -> bool:
    """If ``exc`` means the database connection is gone, tell the app's runtime (which logs
    the outage once and waits for the database in the background); return whether it did."""
    if not is_connection_error(exc):
        return False
    state = getattr(scope_app, "state", None)
    runtime = getattr(state, "runtime", None)
    lost = getattr(runtime, "database_lost", None)
    if callable(lost):
        lost(exc)
    return True


async def _ledger_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LedgerError)
    note_database_lost(request.app, exc)
    status, code = status_for(exc)
    if status >= 500:
        log.warning("event=request_failed code=%s error=%s", code, type(exc).__name__)
    headers = {"Retry-After": "1"} if code in RETRY_AFTER_CODES else None
    return error_response(status, code, str(exc), headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI could not decode the body: a schema mismatch too
        return error_response(422, "invalid_request", "the request body is not valid JSON")
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route"
    if exc.status_code == 405:
        message = "method not allowed on this route"
    return error_response(exc.status_code, code, message, exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_request", _validation_message(exc))


async def _persistence_error(request: Request, exc: Exception) -> JSONResponse:
    note_database_lost(request.app, exc)
    log.warning("event=request_failed code=database_unavailable error=%s", type(exc).__name__)
    return error_response(503, "database_unavailable", "database error; try again later")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if note_database_lost(request.app, exc):  # a read table's connection, say
        log.warning("event=request_failed code=database_unavailable error=%s", describe(exc))
        return error_response(503, "database_unavailable", "database error; try again later")
    log.error("event=request_failed code=internal_error error=%s", type(exc).__name__)
    return error_response(500, "internal_error", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through the table in the module docstring."""
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PersistenceError, _persistence_error)
    app.add_exception_handler(Exception, _unexpected)


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# OpenAPI ``responses=`` fragments for the routes.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _doc("No bearer token (unauthorized)."),
    403: _doc("Unknown bearer token (forbidden)."),
    422: _doc(
        "The request does not match the schema (invalid_request), or a value is "
        "malformed (invalid_input)."
    ),
    503: _doc("The API is not configured (no LEDGER_API_TOKENS) or the database is unavailable."),
}
COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: _doc("No such user, request, transaction or wallet (not_found)."),
    409: _doc(
        "A rule said no (rule_violation), concurrent writers (conflict), the payment is "
        "busy with a refund (payment_busy), or the Idempotency-Key is in use "
        "(idempotency_in_progress)."
    ),
    422: _doc(
        "Schema mismatch (invalid_request), a malformed value (invalid_input), or the "
        "Idempotency-Key was used for another request (idempotency_key_reused)."
    ),
}
QUERY_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: _doc("Not found."),
}
PROVIDER_ERRORS: dict[int | str, dict[str, Any]] = {
    502: _doc(
        "The payment provider refused (provider_error), refused our key or URL "
        "(provider_misconfigured), or answered something unusable (provider_answer_invalid)."
    ),
    503: _doc("The payment provider or the database is unavailable; retry later."),
}


__all__ = [
    "AUTH_ERRORS",
    "COMMAND_ERRORS",
    "LEDGER_ERRORS",
    "PROVIDER_ERRORS",
    "QUERY_ERRORS",
    "RETRYABLE_CODES",
    "RETRY_AFTER_CODES",
    "WEBHOOK_ERRORS",
    "ApiError",
    "ErrorBody",
    "error_response",
    "install_error_handlers",
    "note_database_lost",
    "status_for",
]
