"""What the Flutterwave simulator knows and does: tokens, accounts, recipients, transfers (one
per idempotency key, one per reference), their settlement and the signed webhooks it sends.

Amounts are kept as Flutterwave keeps them, ``Decimal`` major units; bodies are written with
``flutterwave_amounts.dumps`` so they stay exact. Every mutation holds ``lock``. Settlement
runs on timers (``settle_after_ms``), so a webhook may reach the ledger before the answer to
the create call does, as it can with Flutterwave.

What it deliberately does not do: move money, charge fees that vary, or check anything beyond
the client credentials, the bearer token and the shapes of the requests.
"""

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from ledger.providers.flutterwave_amounts import EXPONENTS, AmountError, dumps, to_minor
from ledger.providers.flutterwave_webhooks import SIGNATURE_HEADER, sign
from ledger.simulator import flutterwave_wire as wire

log = logging.getLogger("ledger.simulator")
DEFAULT_ACCOUNTS = {"044:0690000040": "Alex James", "044:0690000031": "Forrest Green"}
FAILURE = {
    "type": "insufficient_balance",
    "code": "0307",
    "message": "DISBURSE FAILED: Insufficient wallet balance",
}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"  # noqa: TID251 - simulator


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(10).replace('-', 'x').replace('_', 'y')}"


