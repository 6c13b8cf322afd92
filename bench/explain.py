"""EXPLAIN the runbook query, every report, list, id-prefix lookup and job query on 1,000,000
payments.

What it does, against ONE PostgreSQL database, in a fresh schema (dropped at the end):

1. creates the read tables with the projector's own DDL and indexes
   (``LedgerTables().create_tables(db, LedgerTables().live_tables())`` in one transaction);
2. bulk-loads ``--rows`` synthetic ``wallet_transactions`` (default 1,000,000) with one
   request each, users (1 celebrity per 100 payments, 1 fan per 10, half the fans verified)
   and wallets (every verified user in NGN, except 1% not yet given one), with ``INSERT ...
   SELECT FROM generate_series`` (indexes dropped during the load, then rebuilt). Payments:
   2% held in escrow (half of them with the request COMPLETED, i.e. due for release), 0.5%
   flagged for review, 1% pending verification, 10% failed, 1.5% refunded, 85% released;
   80% NGN, 10% GHS, 10% ZAR/KES/USD; created evenly over a year;
3. ``VACUUM ANALYZE``;
4. for each query: the plan's top node, whether an index is used anywhere in the plan (Index
   Scan, Index Only Scan or Bitmap Index Scan), the server's execution time of each statement
   (EXPLAIN ANALYZE, one run), and the median time of ``--runs`` calls of the
   real function of ``projections.queries`` (rows converted to dataclasses included) after
   one warm-up call. The SQL explained is the SQL those functions send (captured), with their
   parameters, so what is measured is what runs.

The last line printed is one JSON object: query -> {uses_index, median_ms, rows, top}.
Exit status 1 if any query does not use an index.

Run: ``.venv/bin/python bench/explain.py [--database-url URL] [--rows 1000000] [--runs 9]``
"""

import argparse
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

# bench/projections.py is named like the package: keep this directory off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from ledger.domain import ids  # noqa: E402
from ledger.ids_lookup import IdKind  # noqa: E402
from ledger.persistence import store_config  # noqa: E402
from projections import lists, queries, schema  # noqa: E402
from projections.db import Params, ReadDB  # noqa: E402
from projections.id_index import lookup  # noqa: E402
from projections.ledger_tables import TABLES, LedgerTables  # noqa: E402
from projections.report_filter import ReportFilter  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
RUNBOOK = "SELECT * FROM wallet_transactions WHERE isInEscrow = true AND escrowStatus = 'PENDING'"
START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_S = 365 * 86400


class SpyDB(ReadDB):
    """A ReadDB that remembers the statements (and parameters) it was asked to fetch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, Params]] = []

    def fetchall(self, statement: str, params: Params = None) -> list[dict[str, Any]]:
        self.seen.append((statement, params))
        return super().fetchall(statement, params)


# -- data ------------------------------------------------------------------------------------

# The users' and wallets' ids are the product's own (uuid5 of the external id), computed in
# Python and COPYed into a scratch table the statements below join on, so filters such as
# ``celebrity="user-7"`` find that user's rows exactly as in production.
IDS = "CREATE TABLE bench_ids (i INTEGER PRIMARY KEY, uid TEXT NOT NULL, wid TEXT NOT NULL)"

USERS = """
INSERT INTO users (id, externalId, role, verified, createdAt, updatedAt)
SELECT uid, 'user-' || i,
       CASE WHEN i <= %(celebs)s THEN 'celebrity' ELSE 'fan' END,
       (i <= %(celebs)s OR i %% 2 = 0),
       %(start)s::timestamptz + make_interval(secs => i),
       %(start)s::timestamptz + make_interval(secs => i)
FROM bench_ids
"""

WALLETS = """
INSERT INTO wallets (id, userId, currency, balance, credited, debited, createdAt, updatedAt)
SELECT wid, uid, 'NGN', 0, 0, 0,
       %(start)s::timestamptz + make_interval(secs => i * 2),
       %(start)s::timestamptz + make_interval(secs => i * 2)
