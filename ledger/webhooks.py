"""Paystack webhooks: check, parse, apply, record. One code path for ``POST /webhooks/paystack``
and ``ledger webhooks paystack --signature SIG < body.json``.

Order of the checks, each a ``WebhookOutcome`` that is recorded in ``webhook_deliveries``:

1. source address (only when ``LEDGER_WEBHOOK_ALLOWED_IPS`` is set): ``forbidden_source``;
2. size (at most ``MAX_BODY_BYTES``): ``too_large``;
3. the signature over the raw bytes, before any parsing (HMAC-SHA512, constant time):
   ``invalid_signature`` when missing or wrong;
4. the body (``ledger.webhook_body``): a JSON object with a string ``event`` and an object
   ``data``; the event name and the fields the ledger reads storable as text (no NUL, no
   unpaired surrogate); for the events acted on, the fields they need: ``malformed``;
5. the event: ``charge.success`` confirms the payment with that reference after the ledger has
   compared amount and currency with the transaction (a mismatch or a success for a failed
   payment is flagged: ``flagged``); ``refund.processed`` confirms the refund of the payment
   named by ``transaction_reference``; any other event is acknowledged (``ignored``).

Duplicates: Paystack retries a delivery for up to 72 hours. The ledger's commands are
idempotent, so a repeated ``charge.success`` writes no event and is recorded as ``duplicate``.
A reference the ledger does not know (another integration on the same Paystack account) is
acknowledged as ``unknown_reference``; a delivery the ledger refuses (a rule said no) is
acknowledged as ``refused`` for an operator to look at, since retrying cannot change it. Only
a failure that a retry may fix (database down, write conflicts) is ``failed``: the caller
answers non-2xx and Paystack delivers again.

Invariants: nothing is parsed before the signature is checked; the signature, the secret key
and the body never appear in a record or a log line (only the body's SHA-256); every delivery
is recorded, valid or not, its text escaped where a store could not keep it (if even the
record cannot be written, the outcome becomes ``failed`` so that Paystack's retry gets
recorded).
"""

import hashlib
import ipaddress
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from pydantic import SecretStr

from ledger import webhook_body
from ledger.application import Ledger
from ledger.clock import Clock, system_clock
from ledger.config import Settings
from ledger.errors import (
    ConfigError,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PaymentBusy,
)
from ledger.providers.paystack_answers import TransactionInvalid, parse_transaction
from ledger.providers.port import Outcome
from ledger.providers.webhooks import verify_signature
from ledger.sidetables import SideTables, read_time

MAX_BODY_BYTES = 1 << 20  # Paystack's events are a few kilobytes
log = logging.getLogger("ledger.webhooks")


class WebhookOutcome(StrEnum):
    """What became of a delivery. ``acknowledged`` ones are answered 2xx (Paystack stops)."""

    APPLIED = "applied"  # a payment or refund confirmed: events written
    FLAGGED = "flagged"  # money arrived but does not fit: flagged for review (events written)
    DUPLICATE = "duplicate"  # had already taken effect: nothing written
    IGNORED = "ignored"  # an event the ledger does not act on
    UNKNOWN_REFERENCE = "unknown_reference"  # not a payment of this ledger
    REFUSED = "refused"  # a rule said no (retrying cannot help): for an operator
    FORBIDDEN_SOURCE = "forbidden_source"  # not from an allowed address
    TOO_LARGE = "too_large"
    INVALID_SIGNATURE = "invalid_signature"  # missing or wrong x-paystack-signature
    MALFORMED = "malformed"  # not JSON, or lacks event/data or the fields the event needs
    FAILED = "failed"  # could not be applied now (database, conflicts): deliver again

    @property
    def acknowledged(self) -> bool:
        return self in _ACKNOWLEDGED


_ACKNOWLEDGED = frozenset(
    {
        WebhookOutcome.APPLIED,
        WebhookOutcome.FLAGGED,
        WebhookOutcome.DUPLICATE,
        WebhookOutcome.IGNORED,
        WebhookOutcome.UNKNOWN_REFERENCE,
        WebhookOutcome.REFUSED,
    }
)


@dataclass(frozen=True)
class Delivery:
    """One delivery as recorded in ``webhook_deliveries``."""

    id: UUID
    received_at: datetime
    event: str | None
    reference: str | None
    signature_valid: bool
    outcome: WebhookOutcome
    detail: str
    body_sha256: str
    source_ip: str | None
    transaction_id: UUID | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "received_at": self.received_at.isoformat(),
            "event": self.event,
            "reference": self.reference,
            "signature_valid": self.signature_valid,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "body_sha256": self.body_sha256,
            "source_ip": self.source_ip,
            "transaction_id": str(self.transaction_id) if self.transaction_id else None,
        }


# -- the webhook_deliveries table -------------------------------------------------------------

_INSERT = (
    "INSERT INTO webhook_deliveries (provider, id, received_at, event, reference, "
    "signature_valid, outcome, detail, body_sha256, source_ip, transaction_id) "
    "VALUES ('paystack', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_RECENT = (
    "SELECT id, received_at, event, reference, signature_valid, outcome, detail, body_sha256, "
    "source_ip, transaction_id FROM webhook_deliveries"
)


