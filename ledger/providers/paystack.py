"""The Paystack client: the ``PaymentProvider`` port over Paystack's REST API (httpx, sync).

``verify`` classifies every answer as docs/providers.md says ("Which answers may change a
payment"; the rules are ``ledger.providers.paystack_answers``'):

    success                                   -> SUCCESS (raw amount and currency, id, paid_at,
                                                 requested_amount)
    failed, abandoned, reversed               -> FAILED (gateway_response)
    ongoing, pending, processing, queued      -> PENDING
    HTTP 400/404 with Paystack's not-found    -> NOT_FOUND
    network error, deadline, 429, 5xx         -> ProviderUnavailable (after the retries)
    401/403, not JSON, another 404            -> ProviderMisconfigured
    JSON not usable about this reference      -> ProviderAnswerInvalid

It reports the amount and currency Paystack saw and leaves comparing them with the request to
the ledger (a mismatch is flagged there, never treated as paid). A misconfiguration (a wrong
key, a wrong ``PAYSTACK_URL``) is never NOT_FOUND: it says nothing about any payment.

Refunds (``refund``, ``get_refund``) are read by ``ledger.providers.paystack_refunds`` and the
lists (``list_refunds``, ``list_transactions``, and ``iter_*`` paging through them) by
``ledger.providers.paystack_lists``, in the same classes (docs/providers.md, "Refunds" and
"Listing").

Retries, deadlines and log lines are ``ledger.providers.http``'s: ``PAYSTACK_TIMEOUT`` bounds
each attempt from connect to last byte. **A refund is never replayed after a failure that may
have reached Paystack** (a read or write timeout, the deadline, a dropped connection, a 5xx):
the first attempt may have created it, and a second would refund twice. Only a failure to
connect (nothing was sent) or a 429 (Paystack's rate limit answers before doing anything) is
retried; otherwise ``ProviderUnavailable`` says the outcome is unknown, and the caller must ask
Paystack (``get_refund``, ``list_refunds(reference=...)``) before any new ``refund``. GET calls
are retried on every unreachable answer. The secret key goes only into the ``Authorization``
header: never into a log line, an exception or a repr.
"""

import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ledger.config import Settings
from ledger.errors import ConfigError, ProviderError
from ledger.providers.deadline import deadline_transport
from ledger.providers.http import (
    Caller,
    OwnsHttpClient,
    RetryPolicy,
    invalid,
    misconfigured,
    one_line,
    parse,
    read_json,
)
from ledger.providers.paystack_answers import STATUS_OUTCOMES, classify_verify
from ledger.providers.paystack_calls import PaystackRefundCalls
from ledger.providers.paystack_queries import check_reference
from ledger.providers.port import Initialized, Verification

DEFAULT_URL = "https://api.paystack.co"
log = logging.getLogger("ledger.providers.paystack")

