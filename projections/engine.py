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

import contextlib
import gc
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from ledger.application import Ledger
from ledger.schema import ensure_schema
from projections import schema
from projections.db import ReadDB
from projections.log_reader import LogReader
from projections.schema import Table

TRACKING_DDL = """
CREATE TABLE IF NOT EXISTS projection_tracking (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    updated_at TIMESTAMPTZ
)
"""

Tables = Mapping[str, str]

# Events per batch (and per transaction). Larger batches fold more of a payment's events into
# one write of its rows; memory grows with the batch, never with the log.
DEFAULT_BATCH_SIZE = 10_000

GC_GEN0_THRESHOLD = 50_000
SWITCH_INTERVAL = 0.0005  # seconds; CPython's default is 0.005


class _GcState:
    lock = threading.Lock()
    users = 0
    saved: tuple[int, int, int] | None = None


class _SwitchState:
    lock = threading.Lock()
    users = 0
    saved: float | None = None


@contextmanager
def _quick_handoffs() -> Iterator[None]:
    """Run the block with the interpreter's thread switch interval lowered to
    ``SWITCH_INTERVAL``, restored afterwards (nesting and threads allowed).

    During a catch-up the writer thread waits on the database a dozen times per batch and
    each time needs the interpreter lock back from the threads reading and folding, which
    otherwise keep it up to 5 ms; meanwhile the database server waits for the writer."""
    state = _SwitchState
    with state.lock:
        if state.users == 0:
            state.saved = sys.getswitchinterval()
            sys.setswitchinterval(min(state.saved, SWITCH_INTERVAL))
        state.users += 1
    try:
        yield
    finally:
        with state.lock:
            state.users -= 1
            if state.users == 0 and state.saved is not None:
                sys.setswitchinterval(state.saved)
                state.saved = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with the cyclic garbage collector's first threshold raised (to
    ``GC_GEN0_THRESHOLD`` allocations), restored afterwards (nesting and threads allowed).

    Decoding a batch allocates tens of thousands of short-lived objects, none in cycles
    (reference counting frees them); with the default threshold (700) the collector runs
    hundreds of times per batch and its older generations, which it scans whole, take a
    large share of catch-up time. Cycles are still collected, less often."""
    state = _GcState
    with state.lock:
        if state.users == 0:
            state.saved = gc.get_threshold()
            gc.set_threshold(max(state.saved[0], GC_GEN0_THRESHOLD), *state.saved[1:])
        state.users += 1
    try:
        yield
    finally:
        with state.lock:
            state.users -= 1
            if state.users == 0 and state.saved is not None:
                gc.set_threshold(*state.saved)
                state.saved = None


class Projector(ABC):
    """Folds events into read tables. Subclasses set ``name`` and ``tables`` (logical table
    name -> ``schema.Table``) and implement ``apply``, writing to the physical names given."""

    name: ClassVar[str]
    tables: ClassVar[Mapping[str, Table]]
    # Views over the live tables (``schema.Views``), made with them and remade by a rebuild.
    views: ClassVar[schema.Views] = {}

    def create_tables(self, db: ReadDB, physical: Tables) -> None:
        for logical, table in self.tables.items():
            schema.create(db, physical[logical], table)

    @abstractmethod
    def apply(
        self, event: DomainEventProtocol[Any], db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        """Fold one event into the tables (physical names in ``tables``). ``stored`` is the
        event as stored (``stored.id`` is its position in the log, ``stored.state`` its bytes)."""

    def handles(self, event_class: type) -> bool:
        """Whether ``apply`` does anything with events of ``event_class``. The engine decodes
        and applies only those (the others still move the position). Default: all."""
        return True

    def fold(
        self,
        db: ReadDB,
        tables: Tables,
        notifications: Sequence[Notification],
        events: Sequence[DomainEventProtocol[Any]],
        previous: "Folded | None",
    ) -> "Folded":
        """Optional: apply a batch without writing, and return its writes, which the engine
        flushes later, in the batch's transaction, while it folds the next batch. Reads go
        through ``db``; ``previous`` is the batch before, which may not be committed yet: its
        effects must be taken from it. A projector that implements this is written behind
        (see ``ProjectionEngine.catch_up_one``); the others are applied with ``batch`` and
        ``apply`` inside the batch's transaction, and this base method is never called."""
        raise TypeError(f"{type(self).__name__} does not fold batches (it is applied per event)")

    @contextmanager
    def batch(
        self, db: ReadDB, tables: Tables, events: Sequence[DomainEventProtocol[Any]]
    ) -> Iterator[None]:
        """A unit of work around applying ``events`` (in order, with ``apply``), inside the
        caller's transaction. A projector may defer its writes to the end of the block (and
        read what the batch needs up front); if the block raises, it must write nothing.
        By default each ``apply`` writes at once."""
        yield

    def live_tables(self) -> dict[str, str]:
        return {logical: logical for logical in self.tables}

    def rebuild_tables(self) -> dict[str, str]:
        return {logical: f"{logical}__new" for logical in self.tables}


