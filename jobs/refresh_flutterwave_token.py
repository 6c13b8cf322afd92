"""``refresh_flutterwave_token``: keep the Flutterwave v4 OAuth2 token fresh.

Every minute at second 0. The token (600 s life) lives in the ``provider_tokens`` table, never
in the event log, shared by every process; it is fetched when less than
``FLUTTERWAVE_TOKEN_MARGIN`` (120 s) remains, single-flight across processes. When Flutterwave
is not configured the run reports ``disabled``, not an error. The token is never logged.
"""

from jobs.base import JobContext, JobCounts, kv, log
from ledger.errors import LedgerError

JOB = "refresh_flutterwave_token"


def refresh_flutterwave_token(ctx: JobContext) -> JobCounts:
    counts = JobCounts()
    manager = ctx.tokens
    if manager is None or not manager.enabled:
        counts.detail = "disabled"
        return counts
    try:
        outcome = manager.refresh_if_needed()  # token lifetimes are wall time, not --now
    except LedgerError as exc:
        counts.fail()
        log.error(kv(event="token_refresh_failed", job=JOB, error=exc))
        return counts
    value = str(getattr(outcome, "value", outcome))
    counts.detail = value
    if value == "refreshed":
        counts.succeed()
    else:
        counts.skip()
    return counts


__all__ = ["JOB", "refresh_flutterwave_token"]
