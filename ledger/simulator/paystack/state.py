"""Everything the Paystack simulator knows, behind one lock: scripts and faults, transactions,
refunds, the calls it served and the webhooks it sent.

Invariants: every read or write of a ``SimState`` field happens under ``lock`` (the server
serves each connection in its own thread, and the refund lifecycle runs in another); no lock is
held while a webhook is delivered or an answer is written. ``transactions`` is keyed by
reference; ``refunds`` by refund id, in creation order. Refund ids and transaction ids come from
separate counters, as at Paystack: a refund's ``data.id`` is never a transaction's id.
"""

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FIRST_TRANSACTION_ID = 4_099_260_000
FIRST_REFUND_ID = 3_018_283  # the first refund is 3018284, as in Paystack's example


@dataclass
class SimState:
    """The simulator's state; guarded by ``lock`` (module docstring)."""

    secret: str
    latency_ms: int = 0
    webhook_url: str | None = None
    refund_step_ms: int = 100
    scripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = FIRST_TRANSACTION_ID
    next_refund_id: int = FIRST_REFUND_ID
    lock: threading.RLock = field(default_factory=threading.RLock)

    def apply_script(self, script: Mapping[str, Any]) -> None:
        """Merge ``script`` (docs/simulator.md): a reference's keys are updated (its
        ``refund`` keys merged), faults appended to their queues."""
        with self.lock:
            for reference, outcome in dict(script.get("references", {})).items():
                entry = self.scripts.setdefault(reference, {})
                for key, value in outcome.items():
                    if key == "faults":
                        continue
                    if key == "refund" and isinstance(value, Mapping):
                        entry.setdefault("refund", {}).update(value)
                    else:
                        entry[key] = value
                entry.setdefault("faults", []).extend(outcome.get("faults", []))
            self.faults.extend(script.get("faults", []))
            if "latency_ms" in script:
                self.latency_ms = int(script["latency_ms"])
            if "refund_step_ms" in script:
                self.refund_step_ms = max(0, int(script["refund_step_ms"]))
            if "webhook_url" in script:
                url = script["webhook_url"]
                self.webhook_url = str(url) if url else None

    def reset(self) -> None:
        """Forget everything but the secret and the webhook URL."""
        with self.lock:
            self.scripts.clear()
            self.faults.clear()
            self.transactions.clear()
            self.refunds.clear()
            self.calls.clear()
            self.deliveries.clear()
            self.latency_ms = 0
            self.refund_step_ms = 100

    def take_fault(self, reference: str | None, *, call: str) -> dict[str, Any] | None:
        """The next fault for ``call`` (``verify``, ``refund``, ...) about ``reference``: the
        reference's own first, then the global ones. A fault with ``"on": "<call>"`` waits
        for that call (an ``answer`` fault waits for a verify); a ``repeat`` fault is never
        used up."""
        with self.lock:
            queues = [self.scripts.get(reference, {}).get("faults", []) if reference else []]
            queues.append(self.faults)
            for queue in queues:
                for index, fault in enumerate(queue):
                    wanted = fault.get("on", "verify" if "answer" in fault else None)
                    if wanted is not None and wanted != call:
                        continue
                    if not fault.get("repeat"):
                        queue.pop(index)
                    return dict(fault)
            return None

    def new_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id

    def new_refund_id(self) -> int:
        with self.lock:
            self.next_refund_id += 1
            return self.next_refund_id

    def script_of(self, reference: str) -> dict[str, Any]:
        """A copy of ``reference``'s script (without its fault queue)."""
        with self.lock:
            return {k: v for k, v in self.scripts.get(reference, {}).items() if k != "faults"}

    def snapshot(self) -> dict[str, Any]:
        """What ``GET /_sim/state`` shows: a copy, taken under the lock."""
        with self.lock:
            seen = {
                "transactions": self.transactions,
                "refunds": list(self.refunds.values()),
                "calls": self.calls,
                "scripts": self.scripts,
                "deliveries": self.deliveries,
                "webhook_url": self.webhook_url,
            }
            copied: dict[str, Any] = json.loads(json.dumps(seen))
            return copied


__all__ = ["FIRST_REFUND_ID", "FIRST_TRANSACTION_ID", "SimState"]
