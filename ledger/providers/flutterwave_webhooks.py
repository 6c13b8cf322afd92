"""Flutterwave v4 transfer webhooks: check the signature, then parse the event.

``flutterwave-signature`` is the base64 HMAC-SHA256 of the raw request body, keyed with the
secret hash set on Flutterwave's dashboard (``FLUTTERWAVE_WEBHOOK_SECRET``). v3's ``verif-hash``
(the secret itself in a header) is not accepted, and neither is a header equal to the secret
(tests/fixtures/README.md says why).

Invariants: the bytes are checked exactly as received, before any parsing (re-serialised JSON
has another signature); the comparison is constant-time; a missing or empty signature or
secret is never valid, and nothing says why a signature was refused. A parsed event carries a
``Transfer`` (amounts exact in minor units, status mapped as for fetched transfers) and never
the bank account the body names.

What it deliberately does not do: act on the event, deduplicate deliveries (``webhook_id`` is
there for that), or record them. The HTTP route does, answering 401 for
``WebhookSignatureInvalid`` and flagging ``WebhookMalformed`` for an operator.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from pydantic import SecretStr

from ledger.errors import WebhookMalformed, WebhookSignatureInvalid
from ledger.providers.flutterwave_amounts import loads
from ledger.providers.flutterwave_models import AnswerProblem, parse_transfer
from ledger.providers.http import one_line
from ledger.providers.payout_port import Transfer

SIGNATURE_HEADER: Final = "flutterwave-signature"
TRANSFER_EVENTS: Final = frozenset({"transfer.disburse", "transfer.reversal"})
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TransferEvent:
    """A transfer webhook: its id (for deduplication), type, send time and the transfer."""

    webhook_id: str | None
    event_type: str
    sent_at: datetime | None
    transfer: Transfer


def _key(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def sign(raw_body: bytes, secret: str | SecretStr) -> str:
    """The ``flutterwave-signature`` Flutterwave would send for ``raw_body`` (tests and the
    simulator use it)."""
    digest = hmac.new(_key(secret).encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(raw_body: bytes, signature: str | None, secret: str | SecretStr) -> bool:
    """Whether ``signature`` is Flutterwave's for ``raw_body``. Surrounding whitespace is
    ignored; base64 is compared exactly."""
    key = _key(secret)
    if not signature or not signature.strip() or not key:
        return False
    expected = sign(raw_body, key).encode("ascii")
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", errors="replace"))


def parse_transfer_event(raw_body: bytes) -> TransferEvent | None:
    """The transfer event in ``raw_body`` (check the signature first); None for a readable
    event about something else (a charge, say). ``WebhookMalformed`` otherwise."""
    try:
        body = loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookMalformed("flutterwave webhook: the body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise WebhookMalformed("flutterwave webhook: no event type")
    event_type = body["type"]
    if event_type not in TRANSFER_EVENTS:
        return None
    webhook_id = body.get("webhook_id")
    if webhook_id is not None and not isinstance(webhook_id, str):
        raise WebhookMalformed("flutterwave webhook: webhook_id is not a string")
    try:
        transfer = parse_transfer(body.get("data"))
    except AnswerProblem as problem:
        reason = one_line(str(problem))
        raise WebhookMalformed(f"flutterwave webhook {event_type}: {reason}") from None
    return TransferEvent(webhook_id, event_type, _sent_at(body.get("timestamp")), transfer)


def verify_transfer_event(
    raw_body: bytes, signature: str | None, secret: str | SecretStr
) -> TransferEvent | None:
    """``parse_transfer_event`` after ``verify_signature``; ``WebhookSignatureInvalid`` when
    the signature is missing or wrong (nothing is parsed then)."""
    if not verify_signature(raw_body, signature, secret):
        raise WebhookSignatureInvalid("flutterwave webhook: the signature is missing or wrong")
    return parse_transfer_event(raw_body)


def _sent_at(timestamp: object) -> datetime | None:
    """``timestamp`` (milliseconds since the epoch, as Flutterwave sends it) as UTC."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=timestamp)
    except OverflowError:
        return None


__all__ = [
    "SIGNATURE_HEADER",
    "TRANSFER_EVENTS",
    "TransferEvent",
    "WebhookMalformed",
    "WebhookSignatureInvalid",
    "parse_transfer_event",
    "sign",
    "verify_signature",
    "verify_transfer_event",
]
