"""One Flutterwave v4 answer, classified (docs/providers.md "Flutterwave transfers"):

    3xx, 401 (after the one token refresh), 403                  -> ProviderMisconfigured
    another 4xx without Flutterwave's error body (HTML, a proxy)  -> ProviderMisconfigured
    404 with the not-found error body, where a lookup allows it   -> not found
    409 with the error body, where the caller resolves it         -> left to the caller
    another 4xx with the error body ({"status": "failed",
      "error": {"type", "code", "message"}})                       -> TransferRefused
    2xx whose body is not JSON                                    -> ProviderMisconfigured
    2xx JSON without ``status: success`` or a usable ``data``      -> ProviderAnswerInvalid

429 and 5xx never get here: ``ledger.providers.http.Caller`` retries them and raises
``ProviderUnavailable``. Errors carry an ``AnswerDigest`` (the body's SHA-256, never the body)
and Flutterwave's message with the token and account numbers scrubbed out.
"""

import hashlib
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ledger.errors import AnswerDigest, ProviderAnswerInvalid, ProviderMisconfigured
from ledger.providers.flutterwave_amounts import loads
from ledger.providers.flutterwave_models import (
    AnswerProblem,
    ErrorBody,
    parse_transfer,
    problems,
    scrub,
)
from ledger.providers.http import one_line
from ledger.providers.payout_port import Transfer, TransferRefused

M = TypeVar("M", bound=BaseModel)
PROVIDER = "flutterwave"


class Answers:
    """The response to one call (``what`` names it in messages), checked by ``check``."""

    def __init__(
        self,
        response: httpx.Response,
        what: str,
        *,
        secrets: tuple[str, ...] = (),
        accounts: tuple[str, ...] = (),
    ) -> None:
        self.response = response
        self.what = what
        self.not_found = False
        self._secrets = secrets
        self._accounts = accounts
        self._payload: Any = None

    # -- classification ----------------------------------------------------------------------

    def check(self, *, not_found_ok: bool = False, conflict_ok: bool = False) -> None:
        """Raise for every class but a usable 2xx, a not-found (when ``not_found_ok``) and a
        409 (when ``conflict_ok``)."""
        code = self.response.status_code
        if 300 <= code < 400:
            raise self.misconfigured(f"a redirect (HTTP {code}): FLUTTERWAVE_URL is not the API")
        if code in (401, 403):
            raise self.misconfigured(f"HTTP {code}: {self._error_message()}")
        if code >= 400:
            error = self._error()
            if error is None:
                raise self.misconfigured(f"HTTP {code} without Flutterwave's error body")
            if code == 404 and not_found_ok and _is_not_found(error):
                self.not_found = True
                return
            if code == 409 and conflict_ok:
                return
            message = self._safe(error.error.message)
            kind = one_line(f"{error.error.type} {error.error.code}", limit=60)
            raise TransferRefused(
                f"flutterwave refused {self.what} (HTTP {code}, {kind}): {message}",
                http_status=code,
                error_type=error.error.type,
                error_code=error.error.code,
            )
        if not 200 <= code < 300:
            raise self.misconfigured(f"unexpected HTTP {code}")
        try:
            payload = loads(self.response.content)
        except (ValueError, UnicodeDecodeError):
            kind = one_line(self.response.headers.get("Content-Type", "no content type"), limit=60)
            raise self.misconfigured(f"the body is not JSON ({kind})") from None
        if not isinstance(payload, dict):
            raise self.invalid("the body is not a JSON object")
        status = payload.get("status")
        if not isinstance(status, str) or status.strip().lower() != "success":
            raise self.invalid("the top-level status is not 'success'")
        self._payload = payload

    def data(self, model: type[M], *, whole: bool = False) -> M:
        """``data`` (or the whole body) as ``model``; ``ProviderAnswerInvalid`` naming the
        missing or malformed fields."""
        payload = self._payload if whole else (self._payload or {}).get("data")
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise self.invalid(problems(exc, prefix="" if whole else "data")) from None

    def transfer(self) -> Transfer:
        """``data`` as a ``Transfer``; ``ProviderAnswerInvalid`` when it cannot be trusted."""
        try:
            return parse_transfer((self._payload or {}).get("data"))
        except AnswerProblem as problem:
            raise self.invalid(str(problem)) from None

    # -- errors ----------------------------------------------------------------------------

    def digest(self, reason: str) -> AnswerDigest:
        return AnswerDigest(
            sha256=hashlib.sha256(self.response.content).hexdigest()[:16],
            http_status=self.response.status_code,
            reason=self._safe(reason),
        )

    def misconfigured(self, reason: str) -> ProviderMisconfigured:
        d = self.digest(reason)
        return ProviderMisconfigured(
            f"{PROVIDER} answered {self.what} in a way that means a misconfiguration: "
            f"{d.reason} (HTTP {d.http_status}, body sha256 {d.sha256})",
            d,
        )

    def invalid(self, reason: str) -> ProviderAnswerInvalid:
        d = self.digest(reason)
        return ProviderAnswerInvalid(
            f"{PROVIDER} answered {self.what} with an invalid answer: {d.reason} "
            f"(HTTP {d.http_status}, body sha256 {d.sha256})",
            d,
        )

    def _safe(self, text: str) -> str:
        return scrub(text, secrets=self._secrets, accounts=self._accounts)

    def _error(self) -> ErrorBody | None:
        try:
            return ErrorBody.model_validate(loads(self.response.content))
        except (ValueError, UnicodeDecodeError, ValidationError):
            return None

    def _error_message(self) -> str:
        error = self._error()
        return self._safe(error.error.message) if error else "no Flutterwave error body"


def _is_not_found(error: ErrorBody) -> bool:
    """Flutterwave's not-found error: type ``RESOURCE_NOT_FOUND`` (code ``10404``) or a
    resource-specific ``..._NOT_FOUND`` type."""
    kind = error.error.type.strip().upper()
    return kind.endswith("NOT_FOUND") or error.error.code.strip().endswith("404")


__all__ = ["Answers"]
