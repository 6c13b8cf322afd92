"""What the HTTP API tests share: the app on a test store, driven in-process through httpx's
ASGI transport from synchronous tests (an anyio portal runs the event loop in a thread).

``api`` builds the app on the parametrised backend (SQLite, and PostgreSQL where the tests ask
for ``backend``) around the test's ledger (fixed clock, fake provider); ``sign`` makes
Paystack's signature; ``charge_success`` a delivery body.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import partial
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from ledger.api import close_app, create_app
from ledger.application import Ledger
from ledger.config import Settings
from ledger.providers.webhooks import sign

TOKEN = "tok_test_backend_0123456789abcdef"
OTHER_TOKEN = "tok_test_other_0123456789abcdef0"
PAYSTACK_SECRET = "sk_test_api_webhooks_secret_42"
API_ENV = {"LEDGER_API_TOKENS": f"{TOKEN},{OTHER_TOKEN}", "PAYSTACK_SECRET_KEY": PAYSTACK_SECRET}


class Api:
    """A synchronous client of an in-process app (httpx ``ASGITransport``)."""

    def __init__(
        self, app: FastAPI, portal: BlockingPortal, *, client: tuple[str, int] = ("127.0.0.1", 9)
    ) -> None:
        self.app = app
        self._portal = portal
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://ledger.test")

    def request(
        self, method: str, url: str, *, token: str | None = TOKEN, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        call = partial(self._client.request, method, url, headers=headers, **kwargs)
        return self._portal.call(call)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def ok(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        assert response.status_code in (200, 201), (response.status_code, response.text)
        return response.json()

    def webhook(
        self, body: bytes, *, signature: str | None = "sign", secret: str = PAYSTACK_SECRET
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["x-paystack-signature"] = sign(body, secret)
        elif signature is not None:
            headers["x-paystack-signature"] = signature
        return self.request("POST", "/webhooks/paystack", content=body, headers=headers, token=None)

    def close(self) -> None:
        self._portal.call(self._client.aclose)


def charge_success(
    reference: str, amount: int = 500000, currency: str = "NGN", **extra: Any
) -> bytes:
    data = {
        "id": 4099260516,
        "status": "success",
        "reference": reference,
        "amount": amount,
        "currency": currency,
        "paid_at": "2026-01-05T09:12:44.000Z",
        **extra,
    }
    return json.dumps({"event": "charge.success", "data": data}, separators=(",", ":")).encode()


def refund_processed(reference: str, amount: int = 500000) -> bytes:
    data = {
        "status": "processed",
        "transaction_reference": reference,
        "refund_reference": "132013318360",
        "amount": str(amount),
        "currency": "NGN",
    }
    return json.dumps({"event": "refund.processed", "data": data}).encode()


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as portal:
        yield portal


@pytest.fixture
def make_api(
    store_settings: Callable[..., Settings],
    make_ledger: Callable[..., Ledger],
    portal: BlockingPortal,
) -> Iterator[Callable[..., Api]]:
    """``make_api(**settings_overrides)``: an app on the test's store around a test ledger."""
    with ExitStack() as stack:

        def make(*, client: tuple[str, int] = ("127.0.0.1", 9), **overrides: Any) -> Api:
            settings = store_settings(**{**API_ENV, **overrides})
            ledger = make_ledger(**{**API_ENV, **overrides})
            app = create_app(settings, ledger=ledger)
            stack.callback(close_app, app)
            api = Api(app, portal, client=client)
            stack.callback(api.close)
            return api

        yield make


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def head(api: Api) -> int:
    """The event store's highest notification id."""
    ledger = api.app.state.runtime.services().ledger
    return int(ledger.recorder.max_notification_id() or 0)


__all__ = [
    "API_ENV",
    "OTHER_TOKEN",
    "PAYSTACK_SECRET",
    "TOKEN",
    "Api",
    "charge_success",
    "head",
    "refund_processed",
    "sign",
]