D = TypeVar("D", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Answer(_Model, Generic[D]):
    """A 2xx answer whose top-level ``status`` was already found ``true``."""

    data: D


class _InitializeData(_Model):
    authorization_url: str = Field(min_length=1)
    access_code: str = Field(min_length=1)
    reference: str = Field(min_length=1)


class PaystackClient(PaystackRefundCalls, OwnsHttpClient):
    """Paystack's initialize and verify, and (``PaystackRefundCalls``) its refunds and lists.
    Thread-safe (one ``httpx.Client``, shared by a sweep's worker threads; ``concurrency``
    sizes its connection pool). Close it, or use it as a context manager, unless the
    ``httpx.Client`` was injected (its owner closes that).

    Without ``client`` or ``transport`` its connections honour the overall deadline of each
    attempt (``deadline_transport``); an injected client or transport bounds each phase
    only (httpx's own timeouts)."""

    def __init__(
        self,
        secret_key: SecretStr | str,
        *,
        base_url: str = DEFAULT_URL,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        key = secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key)
        if not key.get_secret_value().strip():
            raise ConfigError("invalid setting PAYSTACK_SECRET_KEY: must not be empty")
        if concurrency < 1:
            raise ConfigError("invalid setting LEDGER_PROVIDER_CONCURRENCY: must be at least 1")
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.concurrency = concurrency
        self._owns_client = client is None
        limits = httpx.Limits(max_connections=max(concurrency, 10))
        self._client = client or httpx.Client(
            transport=transport or deadline_transport(limits=limits),
            timeout=timeout,
            limits=limits,
        )
        self._retry = retry or RetryPolicy()
        self._caller = Caller(
            self._client, "paystack", self._retry, log, sleep=sleep, rand=rand, timeout=timeout
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> "PaystackClient":
        """A client configured by ``PAYSTACK_*`` and ``LEDGER_PROVIDER_CONCURRENCY``;
        ``ConfigError`` when ``PAYSTACK_SECRET_KEY`` is not set."""
        if settings.paystack_secret_key is None:
            raise ConfigError("no payment provider configured: set PAYSTACK_SECRET_KEY")
        return cls(
            settings.paystack_secret_key,
            base_url=settings.paystack_url,
            timeout=settings.paystack_timeout.total_seconds(),
            retry=RetryPolicy(max_retries=settings.paystack_max_retries),
            concurrency=settings.provider_concurrency,
            client=client,
            transport=transport,
        )

    def __repr__(self) -> str:
        return (
            f"PaystackClient(base_url={self.base_url!r}, timeout={self.timeout}, "
            f"max_retries={self._retry.max_retries}, concurrency={self.concurrency})"
        )

    @property
    def call_budget(self) -> float:
        """The longest one call may take, in seconds, retries and waits included."""
        return self._retry.call_budget(self.timeout)

    # -- the port --------------------------------------------------------------------------

    def initialize(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        email: str,
        callback_url: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Initialized:
        """``POST /transaction/initialize``: where to send the payer. ``metadata`` travels as
        Paystack's stringified JSON. Retried like a read: a replay with the same reference
        cannot charge twice (Paystack refuses a duplicate reference)."""
        check_reference(reference)
        body: dict[str, Any] = {
            "amount": amount,
            "email": email,
            "currency": currency,
            "reference": reference,
        }
        if callback_url is not None:
            body["callback_url"] = callback_url
        if metadata is not None:
            body["metadata"] = json.dumps(metadata)
        what = "initialize"
        response = self._call("POST", "/transaction/initialize", what, json_body=body)
        data = self._data(response, _Answer[_InitializeData], what).data
        return Initialized(data.authorization_url, data.access_code, data.reference)

    def verify(self, reference: str) -> Verification:
        """``GET /transaction/verify/:reference``, classified as the module docstring says.
        Does not compare amount or currency with what was asked: the ledger does."""
        check_reference(reference)
        path = f"/transaction/verify/{quote(reference, safe='')}"
        response = self._call("GET", path, "verify", log_path=path)
        return classify_verify(response, reference, safe=self._safe)

    # -- plumbing --------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        log_path: str | None = None,
        replay_safe: bool = True,
    ) -> httpx.Response:
        request = self._client.build_request(
            method,
            self.base_url + path,
            json=json_body,
            params=params,
            headers={
                "Authorization": f"Bearer {self._key.get_secret_value()}",
                "Accept": "application/json",
            },
            timeout=self.timeout,
        )
        return self._caller.send(request, call=what, path=log_path or path, replay_safe=replay_safe)

    def _data(self, response: httpx.Response, model: type[D], what: str) -> D:
        """The answer as ``model``: ``ProviderMisconfigured`` for 401/403, a body that is not
        JSON or an unexpected status; ``ProviderError`` with Paystack's message for a
        refusal (another 4xx, or ``status: false``); ``ProviderAnswerInvalid`` for a 2xx
        that is not ``model``."""
        code = response.status_code
        if code in (401, 403):
            reason = f"the secret key was refused (HTTP {code}): {self._message(response)}"
            raise misconfigured("paystack", what, response, reason)
        payload = read_json(response, provider="paystack", what=what)
        if code >= 400:
            raise ProviderError(f"paystack refused {what} (HTTP {code}): {self._message(response)}")
        if not 200 <= code < 300:
            raise misconfigured("paystack", what, response, f"unexpected HTTP {code}")
        if not isinstance(payload, dict) or not isinstance(payload.get("status"), bool):
            raise invalid("paystack", what, response, "status: missing or not a boolean")
        if payload["status"] is False:
            raise ProviderError(f"paystack refused {what}: {self._message(response)}")
        return parse(model, payload, provider="paystack", what=what, response=response)

    def _message(self, response: httpx.Response) -> str:
        try:
            payload = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "no message"
        message = payload.get("message") if isinstance(payload, dict) else None
        return self._safe(message) if isinstance(message, str) else "no message"

    def _safe(self, message: str) -> str:
        """Paystack's message on one line, without the secret key should it ever echo it."""
        return one_line(message.replace(self._key.get_secret_value(), "***")) or "no message"


__all__ = ["DEFAULT_URL", "STATUS_OUTCOMES", "PaystackClient"]
