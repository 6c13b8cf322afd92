"""``create_wallets``: open a wallet for every verified user who has none.

Daily at 10:00 (``LEDGER_TIMEZONE``), in each currency of ``LEDGER_WALLET_CURRENCIES``
(default NGN). Wallet ids are deterministic, so two runners creating the same wallet collide on
version 1 and the second reports "already exists": a repeat changes nothing.
"""

from functools import partial

from jobs.base import JobContext, JobCounts, run_item
from jobs.paging import work_list
from projections import queries

JOB = "create_wallets"


def create_wallets(ctx: JobContext) -> JobCounts:
    counts = JobCounts()
    ctx.catch_up()
    for currency in ctx.settings.wallet_currencies:
        without = partial(queries.list_users_without_wallet, ctx.db, currency=currency)
        for user in work_list(ctx, without):
            run_item(
                counts,
                JOB,
                user.id,
                f"create_wallet:{currency}",
                partial(ctx.ledger.create_wallet, user.external_id, currency),
            )
    return counts


__all__ = ["JOB", "create_wallets"]
