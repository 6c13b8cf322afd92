"""The projector engine keeps the core read tables exactly once, on SQLite and PostgreSQL."""

from collections.abc import Callable
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.persistence import store_config
from projections.db import ReadDB
from projections.engine import ProjectionEngine, read_position
from projections.ledger_tables import LedgerTables

RUNBOOK_QUERY = (
    "SELECT * FROM wallet_transactions WHERE isInEscrow = true AND escrowStatus = 'PENDING'"
)


def _read_db(ledger: Ledger) -> ReadDB:
    s = ledger.settings
    return ReadDB(store_config(s.database_url, schema=s.postgres_schema))


def _history(ledger: Ledger) -> dict[str, Any]:
    ledger.register_user("fan-1", "fan")
    ledger.register_user("star-1", "celebrity", verified=True)
    ledger.create_wallet("star-1", "NGN")
    held = ledger.create_request("fan-1", "star-1", 500_000, "NGN")
    held_tx = ledger.record_payment(held.id, "ref-held")
    ledger.confirm_payment(held_tx.id, amount=500_000, currency="NGN")
    released = ledger.create_request("fan-1", "star-1", 200_000, "NGN")
    released_tx = ledger.record_payment(released.id, "ref-released")
    ledger.confirm_payment(released_tx.id, amount=200_000, currency="NGN")
    ledger.complete_request(released.id)
    ledger.release_escrow(released_tx.id)
    flagged = ledger.create_request("fan-1", "star-1", 1_000, "NGN")
    flagged_tx = ledger.record_payment(flagged.id, "ref-flagged")
    ledger.confirm_payment(flagged_tx.id, amount=900, currency="NGN")
    return {"held": held_tx.id, "released": released_tx.id, "flagged": flagged_tx.id}


def _balances(db: ReadDB) -> dict[str, int]:
    rows = db.fetchall(
        "SELECT account, CAST(SUM(credit) - SUM(debit) AS BIGINT) AS balance "
        "FROM ledger_entries WHERE currency = 'NGN' GROUP BY account"
    )
    return {row["account"]: int(row["balance"]) for row in rows}


def test_catch_up_projects_every_event_once_and_the_runbook_query_finds_held_money(
    ledger: Ledger,
) -> None:
    ids = _history(ledger)
    db = _read_db(ledger)
    engine = ProjectionEngine(ledger, db, [LedgerTables()], batch_size=4)
    applied = engine.catch_up()
    assert applied["ledger_tables"] == engine.head()
    assert engine.catch_up() == {"ledger_tables": 0}
    held = db.fetchall(RUNBOOK_QUERY)
    assert [row["id"] for row in held] == [str(ids["held"])]
    balances = _balances(db)
    assert balances["escrow"] == 500_000
    assert balances["suspense"] == 900
    assert sum(balances.values()) == 0
    wallet = db.fetchone("SELECT balance FROM wallets")
    assert wallet is not None
    assert wallet["balance"] == 200_000
    db.close()


def test_a_batch_that_fails_half_way_commits_nothing_and_the_next_run_resumes(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(ledger)
    db = _read_db(ledger)
    projector = LedgerTables()
    engine = ProjectionEngine(ledger, db, [projector], batch_size=5)
    original: Callable[..., None] = projector.apply
    calls = {"n": 0}

    def crash_on_seventh(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("crash inside the second batch")
        original(*args)

    monkeypatch.setattr(projector, "apply", crash_on_seventh)
    with pytest.raises(RuntimeError):
        engine.catch_up()
    assert read_position(db, "ledger_tables") == 5  # first batch committed, second not
    monkeypatch.setattr(projector, "apply", original)
    engine.catch_up()
    rows = db.fetchall("SELECT id, status, escrowStatus FROM wallet_transactions ORDER BY id")
    assert len(rows) == 3
    assert sum(_balances(db).values()) == 0
    count = db.fetchone("SELECT COUNT(*) AS n FROM ledger_entries")
    assert count is not None
    verified_lines, release_lines, flag_lines = 2 * 2, 2, 2  # no fee line at 0 bps
    assert int(count["n"]) == verified_lines + release_lines + flag_lines
    db.close()


def _snapshot(db: ReadDB) -> dict[str, list[dict[str, Any]]]:
    order = {"ledger_entries": "position, line"}
    return {
        table: db.fetchall(f"SELECT * FROM {table} ORDER BY {order.get(table, 'id')}")
        for table in ("users", "requests", "wallets", "wallet_transactions", "ledger_entries")
    }


def test_rebuild_replays_into_fresh_tables_and_repairs_a_manual_update(ledger: Ledger) -> None:
    ids = _history(ledger)
    db = _read_db(ledger)
    engine = ProjectionEngine(ledger, db, [LedgerTables()], batch_size=3)
    engine.catch_up()
    before = _snapshot(db)
    db.execute(
        "UPDATE wallet_transactions SET escrowStatus = 'RELEASED' WHERE id = %s",
        [str(ids["held"])],
    )
    assert _snapshot(db) != before
    replayed = engine.rebuild("ledger_tables")
    assert replayed == engine.head()
    assert _snapshot(db) == before
    assert read_position(db, "ledger_tables") == engine.head()
    # Indexes carry the live names again, so a second rebuild works the same way.
    assert engine.rebuild("ledger_tables") == engine.head()
    assert _snapshot(db) == before
    db.close()