class Refusal(Exception):
    """An answer in Flutterwave's error shape: HTTP ``status``, ``error.type``, message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message

    def body(self) -> dict[str, Any]:
        code = {400: "10400", 401: "10401", 403: "10403", 404: "10404", 409: "10409"}
        return {
            "status": "failed",
            "error": {
                "type": self.kind,
                "code": code.get(self.status, f"10{self.status}"),
                "message": self.message,
                "validation_errors": [],
            },
        }


@dataclass
class FwState:
    """Everything the simulator knows; guarded by ``lock``."""

    client_id: str
    client_secret: str
    webhook_secret: str
    webhook_url: str | None = None
    token_ttl: int = 600
    settle_after_ms: int = 0
    latency_ms: int = 0
    tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    accounts: dict[str, str | None] = field(default_factory=lambda: dict(DEFAULT_ACCOUNTS))
    recipients: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id, oldest first
    by_key: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by reference
    faults: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    timers: list[threading.Timer] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- scripting ------------------------------------------------------------------------

    def apply_script(self, script: dict[str, Any]) -> None:
        with self.lock:
            for reference, plan in dict(script.get("references", {})).items():
                entry = self.scripts.setdefault(reference, {})
                entry.update({k: v for k, v in plan.items() if k != "faults"})
                entry.setdefault("faults", []).extend(plan.get("faults", []))
            self.faults.extend(script.get("faults", []))
            self.accounts.update(script.get("accounts", {}))
            for name in ("latency_ms", "settle_after_ms", "token_ttl"):
                if name in script:
                    setattr(self, name, int(script[name]))
            if "webhook_url" in script:
                self.webhook_url = script["webhook_url"] or None
            if script.get("revoke_tokens"):
                self.tokens.clear()

    def reset(self) -> None:
        with self.lock:
            for timer in self.timers:
                timer.cancel()
            for table in (self.tokens, self.recipients, self.transfers, self.by_key, self.scripts):
                table.clear()
            for log_list in (self.faults, self.calls, self.deliveries, self.timers):
                log_list.clear()
            self.accounts = dict(DEFAULT_ACCOUNTS)
            self.latency_ms = self.settle_after_ms = 0

    def take_fault(self, route: str, reference: str | None) -> dict[str, Any] | None:
        """The next fault for ``route``: the reference's own first, then a global one."""
        with self.lock:
            queues = [self.scripts.get(reference or "", {}).get("faults", []), self.faults]
            for queue in queues:
                for i, fault in enumerate(queue):
                    if fault.get("route") in (None, route):
                        return dict(queue.pop(i))
            return None

    # -- tokens and accounts --------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> str | None:
        ok = secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(
            client_secret, self.client_secret
        )
        if not ok:
            return None
        token = f"simtok_{secrets.token_hex(16)}"
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def resolve(self, bank_code: str, number: str) -> str:
        """The holder's name; ``Refusal`` for an account that does not resolve. Unknown
        10-digit numbers resolve to a made-up holder unless scripted as ``null``."""
        with self.lock:
            key = f"{bank_code}:{number}"
            nuban = len(number) == 10 and number.isdigit()
            if key in self.accounts:
                name = self.accounts[key]
            else:
                name = f"SIM HOLDER {number[-4:]}" if nuban else None
        if name is None:
            raise Refusal(400, "REQUEST_NOT_VALID", "Account could not be resolved")
        return name

    # -- transfers ------------------------------------------------------------------------

    def create_transfer(self, body: dict[str, Any], key: str | None) -> tuple[dict[str, Any], bool]:
        """The transfer for ``body`` and whether it is new. The same idempotency key gets the
        same transfer; a reference already used under another key is a 409."""
        reference, value, currency, recipient_id = _transfer_fields(body)
        with self.lock:
            if key and key in self.by_key:
                return self.transfers[self.by_key[key]], False
            if any(t["reference"] == reference for t in self.transfers.values()):
                raise Refusal(409, "RESOURCE_CONFLICT", "A transfer with this reference exists")
            if recipient_id not in self.recipients:
                raise Refusal(404, "RESOURCE_NOT_FOUND", "Recipient not found")
            transfer = self._new(reference, value, currency, recipient_id, body.get("narration"))
            transfer["bank"] = self.recipients[recipient_id].get("bank")
            if key:
                self.by_key[key] = transfer["id"]
        return transfer, True

    def schedule(self, reference: str) -> None:
        """Settle a new transfer as scripted (after its answer was built: it answers NEW)."""
        with self.lock:
            plan = dict(self.scripts.get(reference, {}))
            delay = int(plan.get("settle_after_ms", self.settle_after_ms))
        if plan.get("outcome", "SUCCESSFUL") != "PENDING":
            self.later(delay, self.settle, reference, str(plan.get("outcome", "SUCCESSFUL")))
        if "reverse_after_ms" in plan:
            self.later(delay + int(plan["reverse_after_ms"]), self.reverse, reference)

    def _new(
        self, reference: str, value: Decimal, currency: str, recipient_id: str | None, note: Any
    ) -> dict[str, Any]:
        transfer: dict[str, Any] = {
            "id": new_id("trf"),
            "reference": reference,
            "status": "NEW",
            "value": value,
            "currency": currency,
            "recipient_id": recipient_id,
            "narration": str(note or ""),
            "created": now_iso(),
            "provider_response": None,
            "reversal": None,
            "bank": None,
        }
        self.transfers[transfer["id"]] = transfer
        return transfer

    def plant(self, reference: str, value: Decimal, currency: str, status: str) -> dict[str, Any]:
        """A transfer the ledger never made (reconciliation must report it)."""
        _check_amount(value, currency)
        with self.lock:
            transfer = self._new(reference, value, currency, None, "made outside the ledger")
            transfer["status"] = status
        return transfer

    def by_reference(self, reference: str) -> dict[str, Any]:
        with self.lock:
            for transfer in self.transfers.values():
                if transfer["reference"] == reference:
                    return transfer
        raise KeyError(f"unknown reference {reference}")

    def settle(self, reference: str, status: str = "SUCCESSFUL", *, webhook: bool = True) -> None:
        """Move a transfer to ``status`` (``FAILED`` gets a reason) and send its webhook."""
        with self.lock:
            transfer = self.by_reference(reference)
            transfer["status"] = status.upper()
            transfer["provider_response"] = FAILURE if status.upper() == "FAILED" else None
            send = webhook and self.scripts.get(reference, {}).get("webhook", True)
        if send:
            self.send_webhook(reference)

    def reverse(self, reference: str, *, webhook: bool = True) -> None:
        """The bank returns the money of a successful transfer: ``FAILED`` plus ``reversal``."""
        with self.lock:
            transfer = self.by_reference(reference)
            transfer["status"] = "FAILED"
            transfer["provider_response"] = {
                "type": "reversed",
                "code": "R01",
                "message": "Beneficiary bank returned the funds",
            }
            transfer["reversal"] = {
                "reversal_datetime": now_iso(),
                "initial_status": "SUCCESSFUL",
                "reconciliation_status": "REVERSED",
                "reconciliation_type": "D",
            }
        if webhook:
            self.send_webhook(reference)

    def later(self, delay_ms: int, action: Any, *args: Any) -> None:
        def run() -> None:
            try:
                action(*args)
            except Exception as exc:  # a timer has no caller to tell: record it
                log.warning("simulator event=timer_failed error=%s", type(exc).__name__)

        timer = threading.Timer(max(delay_ms, 0) / 1000, run)
        timer.daemon = True
        with self.lock:
            self.timers.append(timer)
        timer.start()

    # -- answers and webhooks -------------------------------------------------------------

    def transfer_json(self, transfer: dict[str, Any]) -> dict[str, Any]:
        """The v4 transfer object of ``transfer`` as it is now."""
        with self.lock:
            return wire.transfer_json(transfer, self.recipients.get(transfer["recipient_id"] or ""))

    def page(self, page: int, size: int) -> dict[str, Any]:
        """``GET /transfers``: newest first, ``meta.page_info``."""
        with self.lock:
            recipients = self.recipients
            listed = [(t, recipients.get(t["recipient_id"] or "")) for t in self.transfers.values()]
            return wire.page_json(listed[::-1], page, size)

    def send_webhook(
        self,
        reference: str,
        *,
        url: str | None = None,
        signature: str | None = None,
        unsigned: bool = False,
        raw: bytes | None = None,
    ) -> tuple[int, str]:
        """POST a signed delivery to ``url`` (or ``webhook_url``); record and return the
        receiver's status and body. Without any URL nothing is sent (status 0)."""
        target = url or self.webhook_url
        if not target:
            return 0, "no webhook url"
        if raw is None:
            with self.lock:
                raw = dumps(wire.webhook_json(self.by_reference(reference), new_id("wbk")))
        body = raw
        headers = {"Content-Type": "application/json"}
        if not unsigned:
            headers[SIGNATURE_HEADER] = signature or sign(body, self.webhook_secret)
        try:
            response = httpx.post(target, content=body, headers=headers, timeout=10)
            outcome = (response.status_code, response.text[:1000])
        except httpx.HTTPError as exc:
            outcome = (0, f"delivery failed: {type(exc).__name__}")
        with self.lock:
            self.deliveries.append(
                {"reference": reference, "url": target, "status": outcome[0], "at": now_iso()}
            )
        return outcome


