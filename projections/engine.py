"""The projector engine: exactly-once read tables from the event log, batch by batch.

For each projector it reads the notification log after the projector's tracking position, in
batches, decodes the events, applies the projector's handlers, and commits the rows *and* the
new position in one transaction per batch. A crash anywhere resumes from the last committed
position: nothing is applied twice and nothing is skipped (the event store's table lock makes
notification ids appear in commit order, so reading after a position never passes a gap that
is filled later).

Projectors write into *physical* table names given by a mapping, so ``rebuild`` can replay into
fresh tables and swap them in with one transaction (see ``ProjectionEngine.rebuild``).

What it deliberately does not do: follow the log forever (``projections.runner`` does that),
or decide anything: handlers only fold events into rows.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification

from ledger.application import Ledger
from projections import schema
from projections.db import ReadDB
from projections.schema import Table

TRACKING_DDL = """
CREATE TABLE IF NOT EXISTS projection_tracking (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    updated_at TIMESTAMPTZ
)
"""

Tables = Mapping[str, str]


class Projector(ABC):
    """Folds events into read tables. Subclasses set ``name`` and ``tables`` (logical table
    name -> ``schema.Table``) and implement ``apply``, writing to the physical names given."""

    name: ClassVar[str]
    tables: ClassVar[Mapping[str, Table]]

    def create_tables(self, db: ReadDB, physical: Tables) -> None:
        for logical, table in self.tables.items():
            schema.create(db, physical[logical], table)

    @abstractmethod
    def apply(
        self, event: DomainEventProtocol[Any], db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        """Fold one event into the tables (physical names in ``tables``). ``stored`` is the
        event as stored (``stored.id`` is its position in the log, ``stored.state`` its bytes)."""

    def live_tables(self) -> dict[str, str]:
        return {logical: logical for logical in self.tables}

    def rebuild_tables(self) -> dict[str, str]:
        return {logical: f"{logical}__new" for logical in self.tables}


@dataclass(frozen=True)
class Progress:
    projector: str
    position: int
    head: int
    applied: int


def read_position(db: ReadDB, name: str, *, lock: bool = False) -> int:
    """The projector's position; with ``lock`` (inside a transaction) other engines wait."""
    statement = "SELECT position FROM projection_tracking WHERE name = %s"
    if lock and db.kind == "postgres":
        statement += " FOR UPDATE"  # SQLite's BEGIN IMMEDIATE already serialises writers
    row = db.fetchone(statement, [name])
    return int(row["position"]) if row else 0


def init_position(db: ReadDB, name: str) -> None:
    db.execute(
        "INSERT INTO projection_tracking (name, position) VALUES (%s, 0) "
        "ON CONFLICT (name) DO NOTHING",
        [name],
    )


def write_position(db: ReadDB, name: str, position: int, at: Any) -> None:
    db.execute(
        "INSERT INTO projection_tracking (name, position, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
        "updated_at = excluded.updated_at",
        [name, position, at],
    )


class ProjectionEngine:
    """Catches projectors up with the event log of ``ledger``, in batches."""

    def __init__(
        self,
        ledger: Ledger,
        db: ReadDB,
        projectors: Iterable[Projector],
        *,
        batch_size: int = 1000,
    ) -> None:
        self.ledger = ledger
        self.db = db
        self.projectors = {p.name: p for p in projectors}
        self.batch_size = batch_size
        with db.transaction():
            db.lock_schema_changes()
            db.execute(TRACKING_DDL)
            for projector in self.projectors.values():
                projector.create_tables(db, projector.live_tables())
                init_position(db, projector.name)

    def head(self) -> int:
        return int(self.ledger.recorder.max_notification_id() or 0)

    def _decode(self, notifications: Sequence[Notification]) -> list[DomainEventProtocol[Any]]:
        to_event = self.ledger.mapper.to_domain_event
        return [to_event(n) for n in notifications]

    def catch_up_one(
        self,
        projector: Projector,
        *,
        tracking_name: str | None = None,
        tables: Tables | None = None,
        stop: int | None = None,
        on_batch: Callable[[Progress], None] | None = None,
    ) -> int:
        """Apply every event after the projector's position (up to ``stop``); return how many."""
        name = tracking_name or projector.name
        tables = tables or projector.live_tables()
        with self.db.transaction():
            init_position(self.db, name)
        position = read_position(self.db, name)
        applied = 0
        while True:
            notifications = self.ledger.recorder.select_notifications(
                start=position + 1, limit=self.batch_size, stop=stop
            )
            if not notifications:
                return applied
            events = self._decode(notifications)
            with self.db.transaction():
                # Re-read inside the transaction: another engine may have moved it.
                current = read_position(self.db, name, lock=True)
                if current != position:
                    position = current
                    continue
                for notification, event in zip(notifications, events, strict=True):
                    projector.apply(event, self.db, tables, notification)
                position = notifications[-1].id
                write_position(self.db, name, position, self.ledger.wall_clock())
            applied += len(notifications)
            if on_batch is not None:
                on_batch(Progress(name, position, stop or self.head(), applied))

    def catch_up(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """Bring the named projectors (default all) up to the head of the log."""
        chosen = list(names) if names is not None else list(self.projectors)
        return {name: self.catch_up_one(self.projectors[name]) for name in chosen}

    def rebuild(self, name: str, *, on_batch: Callable[[Progress], None] | None = None) -> int:
        """Replay the whole log into fresh tables, then swap them in with one transaction.

        The live tables keep serving (and keep being caught up by other engines) while the
        new ones fill in committed batches; the last stretch up to the head and the swap run
        in one transaction, under the projector's tracking lock, so readers see either the
        old tables or the complete new ones. Returns the number of events replayed."""
        projector = self.projectors[name]
        new_tables = projector.rebuild_tables()
        shadow = f"{name}__rebuild"
        with self.db.transaction():
            for physical in new_tables.values():
                schema.drop(self.db, physical)
            projector.create_tables(self.db, new_tables)
            write_position(self.db, shadow, 0, self.ledger.wall_clock())
        applied = self.catch_up_one(
            projector, tracking_name=shadow, tables=new_tables, on_batch=on_batch
        )
        with self.db.transaction():
            read_position(self.db, name, lock=True)  # the live engines wait for the swap
            position = read_position(self.db, shadow)
            for notification, event in self._tail(position):
                projector.apply(event, self.db, new_tables, notification)
                position = notification.id
                applied += 1
            for logical, table in projector.tables.items():
                schema.swap(self.db, logical, new_tables[logical], table)
            write_position(self.db, name, position, self.ledger.wall_clock())
            self.db.execute("DELETE FROM projection_tracking WHERE name = %s", [shadow])
        return applied

    def _tail(self, after: int) -> list[tuple[Notification, DomainEventProtocol[Any]]]:
        """Every notification after ``after`` (the few written since the last batch)."""
        out: list[tuple[Notification, DomainEventProtocol[Any]]] = []
        while True:
            notifications = self.ledger.recorder.select_notifications(
                start=after + 1, limit=self.batch_size
            )
            if not notifications:
                return out
            out.extend(zip(notifications, self._decode(notifications), strict=True))
            after = notifications[-1].id

    def status(self) -> list[Progress]:
        head = self.head()
        return [Progress(name, read_position(self.db, name), head, 0) for name in self.projectors]


__all__ = ["Progress", "ProjectionEngine", "Projector", "read_position", "write_position"]
