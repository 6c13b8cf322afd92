"""Paystack's answer envelope, shared by the readers of its answers: the success shape
(``{"status": true, "message": ..., "data": ...}``) and the error shape (``{"status": false,
"message": ..., "type"?, "code"?, "meta"?}``), and the misconfiguration of a refused key.

What it deliberately does not do: read ``data`` (each reader has its own model) or decide what
an error means for a call (a refusal for ``POST /refund``, a not-found for a fetch, nonsense for
a list: the readers decide).
"""

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ledger.errors import ProviderMisconfigured
from ledger.providers.http import invalid, misconfigured, one_line

PROVIDER = "paystack"


def success_payload(
    payload: object, what: str, response: httpx.Response, safe: Callable[[str], str]
) -> Mapping[str, Any]:
    """A 2xx body that is Paystack's success envelope (an object with ``status: true``);
    ``ProviderAnswerInvalid`` otherwise."""
    if not isinstance(payload, dict):
        raise invalid(PROVIDER, what, response, "body: not a JSON object")
    status = payload.get("status")
    if status is False:
        raise invalid(PROVIDER, what, response, f"status false: {said(payload, safe)}")
    if status is not True:
        raise invalid(PROVIDER, what, response, "status: missing or not true")
    return payload


def refusal(
    payload: object, safe: Callable[[str], str]
) -> tuple[str, str | None, str | None] | None:
    """Paystack's error shape, ``{"status": false, "message": "...", "type"?, "code"?}``, as
    (message, code, type); None for any other body."""
    if not isinstance(payload, dict) or payload.get("status") is not False:
        return None
    message = payload.get("message")
    if not isinstance(message, str) or not message.strip():
        return None
    code, kind = payload.get("code"), payload.get("type")
    return (
        safe(message),
        one_line(code, limit=60) if isinstance(code, str) else None,
        one_line(kind, limit=60) if isinstance(kind, str) else None,
    )


def names_unknown(payload: object, *things: str) -> bool:
    """Whether an error body says that one of ``things`` (e.g. "transaction") does not exist:
    a code ending in ``not_found``, or a message saying "<thing> ... not found". A bare "Not
    found" (an unknown route, something other than Paystack's API) names nothing."""
    if not isinstance(payload, dict):
        return False
    code, message = payload.get("code"), payload.get("message")
    if isinstance(code, str) and code.endswith("not_found"):
        return True
    if not isinstance(message, str):
        return False
    text = message.lower()
    return "not found" in text and any(thing in text.split("not found")[0] for thing in things)


def said(payload: object, safe: Callable[[str], str]) -> str:
    """The body's ``message`` made safe for one line, or "no message"."""
    message = payload.get("message") if isinstance(payload, dict) else None
    return safe(message) if isinstance(message, str) and message.strip() else "no message"


def key_refused(
    what: str, response: httpx.Response, code: int, safe: Callable[[str], str]
) -> ProviderMisconfigured:
    """``ProviderMisconfigured`` for a 401/403: Paystack refused the secret key."""
    payload: object
    try:
        payload = response.json()
    except ValueError:
        payload = None
    reason = f"the secret key was refused (HTTP {code}): {said(payload, safe)}"
    return misconfigured(PROVIDER, what, response, reason)


__all__ = ["key_refused", "names_unknown", "refusal", "said", "success_payload"]