class DeliveryStore:
    """``webhook_deliveries`` in the ledger's database (see ``ledger.sidetables``)."""

    def __init__(self, tables: SideTables) -> None:
        self._tables = tables

    @classmethod
    def from_settings(cls, settings: Settings) -> "DeliveryStore":
        return cls(SideTables.from_settings(settings))

    def close(self) -> None:
        self._tables.close()

    def record(self, d: Delivery) -> None:
        sqlite = self._tables.kind == "sqlite"
        tid = d.transaction_id
        row = (
            str(d.id) if sqlite else d.id,
            d.received_at,
            d.event,
            d.reference,
            int(d.signature_valid) if sqlite else d.signature_valid,
            d.outcome.value,
            d.detail,
            d.body_sha256,
            d.source_ip,
            (str(tid) if sqlite else tid) if tid else None,
        )
        with self._tables.connection() as conn:
            conn.execute(_INSERT, row)

    def recent(
        self,
        *,
        limit: int = 100,
        outcome: str | None = None,
        reference: str | None = None,
        oldest_first: bool = False,
    ) -> list[Delivery]:
        """The latest deliveries first (the earliest with ``oldest_first``), optionally of
        one outcome or reference."""
        clauses, params = [], []
        if outcome is not None:
            clauses.append("outcome = %s")
            params.append(WebhookOutcome(outcome).value)
        if reference is not None:
            clauses.append("reference = %s")
            params.append(webhook_body.storable(reference))  # as recorded
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        way = "" if oldest_first else " DESC"
        query = f"{_RECENT}{where} ORDER BY received_at{way}, id{way} LIMIT %s"
        with self._tables.connection() as conn:
            rows = conn.execute(query, [*params, int(limit)]).fetchall()
        return [
            Delivery(
                id=UUID(str(r[0])),
                received_at=read_time(r[1]),
                event=r[2],
                reference=r[3],
                signature_valid=bool(r[4]),
                outcome=WebhookOutcome(r[5]),
                detail=r[6],
                body_sha256=r[7],
                source_ip=r[8],
                transaction_id=UUID(str(r[9])) if r[9] else None,
            )
            for r in rows
        ]


# -- the handler ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Applied:
    outcome: WebhookOutcome
    detail: str
    transaction_id: UUID | None = None