class Folded(Protocol):
    """The writes of a batch folded by ``Projector.fold``, not made yet."""

    def flush(self, db: ReadDB) -> None:
        """Make them through ``db``, in the caller's transaction."""


def _writes_behind(projector: Projector) -> bool:
    return type(projector).fold is not Projector.fold


class _Moved(Exception):
    """Another engine moved the tracking position: what was folded after it is void."""

    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


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


@dataclass(frozen=True)
class _Batch:
    """A batch of the log: how far it goes and the events the projector handles in it."""

    last: int | None  # the last position read (None: nothing after the position)
    read: int  # notifications read
    notifications: Sequence[Notification]  # those the projector handles, in order
    events: list[DomainEventProtocol[Any]]  # the same, decoded


class _ReadAhead:
    """Reads and decodes the next batch of the log in a background thread while the caller
    applies the current one (the thread mostly runs while the caller waits on the database).

    ``read(after)`` returns the batch after position ``after``: the one read ahead if it
    starts there, else (the position moved) a fresh read. Reading the log is side-effect
    free, so a batch read ahead and not used is simply dropped. No thread is started unless
    a batch comes back full (there may be more)."""

    def __init__(self, read: Callable[[int], _Batch], batch_size: int, stop: int | None) -> None:
        self._read = read
        self._batch_size = batch_size
        self._stop = stop
        self._executor: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future[_Batch]] | None = None

    def read(self, after: int) -> _Batch:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == after:
            batch = ahead[1].result()
        else:
            if ahead is not None:
                ahead[1].result()  # let it finish (or fail) before reading again
            batch = self._read(after)
        last = batch.last
        if (
            last is not None
            and batch.read == self._batch_size
            and (self._stop is None or last < self._stop)
        ):
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="projection-read")
            self._ahead = (last, self._executor.submit(self._read, last))
        return batch

    def close(self) -> None:
        if self._ahead is not None:
            with contextlib.suppress(Exception):  # an unused read that failed
                self._ahead[1].result()
            self._ahead = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


