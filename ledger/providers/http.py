"""HTTP plumbing shared by the provider clients: deadlines, retries, backoff, Retry-After, log
lines, and the digest of an answer that cannot be used.

Policy (docs/providers.md): a call is retried on a network error, a timeout, HTTP 429 and
HTTP 5xx, with exponential backoff and full jitter (a delay drawn uniformly from
``[0, min(max_delay, base_delay * 2**retry))``); an answer that says ``Retry-After: N``
(seconds, as Paystack's 429s do) waits N seconds instead, capped at ``max_retry_after``. Any
other 4xx is returned at once, never retried. When the last attempt fails,
``ProviderUnavailable``.

Deadlines: with a ``timeout``, each attempt must end (connect to last byte) within it
(``ledger.providers.deadline``), and the whole call, attempts and waits included, within
``RetryPolicy.call_budget(timeout)``: a wait that would not leave time for another attempt is
not taken, and the call ends ``ProviderUnavailable`` at once.

A call that is not safe to replay (``replay_safe=False``, e.g. a refund) is retried only when
the request surely did not reach the provider: a failure to connect, or a 429. After a failure
that leaves the outcome unknown (read timeout, 5xx) it raises ``ProviderUnavailable`` at once,
saying the outcome is unknown.

What it deliberately does not do: interpret bodies (``parse`` turns one into a model), or log
headers, bodies or query strings. One log line per attempt, key=value: provider, call, method,
path, status, attempt, duration_ms (and retry_in_ms when another attempt follows).
"""

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ledger.errors import (
    AnswerDigest,
    ProviderAnswerInvalid,
    ProviderMisconfigured,
    ProviderUnavailable,
)
from ledger.providers.deadline import within

M = TypeVar("M", bound=BaseModel)

# Failures that happen before the request is sent: replaying them cannot duplicate anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_retryable_status(status: int) -> bool:
    """429 and every 5xx: the provider is overloaded or failing; a later attempt may work."""
    return status == 429 or status >= 500


def retry_after_seconds(value: str | None) -> float | None:
    """The delta-seconds form of a ``Retry-After`` header, or None (absent, an HTTP date, or
    garbage: the caller then falls back to its own backoff)."""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit():
        return None
    return float(int(text))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait. ``max_retries`` 3 means up to 4 attempts."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(
        self, retry: int, response: httpx.Response | None, rand: Callable[[], float]
    ) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        if response is not None:
            after = retry_after_seconds(response.headers.get("Retry-After"))
            if after is not None:
                return min(after, self.max_retry_after)
        return rand() * min(self.max_delay, self.base_delay * (1 << retry))

    def call_budget(self, timeout: float) -> float:
        """The longest one call may take when each attempt may take ``timeout``: every
        attempt to its deadline, and every wait its longest backoff. A longer ``Retry-After``
        is waited only while it still fits."""
        longest = (min(self.max_delay, self.base_delay * (1 << r)) for r in range(self.max_retries))
        waits = sum(longest)
        return (self.max_retries + 1) * timeout + waits


@dataclass(frozen=True)
class Caller:
    """Sends one logical call with the retry policy, logging each attempt. With ``timeout``,
    each attempt ends within it (connect to last byte) and the call within the policy's
    ``call_budget`` (the client must use ``deadline_transport()`` for sockets to honour it)."""

    client: httpx.Client
    provider: str
    policy: RetryPolicy
    log: logging.Logger
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random  # jitter, not cryptography
    monotonic: Callable[[], float] = time.monotonic
    timeout: float | None = None

    def send(
        self, request: httpx.Request, *, call: str, path: str, replay_safe: bool = True
    ) -> httpx.Response:
        """The response to ``request``: a 2xx, or a 4xx other than 429, to interpret.

        Raises ``ProviderUnavailable`` when every attempt failed (network error, timeout,
        429, 5xx), or at once after an ambiguous failure of a call that is not replay-safe."""
        attempts = self.policy.max_retries + 1
        where = f"{request.method} {path}"
        budget = None if self.timeout is None else self.policy.call_budget(self.timeout)
        call_started = self.monotonic()

        def fits(wait: float) -> bool:
            """Whether waiting ``wait`` still leaves time for another attempt."""
            return budget is None or self.monotonic() - call_started + wait < budget

        for attempt in range(1, attempts + 1):
            started = self.monotonic()
            fields = (
                f"provider={self.provider} call={call} method={request.method} path={path} "
                f"attempt={attempt}/{attempts}"
            )
            limit = self.timeout
            if budget is not None and self.timeout is not None:
                limit = max(0.0, min(self.timeout, budget - (started - call_started)))
            try:
                with within(limit):
                    response = self.client.send(request)
            except httpx.TransportError as exc:
                elapsed = _ms(self.monotonic() - started)
                failure = type(exc).__name__
                can_retry = replay_safe or isinstance(exc, _NOT_SENT)
                wait = self.policy.delay(attempt - 1, None, self.rand)
                if attempt < attempts and can_retry and fits(wait):
                    self.log.warning(
                        "%s status=error error=%s duration_ms=%d retry_in_ms=%d",
                        fields,
                        failure,
                        elapsed,
                        _ms(wait),
                    )
                    self.sleep(wait)
                    continue
                self.log.error("%s status=error error=%s duration_ms=%d", fields, failure, elapsed)
                if not can_retry:
                    raise ProviderUnavailable(
                        f"{self.provider} {where}: {failure}; the outcome is unknown, "
                        f"check with {self.provider} before trying again"
                    ) from None
                raise ProviderUnavailable(
                    f"{self.provider} unreachable: {where} failed {_attempts(attempt)}, "
                    f"the last with {failure}{_out_of_time(attempt, attempts, budget)}"
                ) from None
            elapsed = _ms(self.monotonic() - started)
            status = response.status_code
            if not is_retryable_status(status):
                self.log.info("%s status=%d duration_ms=%d", fields, status, elapsed)
                return response
            can_retry = replay_safe or status == 429
            wait = self.policy.delay(attempt - 1, response, self.rand)
            if attempt < attempts and can_retry and fits(wait):
                self.log.warning(
                    "%s status=%d duration_ms=%d retry_in_ms=%d", fields, status, elapsed, _ms(wait)
                )
                self.sleep(wait)
                continue
            self.log.error("%s status=%d duration_ms=%d", fields, status, elapsed)
            if not can_retry:
                raise ProviderUnavailable(
                    f"{self.provider} {where}: HTTP {status}; the outcome is unknown, "
                    f"check with {self.provider} before trying again"
                )
            raise ProviderUnavailable(
                f"{self.provider} unavailable: {where} failed {_attempts(attempt)}, "
                f"the last with HTTP {status}{_out_of_time(attempt, attempts, budget)}"
            )
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns/raises


