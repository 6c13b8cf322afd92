"""The webhook channel: a signed JSON POST per message to the platform (or the user's URL).

Headers: ``X-Ledger-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes with
``LEDGER_NOTIFY_WEBHOOK_SECRET``; ``Idempotency-Key``, the message's key (the same on every
retry, so the receiver can drop repeats: delivery is at-least-once); ``X-Ledger-Template``.
The body is built from the outbox row only, so a retry sends the same bytes and signature.
A 2xx answer is delivered; any other answer is ``Rejected`` (retried later); a connection
error or timeout is ``ChannelDown`` for that host (the run leaves its other messages for the
next run). Redirects are not followed.

The receiver checks ``hmac.compare_digest(header, "sha256=" + hmac_sha256(secret, body))``.
"""

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from jobs.notifications.smtp import ChannelDown, Rejected, scrub
from jobs.notifications.store import Claimed

SIGNATURE_HEADER = "X-Ledger-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(row: Claimed) -> bytes:
    """The JSON body for ``row`` (keys sorted: the same row always gives the same bytes)."""
    recipient: dict[str, Any] | str = (
        {"user_id": row.recipient, "external_id": row.recipient_ref}
        if row.recipient_ref is not None
        else row.recipient
    )
    body = {
        "id": row.id,
        "template": row.template,
        "recipient": recipient,
        "subject": row.subject,
        "text": row.body_text,
        "data": json.loads(row.data),
        "event": {"id": row.event_id, "position": int(row.position)},
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


class WebhookSender:
    """Posts to webhook URLs with one HTTP client; ``close()`` when the run ends."""

    def __init__(
        self,
        secret: SecretStr,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._secret = secret
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return "WebhookSender()"

    def send(self, url: str, row: Claimed) -> None:
        body = webhook_body(row)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self._secret.get_secret_value()),
            IDEMPOTENCY_HEADER: row.id,
            "X-Ledger-Template": row.template,
            "User-Agent": "escrow-ledger-notifications",
        }
        host = urlsplit(url).hostname or "?"
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:  # connect, timeout, protocol errors
            raise ChannelDown(f"webhook {host} unreachable ({type(exc).__name__})") from None
        if not response.is_success:
            reason = scrub(response.reason_phrase or "")
            raise Rejected(f"webhook {host} answered {response.status_code} {reason}".strip())

    def close(self) -> None:
        self._client.close()


__all__ = ["IDEMPOTENCY_HEADER", "SIGNATURE_HEADER", "WebhookSender", "sign", "webhook_body"]
