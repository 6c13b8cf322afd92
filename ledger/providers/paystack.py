"""The Paystack client: the ``PaymentProvider`` port over Paystack's REST API (httpx, sync).

``verify`` maps ``data.status`` to an ``Outcome`` (docs/design.md "Payment verification outcomes"):

    success                                   -> SUCCESS (amount, currency, id, paid_at)
    failed, abandoned, reversed               -> FAILED (gateway_response)
    ongoing, pending, processing, queued      -> PENDING
    HTTP 400/404 "transaction not found"      -> NOT_FOUND
    any other data.status                     -> ProviderError

It reports the amount and currency Paystack saw and leaves comparing them with the request to
the ledger (a mismatch is flagged there, never treated as paid). The top-level ``status`` only
says the call worked: ``status: false`` is a ``ProviderError`` carrying Paystack's message.
A 404 that is not Paystack's "transaction not found" (a wrong ``PAYSTACK_URL``, say) is a
``ProviderError``, never NOT_FOUND, so a misconfiguration cannot time payments out.

Retries, timeouts and log lines are ``ledger.providers.http``'s. A refund is not replayed after
an ambiguous failure (the first attempt may have gone through). The secret key goes only into
the ``Authorization`` header: never into a log line, an exception or a repr.
"""

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, StrictInt

from ledger.config import Settings
from ledger.errors import ConfigError, InvalidInput, ProviderError
from ledger.providers.http import (
    Caller,
    OwnsHttpClient,
    RetryPolicy,
    one_line,
    parse,
    read_json,
)
from ledger.providers.port import Initialized, Outcome, RefundAccepted, Verification

DEFAULT_URL = "https://api.paystack.co"
log = logging.getLogger("ledger.providers.paystack")

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

D = TypeVar("D", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Envelope(_Model):
    status: bool
    message: str = ""


class _Answer(_Envelope, Generic[D]):
    data: D


class _InitializeData(_Model):
    authorization_url: str = Field(min_length=1)
    access_code: str = Field(min_length=1)
    reference: str = Field(min_length=1)


class _VerifyData(_Model):
    id: StrictInt | str
    status: str
    reference: str
    amount: StrictInt = Field(ge=0)
    currency: str = Field(min_length=1)
    paid_at: AwareDatetime | None = None
    gateway_response: str | None = None


class _RefundData(_Model):
    id: StrictInt | str
    status: str


class PaystackClient(OwnsHttpClient):
    """Paystack's initialize, verify and refund; ``verify_many`` for bounded-concurrency
    sweeps. Thread-safe (one ``httpx.Client``, shared). Close it, or use it as a context
    manager, unless the ``httpx.Client`` was injected (its owner closes that)."""

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
        self._client = client or httpx.Client(
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(max_connections=max(concurrency, 10)),
        )
        self._retry = retry or RetryPolicy()
        self._caller = Caller(self._client, "paystack", self._retry, log, sleep=sleep, rand=rand)

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
        _check_reference(reference)
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
        """``GET /transaction/verify/:reference``, mapped as the module docstring says.
        Does not compare amount or currency with what was asked: the ledger does."""
        _check_reference(reference)
        path = f"/transaction/verify/{quote(reference, safe='')}"
        response = self._call("GET", path, "verify", log_path=path)
        if response.status_code in (400, 404) and _is_not_found(response):
            return Verification(Outcome.NOT_FOUND, "not_found")
        data = self._data(response, _Answer[_VerifyData], f"verify of {reference}").data
        if data.reference != reference:
            raise ProviderError(
                f"paystack answered verify of {reference} about another reference "
                f"{one_line(data.reference, limit=60)!r}"
            )
        outcome = STATUS_OUTCOMES.get(data.status)
        if outcome is None:
            raise ProviderError(
                f"paystack answered an unknown transaction status "
                f"{one_line(data.status, limit=40)!r} for {reference}"
            )
        return Verification(
            outcome,
            data.status,
            amount=data.amount,
            currency=data.currency,
            provider_transaction_id=str(data.id),
            paid_at=data.paid_at if outcome is Outcome.SUCCESS else None,
            gateway_response=data.gateway_response,
        )

    def refund(self, *, reference: str, amount: int) -> RefundAccepted:
        """``POST /refund`` of ``amount`` (minor units) of the payment ``reference``. Not
        replayed after a read timeout or 5xx: ``ProviderUnavailable`` says to check first."""
        _check_reference(reference)
        body = {"transaction": reference, "amount": amount}
        response = self._call("POST", "/refund", "refund", json_body=body, replay_safe=False)
        data = self._data(response, _Answer[_RefundData], f"refund of {reference}").data
        return RefundAccepted(refund_reference=str(data.id), status=data.status)

    # -- sweeps ----------------------------------------------------------------------------

    def verify_many(
        self, references: Iterable[str], *, concurrency: int | None = None
    ) -> dict[str, Verification | ProviderError]:
        """Verify each reference with at most ``concurrency`` calls in flight (default
        ``LEDGER_PROVIDER_CONCURRENCY``). One reference's failure is its entry, never the
        others'. Keys keep the order given; duplicates are verified once. Bound the batch
        size yourself: the result holds one entry per reference. An empty reference is
        ``InvalidInput`` before any call (a payment without one is timed out, not verified)."""
        unique = list(dict.fromkeys(references))
        for reference in unique:
            _check_reference(reference)
        workers = max(1, min(concurrency or self.concurrency, len(unique) or 1))

        def one(reference: str) -> Verification | ProviderError:
            try:
                return self.verify(reference)
            except ProviderError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="paystack") as pool:
            return dict(zip(unique, pool.map(one, unique), strict=True))

    # -- plumbing --------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json_body: dict[str, Any] | None = None,
        log_path: str | None = None,
        replay_safe: bool = True,
    ) -> httpx.Response:
        request = self._client.build_request(
            method,
            self.base_url + path,
            json=json_body,
            headers={
                "Authorization": f"Bearer {self._key.get_secret_value()}",
                "Accept": "application/json",
            },
            timeout=self.timeout,
        )
        return self._caller.send(request, call=what, path=log_path or path, replay_safe=replay_safe)

    def _data(self, response: httpx.Response, model: type[D], what: str) -> D:
        """The answer as ``model``, after the HTTP status and the top-level ``status``."""
        code = response.status_code
        if code >= 400:
            raise ProviderError(f"paystack refused {what} (HTTP {code}): {self._message(response)}")
        payload = read_json(response, provider="paystack", what=what)
        envelope = parse(_Envelope, payload, provider="paystack", what=what)
        if not envelope.status:
            raise ProviderError(f"paystack refused {what}: {self._safe(envelope.message)}")
        return parse(model, payload, provider="paystack", what=what)

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


def _check_reference(reference: str) -> None:
    if not reference or not reference.strip():
        raise InvalidInput("a payment reference is required")


def _is_not_found(response: httpx.Response) -> bool:
    """Paystack's answer for an unknown reference (fixtures/paystack/verify_not_found.json):
    ``status: false`` with code ``transaction_not_found``, or (older answers) a message
    saying the reference was not found."""
    try:
        payload = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    if not isinstance(payload, dict) or payload.get("status") is not False:
        return False
    if payload.get("code") == "transaction_not_found":
        return True
    message = payload.get("message")
    return isinstance(message, str) and "reference not found" in message.lower()


__all__ = ["DEFAULT_URL", "STATUS_OUTCOMES", "PaystackClient"]
