"""``verify``: replay the whole store and compare, check the books, and check the hash chain.

1. *Replay*: every read-table projector (all of the engine's but the audit chain) replays the
   whole log into scratch tables ``<table>__verify`` (tracking name ``<name>__verify``) through
   the engine, up to the live tables' position; then both are compared row by row, by primary
   key, streaming in key order (bounded memory). Values are normalised first: booleans (SQLite
   0/1, PostgreSQL bool), integers (PostgreSQL may give Decimal) and times (SQLite ISO text,
   PostgreSQL datetime, compared as UTC instants). Every differing column and every row
   missing on either side is a ``Difference``. The scratch tables are dropped afterwards.
   If a projection engine commits during the comparison, it is repeated (finally under the
   live tracking lock), so a moving log never shows as a difference.
2. *Books* (on the live tables), per currency: the ledger entries balance (debits ==
   credits); ``escrow``'s balance is the money held (COMPLETED and escrow PENDING);
   ``suspense``'s is the flagged money not yet refunded or resolved; verified payments =
   held + released + refunded; released = wallet credits + platform fees; and per wallet,
   balance = credited - debited >= 0; ``isInEscrow`` agrees with the two statuses.
3. *Chain*: the log is rehashed beside ``audit_chain`` (``projections.audit_chain``); with a
   seal, the sealed position must still give the sealed hash.

The report is OK only if all three agree. What it deliberately does not do: repair anything
(``ledger projections rebuild`` repairs read tables; a changed event log is an incident), or
run two at once on one store (the scratch tables have fixed names).
"""

import re
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg
from eventsourcing.persistence import OperationalError

from projections import schema
from projections.audit_chain import (
    AuditChain,
    ChainBreak,
    Seal,
    SealCheck,
    scan_chain,
    verify_seal,
)
from projections.db import ReadDB
from projections.engine import Projector, read_position, write_position
from projections.ledger_tables import LedgerTables
from projections.schema import Table

if TYPE_CHECKING:
    from projections.wiring import ReadSide

SUFFIX = "__verify"
# The database itself failing is not a finding about the log: let it propagate.
_UNREACHABLE = (psycopg.OperationalError, sqlite3.OperationalError, OperationalError)
_COLUMN = re.compile(r"(\w+)\s+(TEXT|BIGINT|INTEGER|BOOLEAN|TIMESTAMPTZ)\b([^,]*)", re.IGNORECASE)
_TABLE_KEY = re.compile(r"PRIMARY KEY\s*\(([^)]*)\)", re.IGNORECASE)


@dataclass(frozen=True)
class Difference:
    """One disagreement between a live read table and the replay (values as text)."""

    table: str
    key: str
    column: str
    live: str | None
    replayed: str | None


@dataclass(frozen=True)
class Check:
    """One bookkeeping rule, for one currency (or one row) where it applies."""

    name: str
    scope: str
    ok: bool
    expected: int
    actual: int
    rule: str


@dataclass
class Report:
    """What ``verify`` checked and found. ``ok`` only if everything agrees."""

    position: int = 0
    events_replayed: int = 0
    rows_compared: dict[str, int] = field(default_factory=dict)
    currencies: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    chain_events: int = 0
    chain_break: ChainBreak | None = None
    seal: SealCheck | None = None

    @property
    def ok(self) -> bool:
        return (
            not self.differences
            and not self.errors
            and all(check.ok for check in self.checks)
            and self.chain_break is None
            and (self.seal is None or self.seal.ok)
        )

    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def view(self) -> dict[str, Any]:
        """The machine form (JSON-ready)."""
        return {
            "ok": self.ok,
            "position": self.position,
            "events_replayed": self.events_replayed,
            "rows_compared": dict(self.rows_compared),
            "currencies": list(self.currencies),
            "checks_run": len(self.checks),
            "differences": [vars(d) for d in self.differences],
            "failed_checks": [vars(c) for c in self.failed_checks()],
            "errors": list(self.errors),
            "chain": {
                "events_hashed": self.chain_events,
                "first_break": (
                    {"position": self.chain_break.position, "kind": self.chain_break.kind}
                    if self.chain_break
                    else None
                ),
            },
            "seal": _seal_view(self.seal),
        }


