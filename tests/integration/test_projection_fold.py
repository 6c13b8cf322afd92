"""The read tables equal a straightforward fold of the events, over generated histories.

Hypothesis drives the ledger through random command sequences (refusals included); the
projector engine catches up in small batches; then every row of the read tables is compared
with a plain-Python fold of the event log written independently of the projector.
"""

import contextlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from uuid import UUID

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain import ids
from ledger.errors import LedgerError
from ledger.persistence import store_config
from projections.db import ReadDB
from projections.engine import ProjectionEngine
from projections.ledger_tables import LedgerTables

FANS = ["fan-a", "fan-b"]
STARS = ["star-a", "star-b"]

ACTIONS = [
    "record",
    "pay",
    "pay_short",
    "pay_usd",
    "fail",
    "timeout",
    "complete",
    "release",
    "refund",
    "resolve",
    "decline",
    "debit",
    "wallet",
]
# One plan per request: its price, its celebrity, then what happens to it, in order.
plan = st.tuples(
    st.integers(min_value=1, max_value=9_999),
    st.integers(min_value=0, max_value=1),
    st.lists(st.sampled_from(ACTIONS), max_size=7).map(lambda a: ["record", *a]),
)


def _run(ledger: Ledger, plans: list[tuple[int, int, list[str]]]) -> None:
    for fan, star in zip(FANS, STARS, strict=True):
        ledger.register_user(fan, "fan")
        ledger.register_user(star, "celebrity", verified=True)
    ledger.create_wallet(STARS[0], "NGN")  # STARS[1] has none until a "wallet" step

    for n, (price, star, actions) in enumerate(plans):
        request = ledger.create_request(FANS[n % 2], STARS[star], price * 100, "NGN").id
        txn = ids.transaction_id(request)

        def amount(request: UUID = request) -> int:
            return ledger.get_request(request).amount

        steps: dict[str, Callable[[], Any]] = {
            "record": lambda r=request: ledger.record_payment(r, f"ref-{r.hex[:16]}"),
            "pay": lambda t=txn, a=amount: ledger.confirm_payment(t, amount=a(), currency="NGN"),
            "pay_short": lambda t=txn: ledger.confirm_payment(t, amount=1, currency="NGN"),
            "pay_usd": lambda t=txn, a=amount: ledger.confirm_payment(
                t, amount=a(), currency="USD"
            ),
            "fail": lambda t=txn: ledger.fail_payment(t, reason="x", provider_status="failed"),
            "timeout": lambda r=request: ledger.time_out_request(r),
            "complete": lambda r=request: ledger.complete_request(r),
            "release": lambda t=txn: ledger.release_escrow(t),
            "refund": lambda t=txn: ledger.refund_escrow(t, reason="test"),
            "resolve": lambda t=txn: ledger.admin_resolve(t, operator="ops", reason="settled"),
            "decline": lambda r=request: ledger.decline_request(r),
            "debit": lambda s=star, p=price, k=n: ledger.debit_wallet(
                STARS[s], "NGN", p, f"payout-{k}-{p}"
            ),
            "wallet": lambda: ledger.create_wallet(STARS[1], "NGN"),
        }
        for action in actions:
            with contextlib.suppress(LedgerError):  # refusals must leave no trace
                steps[action]()