def _check_amount(value: Decimal, currency: str) -> None:
    try:
        if to_minor(value, currency) <= 0:
            raise AmountError("the amount must be positive")
    except AmountError as exc:
        raise Refusal(400, "REQUEST_NOT_VALID", f"payment_instruction.amount: {exc}") from None


def _transfer_fields(body: dict[str, Any]) -> tuple[str, Decimal, str, str]:
    instruction = body.get("payment_instruction")
    amount = instruction.get("amount") if isinstance(instruction, dict) else None
    reference = body.get("reference")
    if not isinstance(instruction, dict) or not isinstance(amount, dict):
        raise Refusal(400, "REQUEST_NOT_VALID", "payment_instruction.amount must not be null")
    if not isinstance(reference, str) or not reference:
        raise Refusal(400, "REQUEST_NOT_VALID", "reference must not be null")
    currency, recipient_id = instruction.get("source_currency"), instruction.get("recipient_id")
    if currency not in EXPONENTS or not isinstance(recipient_id, str):
        raise Refusal(400, "REQUEST_NOT_VALID", "source_currency and recipient_id are required")
    value = amount.get("value")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Refusal(400, "REQUEST_NOT_VALID", "payment_instruction.amount.value must be a number")
    _check_amount(Decimal(value), currency)
    return reference, Decimal(value), currency, recipient_id


__all__ = ["FwState", "Refusal", "new_id", "now_iso"]