def _seal_view(check: SealCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    brk = check.first_break
    return {
        "seal": str(check.seal),
        "ok": check.ok,
        "position": check.position,
        "recomputed": check.recomputed,
        "events_hashed": check.events_hashed,
        "first_break": {"position": brk.position, "kind": brk.kind} if brk else None,
        "message": check.message,
    }


# -- table layout ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    columns: dict[str, str]  # lower-case name -> declared type
    names: dict[str, str]  # lower-case name -> name as declared (for reports)
    key: tuple[str, ...]  # lower-case primary-key columns


def _layout(table: Table) -> _Layout:
    columns: dict[str, str] = {}
    names: dict[str, str] = {}
    key: tuple[str, ...] = ()
    for name, kind, rest in _COLUMN.findall(table.columns):
        if name.upper() in {"PRIMARY", "KEY"}:
            continue
        columns[name.lower()] = kind.upper()
        names[name.lower()] = name
        if "PRIMARY KEY" in rest.upper():
            key = (name.lower(),)
    match = _TABLE_KEY.search(table.columns)
    if match:
        key = tuple(part.strip().lower() for part in match.group(1).split(","))
    if not key:
        raise ValueError(f"table has no primary key to compare by: {table.columns[:60]}")
    return _Layout(columns, names, key)


def _normal(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "BOOLEAN":
        return bool(value)
    if kind in {"BIGINT", "INTEGER"}:
        return int(value)
    if kind == "TIMESTAMPTZ":
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        if isinstance(at, datetime):
            return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        return at
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _rows(
    db: ReadDB, physical: str, layout: _Layout, batch_size: int
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Rows of ``physical`` in primary-key order (byte order for text), keyset-paginated."""
    collate = ' COLLATE "C"' if db.kind == "postgres" else ""

    def expr(column: str) -> str:
        return column + (collate if layout.columns[column] == "TEXT" else "")

    order = ", ".join(expr(c) for c in layout.key)
    after: tuple[Any, ...] | None = None
    while True:
        where, params = "", []
        if after is not None:
            where = f"WHERE ({order}) > ({', '.join(['%s'] * len(after))}) "
            params = list(after)
        rows = db.fetchall(
            f"SELECT * FROM {physical} {where}ORDER BY {order} LIMIT {int(batch_size)}", params
        )
        for raw in rows:
            row = {
                name.lower(): _normal(value, layout.columns.get(name.lower(), "TEXT"))
                for name, value in raw.items()
            }
            yield tuple(row[c] for c in layout.key), row
        if len(rows) < batch_size:
            return
        last = {name.lower(): value for name, value in rows[-1].items()}
        after = tuple(last[c] for c in layout.key)


def _key_text(layout: _Layout, key: tuple[Any, ...]) -> str:
    return ", ".join(f"{layout.names[c]}={_text(v)}" for c, v in zip(layout.key, key, strict=True))


def compare_table(
    db: ReadDB, logical: str, live: str, replayed: str, table: Table, *, batch_size: int = 1000
) -> tuple[int, list[Difference]]:
    """Compare two physical tables of one definition row by row; (rows compared, differences)."""
    layout = _layout(table)
    differences: list[Difference] = []
    mine, theirs = _rows(db, live, layout, batch_size), _rows(db, replayed, layout, batch_size)
    a, b = next(mine, None), next(theirs, None)
    compared = 0
    while a is not None or b is not None:
        compared += 1
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            differences.append(
                Difference(logical, _key_text(layout, a[0]), "(row)", "present", None)
            )
            a = next(mine, None)
        elif a is None or b[0] < a[0]:
            differences.append(
                Difference(logical, _key_text(layout, b[0]), "(row)", None, "present")
            )
            b = next(theirs, None)
        else:
            for column in layout.columns:
                if a[1].get(column) != b[1].get(column):
                    differences.append(
                        Difference(
                            logical,
                            _key_text(layout, a[0]),
                            layout.names[column],
                            _text(a[1].get(column)),
                            _text(b[1].get(column)),
                        )
                    )
            a, b = next(mine, None), next(theirs, None)
    return compared, differences


# -- the books -------------------------------------------------------------------------------


def _sums(db: ReadDB, statement: str) -> dict[str, int]:
    return {str(r["k"]): int(r["v"] or 0) for r in db.fetchall(statement)}


_ENTRIES = "SELECT currency AS k, SUM({expr}) AS v FROM ledger_entries {where} GROUP BY currency"
_TXNS = "SELECT {cur} AS k, SUM({expr}) AS v FROM wallet_transactions WHERE {where} GROUP BY {cur}"


def check_books(db: ReadDB) -> tuple[list[str], list[Check]]:
    """The double-entry and conservation rules over the live tables; (currencies, checks)."""

    def entries(expr: str, where: str = "") -> dict[str, int]:
        return _sums(db, _ENTRIES.format(expr=expr, where=where))

    def txns(expr: str, where: str, cur: str = "currency") -> dict[str, int]:
        return _sums(db, _TXNS.format(expr=expr, where=where, cur=cur))

    debits, credits = entries("debit"), entries("credit")
    escrow = entries("credit - debit", "WHERE account = 'escrow'")
    suspense = entries("credit - debit", "WHERE account = 'suspense'")
    held = txns("amount", "status = 'COMPLETED' AND escrowStatus = 'PENDING'")
    flagged = txns(
        "flaggedAmount",
        "needsReview = true AND flaggedAmount IS NOT NULL",
        cur="flaggedCurrency",
    )
    verified = txns("amount", "status = 'COMPLETED' AND needsReview = false")
    released = txns("amount", "status = 'COMPLETED' AND escrowStatus = 'RELEASED'")
    refunded = txns("amount", "status = 'COMPLETED' AND escrowStatus = 'REFUNDED'")
    fees = txns("COALESCE(fee, 0)", "status = 'COMPLETED' AND escrowStatus = 'RELEASED'")
    all_flagged = txns("flaggedAmount", "flaggedAmount IS NOT NULL", cur="flaggedCurrency")
    flagged_refunded = txns(
        "refundedAmount",
        "flaggedAmount IS NOT NULL AND escrowStatus = 'REFUNDED'",
        cur="flaggedCurrency",
    )
    flagged_resolved = txns(
        "flaggedAmount",
        "flaggedAmount IS NOT NULL AND needsReview = false AND escrowStatus <> 'REFUNDED'",
        cur="flaggedCurrency",
    )
    wallet_rows = db.fetchall("SELECT currency, credited FROM wallets")
    wallet_credits: dict[str, int] = {}
    for row in wallet_rows:
        currency = str(row["currency"])
        wallet_credits[currency] = wallet_credits.get(currency, 0) + int(row["credited"])
    currencies = sorted(
        set(debits) | set(held) | set(all_flagged) | set(verified) | set(wallet_credits)
    )
    checks: list[Check] = []

    def rule(name: str, scope: str, expected: int, actual: int, text: str) -> None:
        checks.append(Check(name, scope, expected == actual, expected, actual, text))

    for cur in currencies:
        rule(
            "entries_balance",
            cur,
            debits.get(cur, 0),
            credits.get(cur, 0),
            "sum of credits = sum of debits",
        )
        rule(
            "escrow_is_held",
            cur,
            held.get(cur, 0),
            escrow.get(cur, 0),
            "escrow balance = money held (COMPLETED, escrow PENDING)",
        )
        rule(
            "suspense_is_flagged",
            cur,
            flagged.get(cur, 0),
            suspense.get(cur, 0),
            "suspense balance = flagged money not yet refunded or resolved",
        )
        rule(
            "flagged_accounted",
            cur,
            all_flagged.get(cur, 0),
            suspense.get(cur, 0) + flagged_refunded.get(cur, 0) + flagged_resolved.get(cur, 0),
            "flagged money = suspense + its refunds + what operators resolved",
        )
        rule(
            "verified_conserved",
            cur,
            verified.get(cur, 0),
            held.get(cur, 0) + released.get(cur, 0) + refunded.get(cur, 0),
            "verified payments = held + released + refunded",
        )
        rule(
            "released_paid_out",
            cur,
            released.get(cur, 0),
            wallet_credits.get(cur, 0) + fees.get(cur, 0),
            "released = wallet credits + platform fees",
        )
    for row in db.fetchall("SELECT id, balance, credited, debited FROM wallets ORDER BY id"):
        balance, net = int(row["balance"]), int(row["credited"]) - int(row["debited"])
        rule("wallet_balance", f"wallet {row['id']}", net, balance, "balance = credited - debited")
        if balance < 0:
            rule("wallet_not_negative", f"wallet {row['id']}", 0, balance, "balance >= 0")
    wrong_flag = db.fetchone(
        "SELECT COUNT(*) AS n FROM wallet_transactions WHERE isInEscrow <> "
        "(status = 'COMPLETED' AND escrowStatus = 'PENDING')"
    )
    rule(
        "in_escrow_flag",
        "wallet_transactions",
        0,
        int(wrong_flag["n"]) if wrong_flag else 0,
        "isInEscrow is true exactly when COMPLETED and escrow PENDING (rows that disagree)",
    )
    return currencies, checks


# -- replay and compare ----------------------------------------------------------------------


def _scratch(projector: Projector) -> dict[str, str]:
    return {logical: f"{logical}{SUFFIX}" for logical in projector.tables}


def _drop(db: ReadDB, projector: Projector) -> None:
    with db.transaction():
        for physical in _scratch(projector).values():
            schema.drop(db, physical)
        db.execute("DELETE FROM projection_tracking WHERE name = %s", [f"{projector.name}{SUFFIX}"])


def _unit(
    projector: Projector, db: ReadDB, tables: dict[str, str], events: list[Any]
) -> AbstractContextManager[None]:
    """The projector's unit of work around a batch, as the engine opens it (if it has one)."""
    batch = getattr(projector, "batch", None)
    return batch(db, tables, events) if batch is not None else nullcontext()


def _extend(side: "ReadSide", projector: Projector, upto: int) -> int:
    """Apply events after the scratch position up to ``upto`` into the scratch tables, in the
    caller's transaction; return how many."""
    db, ledger = side.db, side.ledger
    tracking, tables = f"{projector.name}{SUFFIX}", _scratch(projector)
    position, applied = read_position(db, tracking), 0
    while position < upto:
        batch = ledger.recorder.select_notifications(
            start=position + 1, limit=side.engine.batch_size, stop=upto
        )
        if not batch:
            break
        events = [ledger.mapper.to_domain_event(n) for n in batch]
        with _unit(projector, db, tables, events):
            for notification, event in zip(batch, events, strict=True):
                projector.apply(event, db, tables, notification)
        applied += len(batch)
        position = batch[-1].id
    write_position(db, tracking, max(position, upto), ledger.wall_clock())
    return applied


def _compare(side: "ReadSide", projector: Projector, report: Report) -> None:
    for logical, table in projector.tables.items():
        count, differences = compare_table(
            side.db,
            logical,
            logical,
            f"{logical}{SUFFIX}",
            table,
            batch_size=side.engine.batch_size,
        )
        report.rows_compared[logical] = count
        report.differences.extend(differences)
    if isinstance(projector, LedgerTables):
        report.currencies, report.checks = check_books(side.db)


def _replay_and_compare(side: "ReadSide", projector: Projector, report: Report) -> None:
    db, engine, ledger = side.db, side.engine, side.ledger
    tracking, tables = f"{projector.name}{SUFFIX}", _scratch(projector)
    with db.transaction():
        for physical in tables.values():
            schema.drop(db, physical)
        projector.create_tables(db, tables)
        write_position(db, tracking, 0, ledger.wall_clock())
    start = read_position(db, projector.name)
    replayed = engine.catch_up_one(projector, tracking_name=tracking, tables=tables, stop=start)
    attempts = 3
    for attempt in range(attempts + 1):
        trial = Report()
        if attempt < attempts:  # optimistic: nothing locked while comparing
            position = read_position(db, projector.name)
            with db.transaction():
                replayed += _extend(side, projector, position)
            _compare(side, projector, trial)
            if read_position(db, projector.name) != position:
                continue  # an engine committed meanwhile: compare again
        else:  # the log keeps moving: hold the live tables still
            with db.transaction():
                position = read_position(db, projector.name, lock=True)
                replayed += _extend(side, projector, position)
                _compare(side, projector, trial)
        report.position = max(report.position, position)
        report.events_replayed = max(report.events_replayed, replayed)
        report.rows_compared.update(trial.rows_compared)
        report.differences.extend(trial.differences)
        if isinstance(projector, LedgerTables):
            report.currencies, report.checks = trial.currencies, trial.checks
        return


def verify(side: "ReadSide", *, seal: Seal | str | None = None) -> Report:
    """Catch the live tables up, replay the store into scratch tables and compare, check the
    books, and rehash the log (against ``seal`` too, when given). Never repairs anything."""
    report = Report()
    try:
        side.engine.catch_up()
    except _UNREACHABLE:
        raise
    except Exception as exc:  # an event that no longer decodes stops the live engine too
        report.errors.append(
            f"catching up the live read tables failed ({type(exc).__name__}); "
            "a stored event may be damaged: see the hash chain below"
        )
    chosen = [p for p in side.engine.projectors.values() if not isinstance(p, AuditChain)]
    for projector in chosen:
        try:
            _replay_and_compare(side, projector, report)
        except _UNREACHABLE:
            raise
        except Exception as exc:  # a damaged event can fail anywhere in decoding or applying
            report.errors.append(
                f"replaying {projector.name} failed ({type(exc).__name__}); "
                "a stored event may be damaged: see the hash chain below"
            )
        finally:
            _drop(side.db, projector)
    head = int(side.ledger.recorder.max_notification_id() or 0)
    scan = scan_chain(side.ledger, side.db, stop=head, batch_size=side.engine.batch_size)
    report.chain_events, report.chain_break = scan.events_hashed, scan.first_break
    if seal is not None:
        report.seal = verify_seal(side.ledger, seal, db=side.db, batch_size=side.engine.batch_size)
    return report


__all__ = ["Check", "Difference", "Report", "check_books", "compare_table", "verify"]
