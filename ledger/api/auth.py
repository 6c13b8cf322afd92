"""Bearer-token authentication of the API (``LEDGER_API_TOKENS``, comma-separated).

A missing or non-Bearer ``Authorization`` header is 401 (with ``WWW-Authenticate: Bearer``);
a token that is not configured is 403; no tokens configured at all is 503 (``not_configured``),
so a server started only for webhooks refuses the command API instead of opening it. Tokens
are compared in constant time against every configured token (as SHA-256 digests, so neither
their contents nor their lengths leak through timing). A caller is known by its *principal*,
``token-`` plus the first 12 hex digits of the token's SHA-256: safe to log and to key
idempotency records by, useless to an attacker.

Webhooks do not use these tokens (Paystack signs its deliveries), and ``/healthz``,
``/readyz``, ``/metrics`` are open (they carry no ids, amounts per payment or secrets).
"""

import hashlib
import hmac

from fastapi import Request
from fastapi.security import HTTPBearer
from pydantic import SecretStr

from ledger.api.errors import ApiError
from ledger.errors import ConfigError

# Documents the scheme in the OpenAPI spec; the checking is ``Authenticator``'s.
bearer_scheme = HTTPBearer(auto_error=False, description="A token from LEDGER_API_TOKENS.")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).digest()


def principal_of(token: str) -> str:
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:12]


class Authenticator:
    """Checks ``Authorization: Bearer TOKEN`` against the configured tokens."""

    def __init__(self, tokens: SecretStr | None) -> None:
        raw = tokens.get_secret_value() if tokens is not None else ""
        values = [t.strip() for t in raw.split(",") if t.strip()]
        self._digests = [(_digest(t), principal_of(t)) for t in values]

    def __repr__(self) -> str:
        return f"Authenticator(tokens={len(self._digests)})"

    @property
    def configured(self) -> bool:
        return bool(self._digests)

    def principal(self, authorization: str | None) -> str:
        """The caller's principal; raises ``ApiError`` 401/403 or ``ConfigError`` (503)."""
        if not self._digests:
            raise ConfigError("the API has no tokens: set LEDGER_API_TOKENS")
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                401,
                "unauthorized",
                "missing bearer token: send Authorization: Bearer TOKEN",
                {"WWW-Authenticate": "Bearer"},
            )
        given = _digest(token)
        found: str | None = None
        for digest, principal in self._digests:  # every one: the time does not tell which
            if hmac.compare_digest(digest, given):
                found = principal
        if found is None:
            raise ApiError(403, "forbidden", "unknown bearer token")
        return found

    def try_principal(self, authorization: str | None) -> str | None:
        """The principal, or None for anything ``principal`` would refuse."""
        try:
            return self.principal(authorization)
        except (ApiError, ConfigError):
            return None


def request_principal(request: Request) -> str:
    """The authenticated principal of ``request`` (set by ``require_token``)."""
    principal = getattr(request.state, "principal", None)
    return str(principal) if principal else "anonymous"


__all__ = ["Authenticator", "bearer_scheme", "principal_of", "request_principal"]
