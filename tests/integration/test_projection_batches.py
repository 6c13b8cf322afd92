"""Big batches, one-event batches and plain ``apply`` give the same read tables.

``LedgerTables`` folds a batch into a unit of work and writes it in bulk (on PostgreSQL: COPY
for new rows, one COPY into a temporary table plus one UPDATE for changed rows from 50 rows
up), while the engine writes batch N behind its fold of batch N+1. These tests drive enough
requests through their lives, in phases caught up separately, that every bulk path runs, and
compare every column of every table with a replay one event per batch and with ``apply``
called event by event outside any batch (the per-event path ``audit verify`` uses). The last
one moves the tracking position from another engine while a batch is in flight.
"""

from typing import Any

from ledger.application import Ledger
from ledger.persistence import store_config
from projections import schema
from projections.db import ReadDB
from projections.engine import ProjectionEngine, read_position
from projections.ledger_tables import LedgerTables

REQUESTS = 70  # > 50: each phase updates that many rows of a table in one batch
STARS = ["star-a", "star-b", "star-c"]
ORDER = {"ledger_entries": "position, line"}


def _db(ledger: Ledger) -> ReadDB:
    s = ledger.settings
    return ReadDB(store_config(s.database_url, schema=s.postgres_schema))


def _snapshot(db: ReadDB, tables: dict[str, str] | None = None) -> dict[str, Any]:
    tables = tables or {t: t for t in LedgerTables.tables}
    return {
        logical: [
            {k.lower(): v for k, v in row.items()}
            for row in db.fetchall(f"SELECT * FROM {physical} ORDER BY {ORDER.get(logical, 'id')}")
        ]
        for logical, physical in tables.items()
    }


def _phases(ledger: Ledger) -> list[Any]:
    """Three phases of a mixed history, each a callable that writes its events."""
    txns: list[Any] = []
    requests: list[Any] = []

    def start() -> None:
        ledger.register_user("fan-1", "fan")
        ledger.register_user("fan-2", "fan", verified=True)
        for star in STARS:
            ledger.register_user(star, "celebrity", verified=True)
            ledger.create_wallet(star, "NGN")
        for n in range(REQUESTS):
            fan = "fan-1" if n % 2 else "fan-2"
            request = ledger.create_request(fan, STARS[n % 3], 10_000 + n, "NGN").id
            requests.append(request)
            if n % 11 == 10:
                continue  # no payment: timed out below
            txns.append((n, request, ledger.record_payment(request, f"ref-{n}").id))

    def pay() -> None:
        for n, _, txn in txns:
            if n % 9 == 4:
                ledger.fail_payment(txn, reason="declined", provider_status="failed")
            elif n % 13 == 6:
                ledger.confirm_payment(txn, amount=1, currency="NGN")  # flagged
            else:
                ledger.confirm_payment(txn, amount=10_000 + n, currency="NGN")
        for n, request in enumerate(requests):
            if n % 11 == 10:
                ledger.time_out_request(request)

    def settle() -> None:
        for n, request, txn in txns:
            if n % 9 == 4:
                if n % 2:
                    ledger.confirm_payment(txn, amount=10_000 + n, currency="NGN")  # late
                continue
            if n % 13 == 6:
                if n % 2:
                    ledger.refund_escrow(txn, reason="mismatch")
                else:
                    ledger.admin_resolve(txn, operator="ops", reason="settled")
                continue
            if n % 5 == 3:
                ledger.decline_request(request)  # refunds the held payment
                continue
            if n % 7 != 2:
                ledger.complete_request(request)
                ledger.release_escrow(txn)
        ledger.debit_wallet(STARS[0], "NGN", 5_000, "payout-1")

    return [start, pay, settle]


def test_bulk_batches_equal_one_event_batches_and_plain_apply(ledger: Ledger) -> None:
    db = _db(ledger)
    try:
        engine = ProjectionEngine(ledger, db, [LedgerTables()], batch_size=2000)
        for phase in _phases(ledger):
            phase()
            engine.catch_up()  # one batch per phase: the rows it changes exist already
        bulk = _snapshot(db)
        assert len(bulk["wallet_transactions"]) == REQUESTS
        assert read_position(db, "ledger_tables") == engine.head()

        single = ProjectionEngine(ledger, db, [LedgerTables()], batch_size=1)
        assert single.rebuild("ledger_tables") == engine.head()
        assert _snapshot(db) == bulk

        projector = LedgerTables()
        scratch = {logical: f"{logical}__plain" for logical in projector.tables}
        with db.transaction():
            for physical in scratch.values():
                schema.drop(db, physical)
            projector.create_tables(db, scratch)
        position = 0
        while batch := ledger.recorder.select_notifications(start=position + 1, limit=500):
            with db.transaction():
                for notification in batch:
                    event = ledger.mapper.to_domain_event(notification)
                    projector.apply(event, db, scratch, notification)
            position = batch[-1].id
        assert _snapshot(db, scratch) == bulk
    finally:
        db.close()


def test_a_position_moved_by_another_engine_mid_flight_is_not_applied_twice(
    ledger: Ledger,
) -> None:
    for phase in _phases(ledger):
        phase()
    db, other_db = _db(ledger), _db(ledger)
    try:
        engine = ProjectionEngine(ledger, db, [LedgerTables()], batch_size=40)
        other = ProjectionEngine(ledger, other_db, [LedgerTables()], batch_size=25)
        commit = engine._commit
        calls = {"n": 0}

        def commit_then_let_the_other_run(*args: Any) -> None:
            commit(*args)
            calls["n"] += 1
            if calls["n"] == 2:  # batch 3 is folded or being folded against batch 2
                other.catch_up_one(other.projectors["ledger_tables"], stop=engine.head() - 30)

        engine._commit = commit_then_let_the_other_run  # type: ignore[method-assign]
        assert engine.catch_up()["ledger_tables"] < engine.head()  # the other did a share
        assert read_position(db, "ledger_tables") == engine.head()
        caught_up = _snapshot(db)
        assert other.rebuild("ledger_tables") == engine.head()
        assert _snapshot(db) == caught_up
    finally:
        db.close()
        other_db.close()