FROM bench_ids
WHERE (i <= %(celebs)s OR i %% 2 = 0) AND i %% 100 <> 0
"""

# b: a pseudo-random bucket 0..999 per payment (a hash, so independent of the celebrity and
# the currency, which are other functions of i); its range decides the payment's fate.
PAYMENTS_SOURCE = """
SELECT s.i,
       abs(hashint8(s.i) %% 1000) AS b,
       md5('t' || s.i)::uuid::text AS tid,
       md5('r' || s.i)::uuid::text AS rid,
       c.uid AS celeb, c.wid AS wallet, f.uid AS fan,
       100000 + ((s.i * 37) %% 900) * 1000 AS amount,
       CASE WHEN abs(hashint8(-s.i) %% 10) < 8 THEN 'NGN'
            WHEN abs(hashint8(-s.i) %% 10) = 8 THEN 'GHS'
            ELSE (ARRAY['ZAR', 'KES', 'USD'])[1 + abs(hashint8(s.i * 3) %% 3)] END AS currency,
       %(start)s::timestamptz + make_interval(secs => (s.i::float8 * %(step)s)) AS created
FROM generate_series(1, %(rows)s::bigint) AS s(i)
JOIN bench_ids c ON c.i = 1 + (s.i * 7919) %% %(celebs)s
JOIN bench_ids f ON f.i = %(celebs)s + 1 + (s.i * 104729) %% %(fans)s
"""

REQUESTS = f"""
INSERT INTO requests (id, fanId, celebrityId, amount, currency, status, declineReason,
                      createdAt, updatedAt)
SELECT rid, fan, celeb, amount, currency,
       CASE WHEN b < 10 THEN 'IN_PROGRESS' WHEN b < 20 THEN 'COMPLETED' WHEN b < 35 THEN 'PENDING'
            WHEN b < 150 THEN 'DECLINED' ELSE 'COMPLETED' END,
       CASE WHEN b >= 35 AND b < 135 THEN 'payment_failed'
            WHEN b >= 135 AND b < 150 THEN 'celebrity_declined' END,
       created, created + interval '1 hour'
FROM ({PAYMENTS_SOURCE}) AS p
"""

TRANSACTIONS = f"""
INSERT INTO wallet_transactions (id, walletId, requestId, amount, currency, reference, status,
    isInEscrow, escrowStatus, createdAt, updatedAt, fanId, celebrityId, needsReview, flagReason,
    flaggedAmount, flaggedCurrency, providerTransactionId, paidAt, failureReason, releasedAt,
    fee, payout, refundedAt, refundedAmount, refundReference, refundConfirmed, version)
SELECT tid, wallet, rid, amount, currency, 'ref-' || i,
       CASE WHEN b < 20 THEN 'COMPLETED' WHEN b < 35 THEN 'PENDING' WHEN b < 135 THEN 'FAILED'
            ELSE 'COMPLETED' END,
       b < 20,
       CASE WHEN b < 35 THEN 'PENDING' WHEN b < 135 THEN 'CANCELLED' WHEN b < 150 THEN 'REFUNDED'
            ELSE 'RELEASED' END,
       created, created + interval '1 hour', fan, celeb,
       b >= 20 AND b < 25,
       CASE WHEN b >= 20 AND b < 25 THEN 'amount_mismatch' END,
       CASE WHEN b >= 20 AND b < 25 THEN amount - 100 END,
       CASE WHEN b >= 20 AND b < 25 THEN currency END,
       CASE WHEN b < 25 OR b >= 135 THEN 'ps_' || i END,
       CASE WHEN b < 20 OR b >= 135 THEN created + interval '5 minutes' END,
       CASE WHEN b >= 35 AND b < 135 THEN 'abandoned' END,
       CASE WHEN b >= 150 THEN created + interval '3 days' END,
       CASE WHEN b >= 150 THEN amount * 250 / 10000 END,
       CASE WHEN b >= 150 THEN amount - amount * 250 / 10000 END,
       CASE WHEN b >= 135 AND b < 150 THEN created + interval '2 days' END,
       CASE WHEN b >= 135 AND b < 150 THEN amount END,
       CASE WHEN b >= 135 AND b < 150 THEN 'rf_' || i END,
       b >= 135 AND b < 150,
       CASE WHEN b < 35 THEN 1 ELSE 3 END
