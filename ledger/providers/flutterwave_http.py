"""Sending one Flutterwave v4 call: the bearer token, the one token replacement after a 401,
the per-attempt deadline, retries, and the classification of the answer (``Answers``).

Invariants:
- The token comes from a ``TokenSource`` (``FlutterwaveTokenManager``: the ``provider_tokens``
  row the refresh job keeps). After a 401 the source replaces the token once, single flight
  across processes, and the call is sent once more with the new one; a second 401 is
  ``ProviderMisconfigured``. A token call that fails for a reason a retry cannot fix is
  ``ProviderMisconfigured`` too; one that a retry may fix stays ``ProviderUnavailable``.
- Each attempt ends within ``timeout`` seconds from connect to last byte (the sockets of
  ``deadline_transport`` enforce it), the whole call within the retry policy's budget;
  retries and backoff are ``ledger.providers.http``'s. A
  POST is replayed after an ambiguous failure only when it carries an idempotency key or only
  reads (account resolution).
- One ``X-Trace-Id`` per logical call, the same on its retries and its resend after a 401.
  Headers, bodies and query strings are never logged; the token is scrubbed from messages.
"""

import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from ledger.errors import (
    AnswerDigest,
    ConfigError,
    ProviderAnswerInvalid,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
)
from ledger.providers.deadline import deadline_transport
from ledger.providers.flutterwave_amounts import dumps
from ledger.providers.flutterwave_answers import Answers
from ledger.providers.http import Caller, OwnsHttpClient, RetryPolicy

PROVIDER = "flutterwave"
log = logging.getLogger("ledger.providers.flutterwave")
# Calls that only read, so replaying them after an ambiguous failure changes nothing.
_READ_ONLY_POSTS = frozenset({"/banks/account-resolve"})
# The ``call=`` of each route's log lines (one word: the lines stay key=value).
_CALLS = {
    ("POST", "/banks/account-resolve"): "resolve_account",
    ("POST", "/transfers/recipients"): "create_recipient",
    ("POST", "/transfers"): "create_transfer",
    ("GET", "/transfers"): "list_transfers",
}


def call_name(method: str, path: str) -> str:
    """The log name of a call: ``get_transfer`` for ``GET /transfers/{id}``."""
    if method == "GET" and path.startswith("/transfers/"):
        return "get_transfer"
    return _CALLS.get((method, path), "call")


class TokenSource(Protocol):
    """Where the bearer token comes from (``FlutterwaveTokenManager``, or a fake)."""

    def current_token(self) -> str: ...

    def replace_rejected(self, rejected: str) -> str: ...


class FlutterwaveHttp(OwnsHttpClient):
    """Sends calls to ``base_url`` and returns their checked ``Answers``."""

    def __init__(
        self,
        *,
        tokens: TokenSource,
        base_url: str,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        base = base_url.strip().rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ConfigError("invalid setting FLUTTERWAVE_URL: expected an http(s):// URL")
        self.base_url = base
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._tokens = tokens
        self._owns_client = client is None
        self._client = client or httpx.Client(
            transport=transport or deadline_transport(), timeout=timeout
        )
        self._caller = Caller(
            self._client, PROVIDER, self.retry, log, sleep=sleep, rand=rand, timeout=timeout
        )

    def request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        key: str | None = None,
        accounts: tuple[str, ...] = (),
        not_found_ok: bool = False,
        conflict_ok: bool = False,
    ) -> Answers:
        """Send with the stored token (replaced once after a 401) and check the answer."""
        replay_safe = method == "GET" or key is not None or path in _READ_ONLY_POSTS
        call = call_name(method, path)
        content = None if body is None else dumps(dict(body))
        trace = uuid.uuid4().hex

        def send(token: str) -> httpx.Response:
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "X-Trace-Id": trace,
            }
            if content is not None:
                headers["Content-Type"] = "application/json"
            if key is not None:
                headers["X-Idempotency-Key"] = key
            request = self._client.build_request(
                method, self.base_url + path, content=content, params=params, headers=headers
            )
            return self._caller.send(request, call=call, path=path, replay_safe=replay_safe)

        token = self._guarded(self._tokens.current_token)
        response = send(token)
        if response.status_code == 401:
            log.warning(
                "provider=%s call=%s status=401 token=rejected action=replace", PROVIDER, call
            )
            rejected = token
            token = self._guarded(lambda: self._tokens.replace_rejected(rejected))
            response = send(token)
            if response.status_code == 401:
                answers = Answers(response, what, secrets=(token, rejected), accounts=accounts)
                raise answers.misconfigured("HTTP 401 again after one token refresh")
        answers = Answers(response, what, secrets=(token,), accounts=accounts)
        answers.check(not_found_ok=not_found_ok, conflict_ok=conflict_ok)
        return answers

    @staticmethod
    def _guarded(get: Callable[[], str]) -> str:
        """A token from ``get``; a failure a retry cannot fix becomes ``ProviderMisconfigured``."""
        try:
            return get()
        except (ProviderUnavailable, ProviderMisconfigured, ProviderAnswerInvalid):
            raise
        except ProviderError as exc:
            reason = f"the token request failed: {exc}"[:200]
            raise ProviderMisconfigured(
                f"flutterwave token: {exc}", AnswerDigest("", None, reason)
            ) from None


__all__ = ["FlutterwaveHttp", "TokenSource"]
