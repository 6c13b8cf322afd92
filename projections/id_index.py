"""The read tables' side of id prefixes: ``prefix_matches``, the ``ledger.id_index`` entry
point that ``ledger.ids_lookup.IdResolver`` asks when someone types ``8ce098db``.

Each call catches ``ledger_tables`` up with the event log (so a request created a moment ago
is found), then reads each asked table's primary key over the range ``[prefix, prefix || 'g')``:
every canonical id (hex digits and hyphens) that starts with the prefix sorts inside it, in
byte order as in the collations PostgreSQL and SQLite use for these ASCII ids, so the lookup
is an index range scan on the primary key, not a ``LIKE`` over the table. The caller keeps only
exact prefixes. It opens its own connection per call (the HTTP API calls it from several
threads) and closes it before returning.
"""

from collections.abc import Sequence
from typing import Final
from uuid import UUID

from ledger.application import Ledger
from ledger.ids_lookup import IdKind, Match
from ledger.persistence import store_config
from projections.db import ReadDB
from projections.engine import ProjectionEngine
from projections.ledger_tables import LedgerTables

# kind -> (table, SQL for the words that tell people which one it is)
_LOOKUPS: Final = {
    IdKind.REQUEST: (
        "requests",
        "SELECT r.id AS id, f.externalId AS a, c.externalId AS b, r.status AS c "
        "FROM requests r LEFT JOIN users f ON f.id = r.fanId "
        "LEFT JOIN users c ON c.id = r.celebrityId",
        "r.id",
    ),
    IdKind.PAYMENT: (
        "wallet_transactions",
        "SELECT t.id AS id, t.reference AS a, t.status AS b, t.escrowStatus AS c "
        "FROM wallet_transactions t",
        "t.id",
    ),
    IdKind.WALLET: (
        "wallets",
        "SELECT w.id AS id, u.externalId AS a, w.currency AS b, NULL AS c "
        "FROM wallets w LEFT JOIN users u ON u.id = w.userId",
        "w.id",
    ),
    IdKind.USER: (
        "users",
        "SELECT u.id AS id, u.externalId AS a, u.role AS b, NULL AS c FROM users u",
        "u.id",
    ),
}


def _label(kind: IdKind, row: dict[str, object]) -> str:
    a, b, c = row["a"], row["b"], row["c"]
    if kind is IdKind.REQUEST:
        return f"request {row['id']} ({a} to {b}, {c})"
    if kind is IdKind.PAYMENT:
        return f"payment {row['id']} (reference {a or '-'}, {b}/{c})"
    if kind is IdKind.WALLET:
        return f"wallet {row['id']} ({a} {b})"
    return f"user {a} ({row['id']})"


def lookup(db: ReadDB, kind: IdKind, prefix: str, limit: int) -> list[Match]:
    """Up to ``limit`` rows of ``kind``'s table whose id starts with ``prefix`` (an index
    range scan of the primary key; bench/explain.py checks the plan)."""
    _table, select, key = _LOOKUPS[kind]
    rows = db.fetchall(
        f"{select} WHERE {key} >= %(low)s AND {key} < %(high)s ORDER BY {key} LIMIT %(limit)s",
        {"low": prefix, "high": prefix + "g", "limit": limit},
    )
    return [
        Match(kind, UUID(str(row["id"])), _label(kind, row))
        for row in rows
        if str(row["id"]).startswith(prefix)
    ]


def prefix_matches(ledger: Ledger, kinds: Sequence[IdKind], prefix: str, limit: int) -> list[Match]:
    """Up to ``limit`` aggregates per kind whose id starts with ``prefix`` (see the module
    docstring), after catching the read tables up."""
    s = ledger.settings
    db = ReadDB(store_config(s.database_url, schema=s.postgres_schema))
    try:
        ProjectionEngine(ledger, db, [LedgerTables()]).catch_up()
        return [match for kind in kinds for match in lookup(db, kind, prefix, limit)]
    finally:
        db.close()


__all__ = ["lookup", "prefix_matches"]
