"""``release_escrow_payments``: release held money of COMPLETED requests to celebrities' wallets.

Every two hours at minute 0 (even hours). For each held, unflagged payment whose request is
COMPLETED (from the read tables, in pages): ``EscrowReleased`` and ``WalletCredited`` in one
save, with the run id as release metadata. A celebrity without a wallet in that currency is
left pending, logged as an error (``event=release_deferred``) and retried next run (the daily
``create_wallets`` job opens verified users' wallets). Counted as skipped, not failed (the
payment is safe in escrow), and as attention ``release_deferred``: the run ends ``degraded``,
since money that cannot be paid out needs someone to see why.
"""

from functools import partial

from jobs.base import JobContext, JobCounts, kv, log, run_item
from jobs.paging import work_list
from ledger.domain.transaction import ReleaseTrigger
from ledger.errors import NotFound
from projections import queries

JOB = "release_escrow_payments"


def _release(ctx: JobContext, counts: JobCounts, payment: queries.Releasable) -> None:
    try:
        ctx.ledger.wallet_id_if_open(payment.celebrity_id, payment.currency)
    except NotFound as exc:
        counts.skip()
        counts.attend("release_deferred")
        log.error(kv(event="release_deferred", job=JOB, item=payment.id, reason=exc))
        return
    run_item(
        counts,
        JOB,
        payment.id,
        "release",
        partial(
            ctx.ledger.release_escrow, payment.id, trigger=ReleaseTrigger.JOB, run_id=ctx.run_id
        ),
    )


def release_escrow_payments(ctx: JobContext) -> JobCounts:
    counts = JobCounts()
    ctx.catch_up()
    for payment in work_list(ctx, partial(queries.list_releasable, ctx.db)):
        _release(ctx, counts, payment)
    return counts


__all__ = ["JOB", "release_escrow_payments"]