def _fold(ledger: Ledger) -> dict[str, Any]:
    """Read-table contents computed directly from the events (no SQL, no projector)."""
    users: dict[str, dict[str, Any]] = {}
    requests: dict[str, dict[str, Any]] = {}
    wallets: dict[str, dict[str, Any]] = {}
    txns: dict[str, dict[str, Any]] = {}
    accounts: dict[tuple[str, str], int] = defaultdict(int)

    def post(currency: str, debit: str, credit: str, amount: int) -> None:
        if amount:
            accounts[(debit, currency)] -= amount
            accounts[(credit, currency)] += amount

    position = 0
    while True:
        batch = ledger.recorder.select_notifications(start=position + 1, limit=500)
        if not batch:
            break
        position = batch[-1].id
        for notification in batch:
            e = ledger.mapper.to_domain_event(notification)
            kind, key = type(e).__name__, str(e.originator_id)
            if kind == "UserRegistered":
                users[key] = {"role": e.role, "verified": False}
            elif kind == "UserVerified":
                users[key]["verified"] = True
            elif kind == "RequestCreated":
                requests[key] = {
                    "status": "PENDING",
                    "amount": e.amount,
                    "star": str(e.celebrity_id),
                }
            elif kind in ("RequestPaid", "RequestCompleted", "RequestDeclined"):
                requests[key]["status"] = {
                    "RequestPaid": "IN_PROGRESS",
                    "RequestCompleted": "COMPLETED",
                    "RequestDeclined": "DECLINED",
                }[kind]
            elif kind == "WalletCreated":
                wallets[key] = {"balance": 0, "user": str(e.user_id), "currency": e.currency}
            elif kind == "WalletCredited":
                wallets[key]["balance"] += e.amount
            elif kind == "WalletDebited":
                wallets[key]["balance"] -= e.amount
                post(
                    wallets[key]["currency"],
                    f"wallet:{wallets[key]['user']}",
                    "external:payouts",
                    e.amount,
                )
            elif kind in ("PaymentInitiated", "FailedTransactionRecorded"):
                failed = kind == "FailedTransactionRecorded"
                txns[key] = {
                    "status": "FAILED" if failed else "PENDING",
                    "escrow": "CANCELLED" if failed else "PENDING",
                    "amount": e.amount,
                    "review": False,
                    "flagged": None,
                    "star": requests[str(e.request_id)]["star"],
                }
            elif kind == "PaymentVerified":
                txns[key]["status"] = "COMPLETED"
                post("NGN", "provider:paystack", "escrow", e.amount)
            elif kind in ("PaymentFailed", "PaymentTimedOut"):
                txns[key].update(status="FAILED", escrow="CANCELLED")
            elif kind == "PaymentFlagged":
                txns[key].update(review=True, flagged=(e.amount, e.currency))
                post(e.currency, "provider:paystack", "suspense", e.amount)
            elif kind == "EscrowReleased":
                txns[key]["escrow"] = "RELEASED"
                post("NGN", "escrow", f"wallet:{txns[key]['star']}", e.amount - e.fee)
                post("NGN", "escrow", "platform:fees", e.fee)
            elif kind == "EscrowRefunded":
                t = txns[key]
                if t["review"]:
                    post(t["flagged"][1], "suspense", "provider:paystack", e.amount)
                    t["review"] = False
                    if t["status"] == "PENDING":
                        t["status"] = "FAILED"
                else:
                    post("NGN", "escrow", "provider:paystack", e.amount)
                t["escrow"] = "REFUNDED"
            elif kind == "ReviewResolved":
                t = txns[key]
                if t["review"] and t["flagged"]:
                    post(t["flagged"][1], "suspense", "external:settled", t["flagged"][0])
                t["review"] = False
                if t["status"] == "PENDING":
                    t.update(status="FAILED", escrow="CANCELLED")
    return {
        "users": users,
        "requests": requests,
        "wallets": wallets,
        "txns": txns,
        "accounts": {k: v for k, v in accounts.items() if v},
        "position": position,
    }


def _tables(db: ReadDB) -> dict[str, Any]:
    def rows(sql: str) -> list[dict[str, Any]]:
        return [{k.lower(): v for k, v in r.items()} for r in db.fetchall(sql)]

    accounts = {
        (r["account"], r["currency"]): int(r["balance"])
        for r in rows(
            "SELECT account, currency, CAST(SUM(credit) - SUM(debit) AS BIGINT) AS balance "
            "FROM ledger_entries GROUP BY account, currency"
        )
    }
    return {
        "users": {
            r["id"]: {"role": r["role"], "verified": bool(r["verified"])}
            for r in rows("SELECT * FROM users")
        },
        "requests": {
            r["id"]: {"status": r["status"], "amount": r["amount"], "star": r["celebrityid"]}
            for r in rows("SELECT * FROM requests")
        },
        "wallets": {
            r["id"]: {"balance": r["balance"], "user": r["userid"], "currency": r["currency"]}
            for r in rows("SELECT * FROM wallets")
        },
        "txns": {
            r["id"]: {
                "status": r["status"],
                "escrow": r["escrowstatus"],
                "amount": r["amount"],
                "review": bool(r["needsreview"]),
                "flagged": (r["flaggedamount"], r["flaggedcurrency"])
                if r["flaggedamount"] is not None
                else None,
                "star": r["celebrityid"],
            }
            for r in rows("SELECT * FROM wallet_transactions")
        },
        "accounts": {k: v for k, v in accounts.items() if v},
    }


@settings(max_examples=15)
@given(plans=st.lists(plan, min_size=1, max_size=8))
def test_read_tables_equal_a_fold_of_the_events(ledger: Ledger, plans: list[Any]) -> None:
    _run(ledger, plans)
    s = ledger.settings
    db = ReadDB(store_config(s.database_url, schema=s.postgres_schema))
    try:
        engine = ProjectionEngine(ledger, db, [LedgerTables()], batch_size=3)
        engine.catch_up()
        folded = _fold(ledger)
        event(f"transactions: {min(len(folded['txns']), 5)}+")
        event(f"accounts touched: {min(len(folded['accounts']), 4)}+")
        assert engine.status()[0].position == folded.pop("position")
        assert _tables(db) == folded
        held = db.fetchone(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS held FROM wallet_transactions "
            "WHERE isInEscrow = true AND escrowStatus = 'PENDING'"
        )
        assert held is not None
        assert int(held["held"]) == folded["accounts"].get(("escrow", "NGN"), 0)
    finally:
        db.close()
