"""What every job shares: its context, its counters, its summary line and its ``job_runs`` row.

A job is a plain function ``job(ctx) -> JobCounts``: it reads the read tables to find work (in
batches, with keyset pagination, so memory does not grow with the backlog), issues commands
against the ledger (which re-check every aggregate: a stale read table costs a no-op, never a
wrong transition), isolates each item's failure, and stops between items when ``ctx.stop`` is
set. The runner (``jobs.runner``) wraps it: lock, catch-up, timing, summary line, ``job_runs``.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.application import Ledger, Result
from ledger.config import Settings
from ledger.errors import DomainError, LedgerError, NotFound, PaymentBusy
from ledger.outage import is_connection_error
from ledger.providers.port import PaymentProvider
from projections.db import ReadDB
from projections.engine import ProjectionEngine

log = logging.getLogger("ledger.jobs")


@dataclass
class JobCounts:
    """Items a run looked at and what became of them. ``detail`` is a short note (e.g.
    ``disabled``) for the summary line and the ``job_runs`` row; ``error`` marks the whole run
    failed (e.g. a missing setting) even when no single item failed.

    ``attention`` counts, by reason, what a person must look at although the run finished
    (``provider_unreachable``, ``provider_misconfigured``, ``release_deferred``, ...): any
    makes the run ``degraded`` (the runner adds ``items_failed`` for failed items itself).
    A job reports them with ``attend(reason)``; reasons are short snake_case words, the
    label of ``ledger_job_attention_total``."""

    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    detail: str | None = None
    error: str | None = None
    attention: dict[str, int] = field(default_factory=dict)

    def attend(self, reason: str, count: int = 1) -> None:
        """``count`` more items need a person, for ``reason``."""
        self.attention[reason] = self.attention.get(reason, 0) + count

    def attention_text(self) -> str | None:
        """``reason:count`` pairs, comma-separated (None when nothing needs a person)."""
        if not self.attention:
            return None
        return ",".join(f"{reason}:{n}" for reason, n in sorted(self.attention.items()))

    def succeed(self) -> None:
        self.processed += 1
        self.succeeded += 1

    def fail(self) -> None:
        self.processed += 1
        self.failed += 1

    def skip(self) -> None:
        self.processed += 1
        self.skipped += 1


@dataclass
class JobContext:
    """Everything a job may use. ``now`` is the business time of this run."""

    ledger: Ledger
    db: ReadDB
    engine: ProjectionEngine
    settings: Settings
    now: datetime
    run_id: str
    provider: PaymentProvider | None = None
    tokens: Any = None  # FlutterwaveTokenManager, when configured
    stop: threading.Event = field(default_factory=threading.Event)
    batch_size: int = 500
    concurrency: int = 8

    def catch_up(self) -> None:
        """Bring the read tables up to the head of the log before reading them."""
        self.engine.catch_up()


def run_item(
    counts: JobCounts, job: str, item: object, action: str, run: Callable[[], Result]
) -> None:
    """Run one item's command, count and log its outcome. One item's failure never stops
    the others: our own errors are caught here (anything else is a bug and propagates, and
    so does a lost database connection: every item after it would fail the same way)."""
    try:
        result = run()
    except (DomainError, NotFound, PaymentBusy) as exc:
        # The read table was behind (the aggregate says there is nothing more to do), or
        # another command holds the payment (a refund in flight): the next run sees to it.
        counts.skip()
        log.info(kv(event="item_skipped", job=job, item=item, action=action, reason=exc))
        return
    except LedgerError as exc:
        if is_connection_error(exc):
            raise  # the database went away: the runner retries the run from its start
        counts.fail()
        log.error(kv(event="item_failed", job=job, item=item, action=action, error=exc))
        return
    if result.changed:
        counts.succeed()
        log.info(kv(event="item_done", job=job, item=item, action=action, result=result.message))
    else:
        counts.skip()


def kv(**fields: object) -> str:
    """``key=value`` pairs for a structured log line (values with spaces are quoted)."""
    parts = []
    for key, value in fields.items():
        text = "-" if value is None else str(value)
        if any(c.isspace() for c in text) or not text:
            text = '"' + text.replace('"', "'") + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


__all__ = ["JobContext", "JobCounts", "kv", "log", "run_item"]
