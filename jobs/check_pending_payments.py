"""``check_pending_payments``: verify payments the webhooks missed, then time out stale requests.

Hourly at minute 0. Two sweeps, each over the read tables in pages of ``batch_size``:

1. payments with status and escrow PENDING, not flagged, created at least
   ``LEDGER_PAYMENT_VERIFY_AFTER`` (24h) ago: ask the provider (at most ``concurrency`` calls in
   flight) and apply DESIGN.md's outcome table through ``Ledger.apply_verification``. A payment
   with no reference times out (``no_reference``). When the provider cannot be reached the
   payment stays PENDING for the next run, and only after ``LEDGER_PAYMENT_GIVE_UP_AFTER`` (72h)
   times out (``provider_unreachable``): an outage never declines a fan who paid.
2. requests still PENDING after ``LEDGER_REQUEST_TIMEOUT`` (48h): declined
   (``request_timed_out``), their pending payment timed out, or a failed transaction recorded
   when there was none. A request whose payment is flagged waits for the operator (skipped).

Counting: succeeded = a command changed something; skipped = nothing to do (still pending,
already done, flagged); failed = the item raised (logged; the others go on).
"""

from datetime import datetime
from functools import partial
from uuid import UUID

from jobs.base import JobContext, JobCounts, kv, log, run_item
from ledger.domain.transaction import TimeoutReason
from ledger.errors import ProviderError, ProviderUnavailable
from ledger.providers.port import Verification
from projections import queries

JOB = "check_pending_payments"


def _verify_page(ctx: JobContext, counts: JobCounts, page: list[queries.PendingPayment]) -> None:
    ledger = ctx.ledger
    for payment in page:
        if not payment.reference:
            run_item(
                counts,
                JOB,
                payment.id,
                "time_out",
                partial(ledger.time_out_payment, payment.id, TimeoutReason.NO_REFERENCE),
            )
    with_ref = [p for p in page if p.reference]
    if not with_ref:
        return
    answers = _verify_all(ctx, [p.reference for p in with_ref if p.reference])
    for payment in with_ref:
        if ctx.stop.is_set():
            return
        answer = answers[payment.reference or ""]
        if isinstance(answer, Verification):
            action = f"verify:{answer.outcome.value}"
            run_item(
                counts,
                JOB,
                payment.id,
                action,
                partial(ledger.apply_verification, payment.id, answer),
            )
        elif isinstance(answer, ProviderUnavailable):
            run_item(
                counts,
                JOB,
                payment.id,
                "provider_unreachable",
                partial(ledger.provider_unreachable, payment.id),
            )
        else:
            counts.fail()
            log.error(
                kv(event="item_failed", job=JOB, item=payment.id, action="verify", error=answer)
            )


def _verify_all(ctx: JobContext, references: list[str]) -> dict[str, Verification | ProviderError]:
    """Ask the provider about every reference, at most ``ctx.concurrency`` calls in flight."""
    provider = ctx.provider
    assert provider is not None
    many = getattr(provider, "verify_many", None)
    if many is not None:
        return dict(many(references, concurrency=ctx.concurrency))
    answers: dict[str, Verification | ProviderError] = {}
    for reference in references:
        try:
            answers[reference] = provider.verify(reference)
        except ProviderError as exc:
            answers[reference] = exc
    return answers


def _sweep_payments(ctx: JobContext, counts: JobCounts, cutoff: datetime) -> None:
    after: UUID | None = None
    while not ctx.stop.is_set():
        page = queries.list_pending_payments(
            ctx.db, older_than=cutoff, limit=ctx.batch_size, after_id=after
        )
        if not page:
            return
        _verify_page(ctx, counts, page)
        after = page[-1].id


def _sweep_requests(ctx: JobContext, counts: JobCounts, cutoff: datetime) -> None:
    after: UUID | None = None
    while not ctx.stop.is_set():
        page = queries.list_stale_requests(
            ctx.db, older_than=cutoff, limit=ctx.batch_size, after_id=after
        )
        if not page:
            return
        for request in page:
            if ctx.stop.is_set():
                return
            if request.needs_review:
                counts.skip()
                log.info(
                    kv(event="item_skipped", job=JOB, item=request.id, reason="payment flagged")
                )
                continue
            run_item(
                counts,
                JOB,
                request.id,
                "request_timeout",
                partial(ctx.ledger.time_out_request, request.id),
            )
        after = page[-1].id


def check_pending_payments(ctx: JobContext) -> JobCounts:
    counts = JobCounts()
    if ctx.provider is None:
        counts.error = "no payment provider (PAYSTACK_SECRET_KEY): payments not verified"
        log.error(kv(event="provider_missing", job=JOB))
    else:
        ctx.catch_up()
        _sweep_payments(ctx, counts, ctx.now - ctx.settings.payment_verify_after)
    ctx.catch_up()  # the verifications above changed requests
    _sweep_requests(ctx, counts, ctx.now - ctx.settings.request_timeout)
    return counts


__all__ = ["JOB", "check_pending_payments"]