class ProjectionEngine:
    """Catches projectors up with the event log of ``ledger``, in batches."""

    def __init__(
        self,
        ledger: Ledger,
        db: ReadDB,
        projectors: Iterable[Projector],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.ledger = ledger
        self.db = db
        self.log = LogReader(ledger.recorder)
        self.projectors = {p.name: p for p in projectors}
        self.batch_size = batch_size
        # The operational tables some projectors write (the outbox's notifications) are
        # ledger.schema's: made on an empty store, refused when older than this release.
        ensure_schema(db.config, conn=db.conn())
        with db.transaction():
            db.lock_schema_changes()
            db.execute(TRACKING_DDL)
            for projector in self.projectors.values():
                projector.create_tables(db, projector.live_tables())
                schema.create_views(db, projector.views)
                init_position(db, projector.name)

    def head(self) -> int:
        return int(self.ledger.recorder.max_notification_id() or 0)

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
        with fewer_collections(), _quick_handoffs():
            return self._catch_up_one(projector, tracking_name, tables, stop, on_batch)

    def _catch_up_one(
        self,
        projector: Projector,
        tracking_name: str | None,
        tables: Tables | None,
        stop: int | None,
        on_batch: Callable[[Progress], None] | None,
    ) -> int:
        name = tracking_name or projector.name
        tables = tables or projector.live_tables()
        with self.db.transaction():
            init_position(self.db, name)
        if _writes_behind(projector):
            return self._catch_up_behind(projector, name, tables, stop, on_batch)
        position = read_position(self.db, name)
        applied = 0
        reader = _ReadAhead(self._reader(projector, stop), self.batch_size, stop)
        try:
            while True:
                batch = reader.read(position)
                if batch.last is None:
                    return applied
                with self.db.transaction():
                    # Re-read inside the transaction: another engine may have moved it.
                    current = read_position(self.db, name, lock=True)
                    if current != position:
                        position = current
                        continue
                    with projector.batch(self.db, tables, batch.events):
                        for notification, event in zip(
                            batch.notifications, batch.events, strict=True
                        ):
                            projector.apply(event, self.db, tables, notification)
                    position = batch.last
                    write_position(self.db, name, position, self.ledger.wall_clock())
                applied += batch.read
                if on_batch is not None:
                    on_batch(Progress(name, position, stop or self.head(), applied))
        finally:
            reader.close()

    def _catch_up_behind(
        self,
        projector: Projector,
        name: str,
        tables: Tables,
        stop: int | None,
        on_batch: Callable[[Progress], None] | None,
    ) -> int:
        """``catch_up_one`` for a projector that folds batches (``Projector.fold``): batch
        N+1 is read and folded while batch N is written, in another thread, on the engine's
        connection, in its own transaction with its tracking position (checked first, under
        lock, as in the plain loop). One batch is in flight at a time, so a batch is folded
        against the committed tables plus the batch before it. If another engine moved the
        position meanwhile, the batch is not written, what was folded after it is dropped,
        and reading resumes from the new position. On an error, the batch in flight is
        still committed (it is complete) before the error propagates."""
        position = committed = read_position(self.db, name)
        applied = 0
        reader = _ReadAhead(self._reader(projector, stop), self.batch_size, stop)
        writer: ThreadPoolExecutor | None = None
        reads: ReadDB | None = None  # for folding while the engine's connection writes
        inflight: tuple[Future[None], int, int] | None = None  # (commit, position, events)
        previous: Folded | None = None

        def settle() -> bool:
            """Wait for the batch in flight; False if another engine had moved on."""
            nonlocal inflight, committed, applied, previous, position
            if inflight is None:
                return True
            future, end, count = inflight
            inflight = None
            try:
                future.result()
            except _Moved as moved:
                previous, position, committed = None, moved.position, moved.position
                return False
            committed, applied = end, applied + count
            if on_batch is not None:
                on_batch(Progress(name, committed, stop or self.head(), applied))
            return True

        try:
            while True:
                batch = reader.read(position)
                if batch.last is None:
                    if inflight is None:
                        return applied
                    settle()
                    continue
                source = self.db
                if inflight is not None:
                    reads = reads or self.db.reopen()
                    source = reads
                folded = projector.fold(source, tables, batch.notifications, batch.events, previous)
                if not settle():
                    continue
                end = batch.last
                writer = writer or ThreadPoolExecutor(1, thread_name_prefix="projection-write")
                future = writer.submit(self._commit, name, folded, committed, end)
                inflight, previous, position = (future, end, batch.read), folded, end
        finally:
            if inflight is not None:  # only on an error: let the complete batch commit
                with contextlib.suppress(Exception):
                    inflight[0].result()
            reader.close()
            if writer is not None:
                writer.shutdown(wait=True)
            if reads is not None:
                reads.close()

    def _commit(self, name: str, folded: Folded, expected: int, end: int) -> None:
        """Write a folded batch and its position, if the position is still ``expected``."""
        with self.db.transaction():
            current = read_position(self.db, name, lock=True)
            if current != expected:
                raise _Moved(current)
            folded.flush(self.db)
            write_position(self.db, name, end, self.ledger.wall_clock())

    def _reader(self, projector: Projector, stop: int | None) -> Callable[[int], _Batch]:
        """Reads the batch after a position (up to ``stop``), decoding only the events
        ``projector`` handles."""
        to_event = self.ledger.mapper.to_domain_event
        wanted: dict[str, bool] = {}

        def read(after: int) -> _Batch:
            notifications = self.log.select(after + 1, self.batch_size, stop)
            if not notifications:
                return _Batch(None, 0, (), [])
            kept: list[Notification] = []
            events: list[DomainEventProtocol[Any]] = []
            for notification in notifications:
                topic = notification.topic
                handled = wanted.get(topic)
                if handled is None:
                    handled = wanted[topic] = projector.handles(resolve_topic(topic))
                if handled:
                    kept.append(notification)
                    events.append(to_event(notification))
            return _Batch(notifications[-1].id, len(notifications), kept, events)

        return read

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
            read = self._reader(projector, None)
            tail: list[_Batch] = []
            while (batch := read(position)).last is not None:
                tail.append(batch)  # the few events written since the last batch
                position = batch.last
                applied += batch.read
            with projector.batch(self.db, new_tables, [e for b in tail for e in b.events]):
                for batch in tail:
                    for notification, event in zip(batch.notifications, batch.events, strict=True):
                        projector.apply(event, self.db, new_tables, notification)
            schema.drop_views(self.db, projector.views)  # they would pin the old tables
            for logical, table in projector.tables.items():
                schema.swap(self.db, logical, new_tables[logical], table)
            schema.create_views(self.db, projector.views)
            write_position(self.db, name, position, self.ledger.wall_clock())
            self.db.execute("DELETE FROM projection_tracking WHERE name = %s", [shadow])
        return applied

    def status(self) -> list[Progress]:
        head = self.head()
        return [Progress(name, read_position(self.db, name), head, 0) for name in self.projectors]


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Folded",
    "Progress",
    "ProjectionEngine",
    "Projector",
    "fewer_collections",
    "read_position",
    "write_position",
]