class PaystackWebhooks:
    """Checks, applies and records Paystack deliveries (see the module docstring).

    ``secret`` is the Paystack secret key (None: every delivery is ``invalid_signature``);
    ``allowed_ips`` are addresses or networks (empty: any source)."""

    def __init__(
        self,
        ledger: Ledger,
        store: DeliveryStore,
        *,
        secret: SecretStr | None,
        allowed_ips: tuple[str, ...] = (),
        clock: Clock = system_clock,
        new_id: Callable[[], UUID] = uuid.uuid4,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self._secret = secret
        self._networks = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_ips)
        self._clock = clock
        self._new_id = new_id

    def __repr__(self) -> str:
        return f"PaystackWebhooks(allowed_networks={len(self._networks)})"

    def source_allowed(self, source_ip: str | None) -> bool:
        """Whether ``source_ip`` may deliver (always, when no allowlist is set; a delivery
        with no address, from the CLI, is not checked)."""
        if not self._networks or source_ip is None:
            return True
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def handle(self, raw: bytes, signature: str | None, *, source_ip: str | None) -> Delivery:
        """Check, apply and record one delivery; return what was recorded. Never raises for
        anything a sender can do: every outcome is a ``Delivery``."""
        digest = hashlib.sha256(raw).hexdigest()
        valid = False
        event: str | None = None
        reference: str | None = None
        if not self.source_allowed(source_ip):
            applied = _Applied(WebhookOutcome.FORBIDDEN_SOURCE, "source address not allowed")
        elif len(raw) > MAX_BODY_BYTES:
            applied = _Applied(WebhookOutcome.TOO_LARGE, f"body over {MAX_BODY_BYTES} bytes")
        elif not signature or not signature.strip():
            applied = _Applied(WebhookOutcome.INVALID_SIGNATURE, "no x-paystack-signature")
        elif self._secret is None or not verify_signature(raw, signature, self._secret):
            applied = _Applied(WebhookOutcome.INVALID_SIGNATURE, "signature does not match")
        else:
            valid = True
            try:
                event, data = webhook_body.parse(raw)
                reference = webhook_body.reference_hint(data)
                webhook_body.check_storable(event, data)
                applied = self._apply(event, data)
            except webhook_body.Malformed as exc:
                applied = _Applied(WebhookOutcome.MALFORMED, str(exc))
        delivery = Delivery(
            id=self._new_id(),
            received_at=self._clock(),
            event=webhook_body.storable(event[:100]) if event else None,
            reference=webhook_body.storable(reference) if reference else None,
            signature_valid=valid,
            outcome=applied.outcome,
            detail=webhook_body.storable(applied.detail[:500]),
            body_sha256=digest,
            source_ip=source_ip,
            transaction_id=applied.transaction_id,
        )
        try:
            self.store.record(delivery)
        except Exception as exc:  # the record is the audit trail: no record, no 2xx
            log.error(
                "event=webhook_record_failed delivery=%s error=%s", delivery.id, type(exc).__name__
            )
            delivery = _replace_outcome(delivery, f"not recorded ({type(exc).__name__})")
        _log(delivery)
        return delivery

    def _apply(self, event: str, data: Mapping[str, Any]) -> _Applied:
        if event == "charge.success":
            return self._guarded(lambda: self._charge_success(data))
        if event == "refund.processed":
            return self._guarded(lambda: self._refund_processed(data))
        return _Applied(WebhookOutcome.IGNORED, f"event {event[:100]} is not acted on")

    def _guarded(self, apply: Callable[[], _Applied]) -> _Applied:
        """Turn the ledger's errors into outcomes: permanent ones acknowledged, transient
        ones ``failed`` (Paystack delivers again)."""
        try:
            return apply()
        except (Conflict, PaymentBusy, ConfigError, PersistenceError, OSError) as exc:
            return _Applied(WebhookOutcome.FAILED, f"ledger unavailable ({type(exc).__name__})")
        except DomainError as exc:
            return _Applied(WebhookOutcome.REFUSED, str(exc))

    def _transaction(self, reference: str) -> UUID | None:
        try:
            return self.ledger.find_transaction_id(reference)
        except (NotFound, InvalidInput):
            return None

    def _charge_success(self, data: Mapping[str, Any]) -> _Applied:
        # The same body model as verify answers (ledger.providers.paystack_answers).
        try:
            charge = parse_transaction(data)
        except TransactionInvalid as exc:
            raise webhook_body.Malformed(str(exc)) from None
        if charge.outcome is not Outcome.SUCCESS:
            raise webhook_body.Malformed("data.status of a charge.success is not success")
        paid = charge.verification()
        tid = self._transaction(charge.reference)
        if tid is None:
            return _Applied(WebhookOutcome.UNKNOWN_REFERENCE, "no payment with this reference")
        assert paid.amount is not None  # a success has both
        assert paid.currency is not None
        result = self.ledger.confirm_payment(
            tid,
            amount=paid.amount,
            currency=paid.currency,
            provider_status=paid.provider_status,
            provider_transaction_id=(paid.provider_transaction_id or "")[:100] or None,
            paid_at=paid.paid_at,
        )
        if not result.changed:
            return _Applied(WebhookOutcome.DUPLICATE, result.message, tid)
        txn = self.ledger.get_transaction(tid)
        if txn.needs_review:
            reason = txn.flag_reason.value if txn.flag_reason else "review"
            return _Applied(WebhookOutcome.FLAGGED, f"flagged {reason}: {result.message}", tid)
        return _Applied(WebhookOutcome.APPLIED, result.message, tid)

    def _refund_processed(self, data: Mapping[str, Any]) -> _Applied:
        reference = webhook_body.text(data, "transaction_reference")
        tid = self._transaction(reference)
        if tid is None:
            return _Applied(WebhookOutcome.UNKNOWN_REFERENCE, "no payment with this reference")
        result = self.ledger.confirm_refund(reference)
        outcome = WebhookOutcome.APPLIED if result.changed else WebhookOutcome.DUPLICATE
        return _Applied(outcome, result.message, tid)


def _replace_outcome(d: Delivery, detail: str) -> Delivery:
    return Delivery(
        id=d.id,
        received_at=d.received_at,
        event=d.event,
        reference=d.reference,
        signature_valid=d.signature_valid,
        outcome=WebhookOutcome.FAILED,
        detail=detail,
        body_sha256=d.body_sha256,
        source_ip=d.source_ip,
        transaction_id=d.transaction_id,
    )


def _log(d: Delivery) -> None:
    level = logging.INFO if d.outcome.acknowledged else logging.WARNING
    if d.outcome in (WebhookOutcome.REFUSED, WebhookOutcome.FLAGGED):
        level = logging.WARNING
    log.log(
        level,
        "event=webhook provider=paystack delivery=%s outcome=%s webhook_event=%s reference=%s "
        "signature_valid=%s source_ip=%s",
        d.id,
        d.outcome.value,
        d.event,
        d.reference,
        d.signature_valid,
        d.source_ip,
    )


def build_webhooks(
    settings: Settings, ledger: Ledger, *, clock: Clock = system_clock
) -> PaystackWebhooks:
    """The handler for the configured Paystack secret and allowlist, recording into the
    ledger's database. Close its ``store`` when done."""
    return PaystackWebhooks(
        ledger,
        DeliveryStore.from_settings(settings),
        secret=settings.paystack_secret_key,
        allowed_ips=settings.webhook_allowed_ips,
        clock=clock,
    )


__all__ = [
    "MAX_BODY_BYTES",
    "Delivery",
    "DeliveryStore",
    "PaystackWebhooks",
    "WebhookOutcome",
    "build_webhooks",
]
