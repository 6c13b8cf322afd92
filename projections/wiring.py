"""Composition of the read side: a ledger, a read-database connection and the engine.

One function builds them from settings; callers (CLI commands, jobs, the HTTP API) use it as a
context manager so every connection is closed. ``catch_up=True`` brings the read tables up to
the head of the log first, which is what anything that reads a table for decisions should ask.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.application import Ledger
from ledger.clock import Clock, system_clock
from ledger.config import Settings, load_settings
from ledger.persistence import store_config
from projections.audit_chain import AuditChain
from projections.db import ReadDB
from projections.engine import ProjectionEngine, Projector
from projections.ledger_tables import LedgerTables
from projections.notifications import Outbox


def default_projectors() -> list[Projector]:
    """Every projector the product runs, in the order they are caught up."""
    return [LedgerTables(), AuditChain(), Outbox()]


@dataclass
class ReadSide:
    ledger: Ledger
    db: ReadDB
    engine: ProjectionEngine


@contextmanager
def read_side(
    settings: Settings | None = None,
    *,
    ledger: Ledger | None = None,
    clock: Clock = system_clock,
    catch_up: bool = False,
    batch_size: int = 1000,
) -> Iterator[ReadSide]:
    """Open the read side on the configured store (or beside an existing ``ledger``)."""
    own_ledger = ledger is None
    if ledger is None:
        ledger = Ledger.from_settings(settings or load_settings(), clock=clock)
    s = ledger.settings
    db = ReadDB(store_config(s.database_url, schema=s.postgres_schema))
    try:
        engine = ProjectionEngine(ledger, db, default_projectors(), batch_size=batch_size)
        if catch_up:
            engine.catch_up()
        yield ReadSide(ledger, db, engine)
    finally:
        db.close()
        if own_ledger:
            ledger.close()


__all__ = ["ReadSide", "default_projectors", "read_side"]