FROM ({PAYMENTS_SOURCE}) AS p
"""


def drop_indexes(db: ReadDB, table: str) -> None:
    for index in TABLES[table].indexes:
        db.execute(f"DROP INDEX IF EXISTS {table}_{index.name}")


def load(db: ReadDB, rows: int) -> dict[str, int]:
    celebs = max(10, rows // 100)
    fans = max(10, rows // 10)
    params = {
        "rows": rows,
        "celebs": celebs,
        "fans": fans,
        "users": celebs + fans,
        "start": START,
        "step": YEAR_S / rows,
    }
    for table in TABLES:
        drop_indexes(db, table)
    db.execute(IDS)
    with db.pg.cursor() as cur, cur.copy("COPY bench_ids (i, uid, wid) FROM STDIN") as copy:
        for i in range(1, celebs + fans + 1):
            uid = ids.user_id(f"user-{i}")
            copy.write_row((i, str(uid), str(ids.wallet_id(uid, "NGN"))))
    for statement in (USERS, WALLETS, REQUESTS, TRANSACTIONS):
        db.execute(statement, params)
    db.execute("DROP TABLE bench_ids")
    for name, table in TABLES.items():
        schema.create(db, name, table)  # recreates the indexes dropped above
    db.execute("VACUUM ANALYZE")
    counts = {}
    for table in ("users", "wallets", "requests", "wallet_transactions"):
        row = db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
        assert row is not None
        counts[table] = int(row["n"])
    return counts


# -- measuring -------------------------------------------------------------------------------

INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out.extend(_nodes(child))
    return out


def explain(db: ReadDB, statement: str, params: Params) -> dict[str, Any]:
    row = db.fetchone("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
    assert row is not None
    plan = row["QUERY PLAN"][0]["Plan"]
    execution_ms = round(float(row["QUERY PLAN"][0]["Execution Time"]), 3)
    nodes = _nodes(plan)
    uses = [
        f"{n['Node Type']} on {n.get('Index Name')}" for n in nodes if n["Node Type"] in INDEX_NODES
    ]
    seq = [n.get("Relation Name") for n in nodes if n["Node Type"] == "Seq Scan"]
    return {"top": plan["Node Type"], "indexes": uses, "seq_scans": seq, "ms": execution_ms}


def measure(db: SpyDB, name: str, call: Callable[[], Any], runs: int) -> dict[str, Any]:
    db.seen.clear()
    result = call()  # warm-up, and capture the statements
    statements = list(db.seen)
    plans = [explain(db, statement, params) for statement, params in statements]
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    uses_index = all(p["indexes"] for p in plans)
    figure = {
        "uses_index": uses_index,
        "median_ms": round(statistics.median(timings), 3),
        "rows": len(result) if isinstance(result, list) else None,
        "top": " | ".join(p["top"] for p in plans),
    }
    for i, plan in enumerate(plans):
        label = name if len(plans) == 1 else f"{name}[{i}]"
        print(
            f"{label:36} {plan['ms']:>9.1f} ms  top={plan['top']:<14} "
            f"index={'; '.join(plan['indexes']) or '-'}"
            + (
                f"  SEQ SCAN on {', '.join(map(str, plan['seq_scans']))}"
                if plan["seq_scans"]
                else ""
            )
        )
    print(f"{'':36} median {figure['median_ms']} ms over {runs} runs, rows={figure['rows']}")
    return figure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    schema_name = f"bench_explain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema_name)))
    db = SpyDB(store_config(args.database_url, schema=schema_name))
    try:
        with db.transaction():
            LedgerTables().create_tables(db, LedgerTables().live_tables())
        started = time.perf_counter()
        counts = load(db, args.rows)
        print(f"loaded {counts} in {time.perf_counter() - started:.1f} s (schema {schema_name})")
        now = START + timedelta(seconds=YEAR_S + 3600)
        middle = START + timedelta(seconds=YEAR_S // 2)
        celebrity = "user-7"
        cursor = queries.payments_report(db, ReportFilter(since=middle), limit=1)[0].cursor
        request_cursor = lists.requests_report(db, ReportFilter(since=middle), limit=1)[0].cursor
        fan = f"user-{max(10, args.rows // 100) + 5}"
        some = queries.payments_report(db, ReportFilter(since=middle), limit=1)[0]
        due_after = queries.list_pending_payments(db, older_than=now, limit=2000)[-1].id
        releasable_after = queries.list_releasable(db, limit=2000)[-1].id
        cases: dict[str, Callable[[], Any]] = {
            "runbook_escrow_query": lambda: db.fetchall(RUNBOOK),
            "escrow_report": lambda: queries.escrow_report(db, now=now),
            "escrow_report_ngn_completed": lambda: queries.escrow_report(
                db, ReportFilter(currency="NGN", status="COMPLETED"), now=now
            ),
            "escrow_report_celebrity": lambda: queries.escrow_report(
                db, ReportFilter(celebrity=celebrity), now=now
            ),
            "wallets_report": lambda: queries.wallets_report(db),
            "wallets_report_celebrity": lambda: queries.wallets_report(
                db, ReportFilter(celebrity=celebrity)
            ),
            "payments_report": lambda: queries.payments_report(db),
            "payments_report_next_page_mid_table": lambda: queries.payments_report(
                db, after=cursor
            ),
            "payments_report_ghs_window": lambda: queries.payments_report(
                db, ReportFilter(currency="GHS", since=middle, until=middle + timedelta(days=7))
            ),
            "payments_report_failed": lambda: queries.payments_report(
                db, ReportFilter(status="FAILED")
            ),
            "payments_report_celebrity": lambda: queries.payments_report(
                db, ReportFilter(celebrity=celebrity)
            ),
            "payments_report_oldest_first": lambda: queries.payments_report(db, oldest_first=True),
            "payments_list_reference": lambda: queries.payments_report(
                db, ReportFilter(reference=str(some.reference)), limit=51
            ),
            "payments_list_fan": lambda: queries.payments_report(
                db, ReportFilter(fan=fan), limit=51
            ),
            "payments_list_old_pending": lambda: queries.payments_report(
                db, ReportFilter(until=now - timedelta(hours=24), escrow_status="PENDING"), limit=51
            ),
            "payments_list_flagged": lambda: queries.payments_report(
                db, ReportFilter(flagged=True), limit=51
            ),
            "requests_list": lambda: lists.requests_report(db, limit=51),
            "requests_list_next_page_mid_table": lambda: lists.requests_report(
                db, limit=51, after=request_cursor
            ),
            "requests_list_fan": lambda: lists.requests_report(db, ReportFilter(fan=fan), limit=51),
            "requests_list_celebrity_pending": lambda: lists.requests_report(
                db, ReportFilter(celebrity=celebrity, status="PENDING"), limit=51
            ),
            "id_prefix_payment": lambda: lookup(db, IdKind.PAYMENT, str(some.id)[:8], 6),
            "id_prefix_request": lambda: lookup(db, IdKind.REQUEST, str(some.request_id)[:8], 6),
            "review_report": lambda: queries.review_report(db),
            "summary": lambda: queries.summary(db, now=now),
            "summary_ngn_last_30_days": lambda: queries.summary(
                db, ReportFilter(currency="NGN", since=now - timedelta(days=30)), now=now
            ),
            "list_pending_payments": lambda: queries.list_pending_payments(
                db, older_than=now - timedelta(hours=24)
            ),
            "list_pending_payments_page_after_2000": lambda: queries.list_pending_payments(
                db, older_than=now, after_id=due_after
            ),
            "list_stale_requests": lambda: queries.list_stale_requests(
                db, older_than=now - timedelta(hours=48)
            ),
            "list_releasable": lambda: queries.list_releasable(db),
            "list_releasable_page_after_2000": lambda: queries.list_releasable(
                db, after_id=releasable_after
            ),
            "list_users_without_wallet": lambda: queries.list_users_without_wallet(
                db, currency="NGN"
            ),
        }
        figures = {name: measure(db, name, call, args.runs) for name, call in cases.items()}
        all_indexed = all(f["uses_index"] for f in figures.values())
        print(json.dumps({"rows": counts, "all_use_index": all_indexed, "queries": figures}))
        return 0 if all_indexed else 1
    finally:
        db.close()
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name))
            )


if __name__ == "__main__":
    sys.exit(main())
