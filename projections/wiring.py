"""Composition of the read side: a ledger, a read-database connection and the engine.

One function builds them beside a ledger from the composition root (``ledger.bootstrap``:
given, or built here); callers (CLI commands, jobs, the HTTP API, the projection follower)
use it as a context manager so every connection is closed. ``catch_up=True`` brings the read
tables up to the head of the log first, which is what anything that reads a table for
decisions should ask.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.application import Ledger
from ledger.bootstrap import build_ledger
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
    create: bool = False,
) -> Iterator[ReadSide]:
    """Open the read side beside ``ledger``, or on the configured store: then ``create``
    says whether a store that holds no ledger is created (else ``ConfigError``, no ledger)."""
    own_ledger = ledger is None
    if ledger is None:
        ledger = build_ledger(
            settings or load_settings(), create=create, clock=clock, provider=None
        )
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