def _attempts(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _out_of_time(attempt: int, attempts: int, budget: float | None) -> str:
    """Why a call that had retries left stopped: its budget could not fit another attempt."""
    if attempt >= attempts or budget is None:
        return ""
    return f" (no time left for another attempt within the call's {budget:g} s)"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def digest(response: httpx.Response, reason: str) -> AnswerDigest:
    """The answer as an error may describe it: its body's SHA-256 (16 hex characters), its
    HTTP status and ``reason`` on one line. Never the body itself."""
    return AnswerDigest(
        sha256=hashlib.sha256(response.content).hexdigest()[:16],
        http_status=response.status_code,
        reason=one_line(reason, limit=200),
    )


def misconfigured(
    provider: str, what: str, response: httpx.Response, reason: str
) -> ProviderMisconfigured:
    """``ProviderMisconfigured`` for an answer that says our side is set up wrong."""
    d = digest(response, reason)
    return ProviderMisconfigured(
        f"{provider} answered {what} in a way that means a misconfiguration: {d.reason} "
        f"(HTTP {d.http_status}, body sha256 {d.sha256})",
        d,
    )


def invalid(
    provider: str, what: str, response: httpx.Response, reason: str
) -> ProviderAnswerInvalid:
    """``ProviderAnswerInvalid`` for a JSON answer that cannot be trusted."""
    d = digest(response, reason)
    return ProviderAnswerInvalid(
        f"{provider} answered {what} with an invalid answer: {d.reason} "
        f"(HTTP {d.http_status}, body sha256 {d.sha256})",
        d,
    )


def read_json(response: httpx.Response, *, provider: str, what: str) -> object:
    """The body as JSON; ``ProviderMisconfigured`` when it is not JSON (an HTML page, a
    truncated body: something other than the provider's API answered)."""
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = one_line(response.headers.get("Content-Type", "no content type"), limit=60)
        raise misconfigured(
            provider, what, response, f"the body is not JSON but malformed JSON or {kind}"
        ) from None


def problems(exc: ValidationError, *, prefix: str = "") -> str:
    """Each missing or malformed field of ``exc`` by its path (e.g. ``data.amount``, the
    path starting with ``prefix``), without the values."""
    found = []
    for err in exc.errors(include_input=False, include_url=False)[:5]:
        path = [prefix] if prefix else []
        path.extend(str(part) for part in err["loc"])
        found.append(f"{'.'.join(path) or 'body'}: {err['msg']}")
    return "; ".join(found)


def parse(
    model: type[M], payload: object, *, provider: str, what: str, response: httpx.Response
) -> M:
    """``payload`` as ``model``; ``ProviderAnswerInvalid`` naming each missing or malformed
    field (by its path, e.g. ``data.amount``), never echoing the values."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid(provider, what, response, problems(exc)) from None


def one_line(text: str, *, limit: int = 200) -> str:
    """A provider's message made safe for one log or error line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class OwnsHttpClient:
    """Closes the ``httpx.Client`` it made (not one that was injected: its owner closes that);
    usable as a context manager."""

    _client: httpx.Client
    _owns_client: bool

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = [
    "Caller",
    "OwnsHttpClient",
    "RetryPolicy",
    "digest",
    "invalid",
    "is_retryable_status",
    "misconfigured",
    "one_line",
    "parse",
    "problems",
    "read_json",
    "retry_after_seconds",
]
