"""``POST /webhooks/paystack`` (Paystack's deliveries) and ``GET /webhooks/deliveries``.

The delivery route reads the raw bytes (the signature is over them; a body over the API's
limit is answered 413 before it gets here, see ``ledger.api.body_limit``) and hands them, the
``x-paystack-signature`` header and the peer address to ``ledger.webhooks.PaystackWebhooks``,
which checks, applies and records the delivery. It needs no bearer token: the signature is the
authentication. Acknowledged outcomes answer 200 (Paystack stops); the others answer with
``ledger.api.errors.WEBHOOK_ERRORS``' status (Paystack retries a non-2xx for up to 72 hours,
which only helps a ``failed`` one).
Behind a reverse proxy the peer address is the proxy's unless ``ledger serve`` trusts it
(``--forwarded-allow-ips``); the allowlist then sees the original client.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import Scope

from ledger.api.deps import Svc, require_token, runtime_of
from ledger.api.errors import AUTH_ERRORS, WEBHOOK_ERRORS, ErrorBody, error_response
from ledger.api.models import Deliveries, DeliveryView, WebhookAnswer, lower
from ledger.api.runtime import Metrics
from ledger.webhooks import Delivery, WebhookOutcome

router = APIRouter(tags=["webhooks"])
DELIVERY_PATH = "/webhooks/paystack"

_EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "example": "charge.success"},
        "data": {"type": "object", "additionalProperties": True},
    },
}


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


@router.post(
    DELIVERY_PATH,
    response_model=WebhookAnswer,
    summary="Paystack's webhook deliveries (signed with x-paystack-signature)",
    openapi_extra={
        "parameters": [
            {
                "name": "x-paystack-signature",
                "in": "header",
                "required": False,
                "description": "Hex HMAC-SHA512 of the raw body, keyed with the secret key.",
                "schema": {"type": "string"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _EVENT_SCHEMA}},
        },
    },
    responses={
        400: _doc("Not JSON, or no event/data, or the event lacks a field it needs."),
        401: _doc("No x-paystack-signature, or it does not match the body."),
        403: _doc("The source address is not in LEDGER_WEBHOOK_ALLOWED_IPS."),
        413: _doc("Body over 1 MiB."),
        503: _doc("Could not be applied or recorded now; Paystack delivers it again."),
    },
)
async def paystack_webhook(request: Request) -> Any:
    runtime = runtime_of(request)
    signature = request.headers.get("x-paystack-signature")
    source = request.client.host if request.client else None
    raw = await request.body()  # at most MAX_BODY_BYTES: ledger.api.body_limit saw to it

    def handle() -> Delivery:  # one trip to the thread pool: the ledger is synchronous
        return runtime.services().webhooks.handle(raw, signature, source_ip=source)

    delivery = await run_in_threadpool(handle)
    runtime.metrics.webhooks.labels(delivery.outcome.value).inc()
    if delivery.outcome.acknowledged:
        answer = WebhookAnswer(
            delivery_id=str(delivery.id), outcome=delivery.outcome.value, message=delivery.detail
        )
        return JSONResponse(answer.model_dump())
    status, code = WEBHOOK_ERRORS[delivery.outcome]
    return error_response(status, code, delivery.detail)


@router.get(
    "/webhooks/deliveries",
    dependencies=[Depends(require_token)],
    response_model=Deliveries,
    responses=AUTH_ERRORS,
    summary="The latest webhook deliveries (the audit record), newest first",
)
def list_deliveries(
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    outcome: Annotated[
        Annotated[WebhookOutcome, BeforeValidator(lower)] | None, Query(description="Any case.")
    ] = None,
    reference: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    oldest_first: Annotated[bool, Query(description="The earliest deliveries first.")] = False,
) -> Deliveries:
    found = svc.webhooks.store.recent(
        limit=limit,
        outcome=outcome.value if outcome else None,
        reference=reference,
        oldest_first=oldest_first,
    )
    return Deliveries(items=[DeliveryView(**d.view()) for d in found])


def count_refused(metrics: Metrics, scope: Scope) -> None:
    """Count a delivery the body limit refused (413) with the deliveries' outcomes."""
    if scope["path"] == DELIVERY_PATH:
        metrics.webhooks.labels(WebhookOutcome.TOO_LARGE.value).inc()


__all__ = ["DELIVERY_PATH", "count_refused", "router"]
