"""Each refund's life at the simulated Paystack, in one background thread: ``pending`` ->
``processing`` -> ``processed`` (or ``failed``, or ``needs-attention``), each step announced by
its signed ``refund.<status>`` webhook to the configured webhook URL.

A refund's plan comes from its payment's script (``"refund": {...}``, docs/simulator.md):
``outcome`` (``processed``, ``failed`` or ``needs-attention``), ``delay`` (seconds between
steps; default ``refund_step_ms``), ``hold`` (``true`` or ``"pending"``: stop after
``refund.pending``; ``"processing"``: stop after ``refund.processing``) until
``POST /_sim/refunds/advance`` moves it on, optionally ``to`` a given status. A refund that
needs attention waits there too; advanced, it goes through ``processing`` to ``processed``.

Invariants: one thread moves refunds and delivers their events, in order, so a refund's events
arrive in the order of its statuses; a step is decided under ``state.lock`` and delivered
without it; a refund in a final status (``processed``, ``failed``) never moves again.
"""

import heapq
import itertools
import logging
import threading
import time
from typing import Any

from ledger.simulator.paystack.refund_records import OUTCOMES, move
from ledger.simulator.paystack.state import SimState
from ledger.simulator.paystack.webhooks import refund_event, send_event

log = logging.getLogger("ledger.simulator")
FINAL = ("processed", "failed")


class Lifecycle:
    """The scheduler of refund steps (module docstring)."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self._queue: list[tuple[float, int, int, str | None]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-refunds", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def clear(self) -> None:
        """Forget every scheduled step (``POST /_sim/reset``)."""
        with self._wake:
            self._queue.clear()

    def begin(self, refund_id: int) -> None:
        """A refund was just created: announce ``refund.pending`` now, then move it on."""
        self._schedule(refund_id, 0.0, "announce")

    def advance(self, refund_id: int, to: str | None = None) -> bool:
        """Release a held refund (or one that needs attention), towards ``to`` when given;
        False when it is already final."""
        with self.state.lock:
            refund = self.state.refunds[refund_id]
            if refund["status"] in FINAL:
                return False
            if to == refund["status"]:
                return True
            plan = refund["plan"]
            plan["hold"] = "processing" if to == "processing" else False
            if to in OUTCOMES:
                plan["outcome"] = to
            elif refund["status"] == "needs-attention" or plan.get("outcome") not in OUTCOMES:
                plan["outcome"] = "processed"
        self._schedule(refund_id, 0.0, None)
        return True

    def _schedule(self, refund_id: int, delay: float, action: str | None) -> None:
        with self._wake:
            due = time.monotonic() + delay
            heapq.heappush(self._queue, (due, next(self._order), refund_id, action))
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(timeout)
                if self._stopping:
                    return
                _, _, refund_id, action = heapq.heappop(self._queue)
            try:
                self._step(refund_id, action)
            except Exception:  # a step must never kill the thread that moves every refund
                log.exception("simulator refund %s step failed", refund_id)

    def _step(self, refund_id: int, action: str | None) -> None:
        with self.state.lock:
            refund = self.state.refunds.get(refund_id)
            if refund is None:
                return
            if action != "announce":
                status = _next(refund)
                if status is None:
                    return
                move(self.state, refund, status)
            body = refund_event(self.state, refund)
            again = _waits(refund)
            delay = _delay(self.state, refund)
        send_event(self.state, body, refund_id)
        if again:
            self._schedule(refund_id, delay, None)


def _next(refund: dict[str, Any]) -> str | None:
    """The status that follows the refund's current one under its plan."""
    status = refund["status"]
    if status in ("pending", "needs-attention"):
        return "processing"
    if status == "processing":
        outcome = refund["plan"].get("outcome", "processed")
        return outcome if outcome in OUTCOMES else "processed"
    return None


def _waits(refund: dict[str, Any]) -> bool:
    """Whether the refund moves on by itself from where it is."""
    status, hold = refund["status"], refund["plan"].get("hold", False)
    if status in FINAL or status == "needs-attention":
        return False
    if status == "pending" and hold in (True, "pending"):
        return False
    return not (status == "processing" and hold == "processing")


def _delay(state: SimState, refund: dict[str, Any]) -> float:
    delay = refund["plan"].get("delay")
    return float(delay) if delay is not None else state.refund_step_ms / 1000


__all__ = ["Lifecycle"]
