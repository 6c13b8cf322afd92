"""``check_pending_payments``: verify payments the webhooks missed, then time out stale requests.

Hourly at minute 0. Two sweeps, each over the read tables in pages of ``batch_size``:

1. payments with status and escrow PENDING, not flagged, created at least
   ``LEDGER_PAYMENT_VERIFY_AFTER`` (24h) ago: ask the provider (at most ``concurrency`` calls in
   flight, each answer applied as it arrives) and apply docs/design.md's outcome table through
   ``Ledger.apply_verification``. A payment with no reference times out (``no_reference``).
   When the provider cannot be reached the payment stays PENDING for the next run, and only
   after ``LEDGER_PAYMENT_GIVE_UP_AFTER`` (72h) times out (``provider_unreachable``): an
   outage never declines a fan who paid.
2. requests still PENDING after ``LEDGER_REQUEST_TIMEOUT`` (48h): declined
   (``request_timed_out``), their pending payment timed out, or a failed transaction recorded
   when there was none. A request whose payment is flagged waits for the operator (skipped).
   When the provider could not be asked in this run (unreachable for some payment, or not
   configured), a request with a payment still PENDING is skipped too: during an outage the
   fan may have paid, and the payment sweep decides it once the provider answers, or times it
   out (``provider_unreachable``) at the give-up deadline.

Counting: succeeded = a command changed something; skipped = nothing to do (still pending,
already done, flagged); failed = the item raised (logged; the others go on). Attention (the
run ends ``degraded``): ``provider_unreachable`` per payment Paystack could not be asked,
``provider_misconfigured`` / ``provider_answer_invalid`` per refusal of those classes;
``provider_missing`` when no provider is configured (the run fails).
"""

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from functools import partial

from jobs.base import JobContext, JobCounts, kv, log, run_item
from jobs.paging import work_list
from ledger.domain.transaction import TimeoutReason
from ledger.errors import (
    ProviderAnswerInvalid,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
)
from ledger.providers.port import PaymentProvider, Verification
from projections import queries

JOB = "check_pending_payments"
# What a provider's refusal means for the operator (the run's attention reasons).
_ATTENTION: dict[type, str] = {
    ProviderMisconfigured: "provider_misconfigured",
    ProviderAnswerInvalid: "provider_answer_invalid",
}


def _ask(provider: PaymentProvider, reference: str) -> Verification | ProviderError:
    try:
        return provider.verify(reference)
    except ProviderError as exc:
        return exc


def _apply(
    ctx: JobContext, counts: JobCounts, payment: queries.PendingPayment, answer: object
) -> None:
    ledger = ctx.ledger
    if isinstance(answer, Verification):
        action = f"verify:{answer.outcome.value}"
        run_item(
            counts, JOB, payment.id, action, partial(ledger.apply_verification, payment.id, answer)
        )
    elif isinstance(answer, ProviderUnavailable):
        counts.attend("provider_unreachable")
        run_item(
            counts,
            JOB,
            payment.id,
            "provider_unreachable",
            partial(ledger.provider_unreachable, payment.id),
        )
    else:
        counts.fail()
        counts.attend(_ATTENTION.get(type(answer), "provider_error"))
        log.error(kv(event="item_failed", job=JOB, item=payment.id, action="verify", error=answer))


def _sweep_payments(ctx: JobContext, counts: JobCounts, cutoff: datetime) -> bool:
    """Verify every due payment, applying each answer as it arrives.

    The provider is asked from ``ctx.concurrency`` worker threads while this thread applies
    the answers already in (one writer), so the sweep takes about as long as the provider
    calls alone rather than calls plus writes. At most ``window`` payments are in flight,
    so memory does not grow with the backlog. On stop, calls not yet started are cancelled
    and answers not yet applied are dropped (asking is read-only: the next run asks again).
    Returns whether the provider was unreachable for any payment (an outage)."""
    provider = ctx.provider
    assert provider is not None
    window = max(ctx.concurrency * 4, 16)
    pool = ThreadPoolExecutor(max_workers=ctx.concurrency, thread_name_prefix="verify")
    in_flight: dict[Future[Verification | ProviderError], queries.PendingPayment] = {}
    outage = False

    def apply_done(block: bool) -> None:
        nonlocal outage
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED, timeout=None if block else 0)
        for future in done:
            payment = in_flight.pop(future)
            answer = future.result()
            outage = outage or isinstance(answer, ProviderUnavailable)
            if not ctx.stop.is_set():
                _apply(ctx, counts, payment, answer)

    try:
        due = partial(queries.list_pending_payments, ctx.db, older_than=cutoff)
        for payment in work_list(ctx, due):
            if not payment.reference:
                run_item(
                    counts,
                    JOB,
                    payment.id,
                    "time_out",
                    partial(ctx.ledger.time_out_payment, payment.id, TimeoutReason.NO_REFERENCE),
                )
                continue
            in_flight[pool.submit(_ask, provider, payment.reference)] = payment
            apply_done(block=len(in_flight) >= window)
        while in_flight and not ctx.stop.is_set():
            apply_done(block=True)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return outage


def _sweep_requests(ctx: JobContext, counts: JobCounts, cutoff: datetime, *, outage: bool) -> None:
    stale = partial(queries.list_stale_requests, ctx.db, older_than=cutoff)
    for request in work_list(ctx, stale):
        if request.needs_review:
            counts.skip()
            log.info(kv(event="item_skipped", job=JOB, item=request.id, reason="payment flagged"))
            continue
        if outage and request.transaction_status == "PENDING":
            counts.skip()
            log.warning(
                kv(
                    event="request_timeout_deferred",
                    job=JOB,
                    item=request.id,
                    reason="provider unreachable: its payment may have succeeded",
                )
            )
            continue
        run_item(
            counts,
            JOB,
            request.id,
            "request_timeout",
            partial(ctx.ledger.time_out_request, request.id),
        )


def check_pending_payments(ctx: JobContext) -> JobCounts:
    counts = JobCounts()
    if ctx.provider is None:
        counts.error = "no payment provider (PAYSTACK_SECRET_KEY): payments not verified"
        counts.attend("provider_missing")
        log.error(kv(event="provider_missing", job=JOB))
        outage = True
    else:
        ctx.catch_up()
        outage = _sweep_payments(ctx, counts, ctx.now - ctx.settings.payment_verify_after)
    ctx.catch_up()  # the verifications above changed requests
    _sweep_requests(ctx, counts, ctx.now - ctx.settings.request_timeout, outage=outage)
    return counts


__all__ = ["JOB", "check_pending_payments"]
