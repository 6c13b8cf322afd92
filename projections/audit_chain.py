"""Tamper evidence: a hash chain over the event log, a seal of its head, and its verification.

Each stored event at log position ``n`` gets the hash ``h_n = sha256(enc(h_prev, position,
originator_id, originator_version, topic, state))`` where ``h_prev`` is the hash of the event
before it in the log (``GENESIS`` for the first one) and ``enc`` length-prefixes every field
with its byte length as 8 bytes big-endian, so no two different field lists encode alike::

    h_prev              32 raw bytes (the previous hash, hex-decoded)
    position            ASCII decimal (the notification id; SQLite: the rowid)
    originator_id       ASCII, the UUID's canonical lowercase 8-4-4-4-12 form
    originator_version  ASCII decimal
    topic               UTF-8
    state               the stored bytes, exactly as in the events table

``GENESIS`` is ``sha256(b"escrow-ledger audit chain v1")``. The ``AuditChain`` projector keeps
``audit_chain(position, hash)`` up to date through the engine (exactly once, like any read
table). ``seal`` returns the head position and its hash (``<position>:<hex>``): kept outside the
system, it pins the whole log up to that position, since each hash covers every earlier event.
``verify_seal`` recomputes the chain from the raw events (in batches, bounded memory) and, when
it no longer reaches the seal, names the first position where a stored event was edited,
deleted or inserted, by walking the recomputed hashes beside the stored ``audit_chain`` table.

What it deliberately does not do: sign anything, or protect the seal; the seal is only as good
as the place it is kept (see docs/audit.md). It reads the stored bytes and never decodes them,
so an event that no longer decodes is still located.
"""

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification, StoredEvent

from ledger.application import Ledger
from ledger.errors import InvalidInput
from ledger.persistence import store_config
from projections.db import ReadDB
from projections.engine import Projector, Tables
from projections.schema import Table

if TYPE_CHECKING:  # wiring lists this module's projector
    from projections.wiring import ReadSide

GENESIS = hashlib.sha256(b"escrow-ledger audit chain v1").hexdigest()
TABLE = "audit_chain"
_SEAL = re.compile(r"(?:(\d{1,19}):)?([0-9a-fA-F]{64})")


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def link(previous: str, position: int, event: StoredEvent) -> str:
    """The chain hash of ``event`` stored at ``position`` after the hash ``previous``."""
    digest = hashlib.sha256()
    for part in (
        bytes.fromhex(previous),
        str(position).encode("ascii"),
        str(event.originator_id).encode("utf-8"),
        str(event.originator_version).encode("ascii"),
        event.topic.encode("utf-8"),
        bytes(event.state),
    ):
        digest.update(_field(part))
    return digest.hexdigest()


class Seal(NamedTuple):
    """A log position and the chain hash there; ``position`` is None for a bare hash."""

    position: int | None
    hash: str

    def __str__(self) -> str:
        return self.hash if self.position is None else f"{self.position}:{self.hash}"


def parse_seal(text: str) -> Seal:
    """``<position>:<64 hex digits>`` or the bare hash. Raises ``InvalidInput``."""
    match = _SEAL.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(
            f"malformed seal {text!r}: expected <position>:<64 hex digits>, as `audit seal` prints"
        )
    position = int(match.group(1)) if match.group(1) is not None else None
    return Seal(position, match.group(2).lower())


class AuditChain(Projector):
    """Keeps ``audit_chain(position, hash)``: one row per stored event, in log order."""

    name = "audit_chain"
    tables = {TABLE: Table("position BIGINT PRIMARY KEY, hash TEXT NOT NULL")}

    def __init__(self) -> None:
        # The last hash computed. Safe to reuse whoever committed it (or if its batch rolled
        # back): a position's hash depends only on the log up to it. Used only for the very
        # next position, so no event can sit between the two.
        self._last: tuple[int, str] | None = None
        self._pending: list[dict[str, Any]] | None = None  # rows of the open batch

    @contextmanager
    def batch(
        self, db: ReadDB, tables: Tables, events: Sequence[DomainEventProtocol[Any]]
    ) -> Iterator[None]:
        """Collect the batch's rows and insert them in one statement at its end."""
        self._pending = []
        try:
            yield
            if self._pending:
                db.executemany(
                    f"INSERT INTO {tables[TABLE]} (position, hash) VALUES (%(position)s, %(hash)s)",
                    self._pending,
                )
        finally:
            self._pending = None

    def _previous(self, db: ReadDB, table: str, position: int) -> str:
        if self._pending:  # events are applied in log order: the batch's last row
            return str(self._pending[-1]["hash"])
        if self._last is not None and self._last[0] == position - 1:
            return self._last[1]
        row = db.fetchone(
            f"SELECT hash FROM {table} WHERE position < %s ORDER BY position DESC LIMIT 1",
            [position],
        )
        return str(row["hash"]) if row else GENESIS

    def apply(
        self, event: DomainEventProtocol[Any], db: ReadDB, tables: Tables, stored: Notification
    ) -> None:
        table = tables[TABLE]
        digest = link(self._previous(db, table, stored.id), stored.id, stored)
        if self._pending is not None:
            self._pending.append({"position": stored.id, "hash": digest})
        else:
            db.execute(f"INSERT INTO {table} (position, hash) VALUES (%s, %s)", [stored.id, digest])
        self._last = (stored.id, digest)


def head_of_chain(db: ReadDB) -> Seal:
    """The last row of ``audit_chain`` (position 0 and ``GENESIS`` when the log is empty)."""
    row = db.fetchone(f"SELECT position, hash FROM {TABLE} ORDER BY position DESC LIMIT 1")
    if row is None:
        return Seal(0, GENESIS)
    return Seal(int(row["position"]), str(row["hash"]))


def seal(side: "ReadSide") -> Seal:
    """Catch the audit chain up with the log, then return its head position and hash.

    It seals what the ``audit_chain`` table says; it does not re-read the log. Verify the
    previous seal first (``verify_seal``) so that each seal vouches for the one before."""
    side.engine.catch_up([AuditChain.name])
    return head_of_chain(side.db)


Kind = Literal["edited", "deleted", "inserted"]


@dataclass(frozen=True)
class ChainBreak:
    """The first position where the log differs from what the chain recorded."""

    position: int
    kind: Kind

    def describe(self) -> str:
        what = {
            "edited": "the stored event was changed after it was hashed",
            "deleted": "the stored event was deleted",
            "inserted": "an event was inserted where the log had none",
        }[self.kind]
        return f"position {self.position}: {what}"


@dataclass(frozen=True)
class ChainScan:
    """What one pass over the log found."""

    events_hashed: int
    table_head: int  # the last position in audit_chain (0 when empty)
    first_break: ChainBreak | None
    hash_at: str | None  # the recomputed hash at the position asked for (None: no event)
    found_at: int | None  # the first position whose recomputed hash is the one looked for


def _recomputed(ledger: Ledger, stop: int, batch_size: int) -> Iterator[tuple[int, str]]:
    previous, after = GENESIS, 0
    while True:
        batch = ledger.recorder.select_notifications(start=after + 1, limit=batch_size, stop=stop)
        for notification in batch:
            previous = link(previous, notification.id, notification)
            yield notification.id, previous
        if len(batch) < batch_size:
            return
        after = batch[-1].id


def _stored(db: ReadDB, stop: int, batch_size: int) -> Iterator[tuple[int, str]]:
    after = 0
    while True:
        rows = db.fetchall(
            f"SELECT position, hash FROM {TABLE} WHERE position > %s AND position <= %s "
            "ORDER BY position LIMIT %s",
            [after, stop, batch_size],
        )
        for row in rows:
            yield int(row["position"]), str(row["hash"])
        if len(rows) < batch_size:
            return
        after = int(rows[-1]["position"])


def scan_chain(
    ledger: Ledger,
    db: ReadDB,
    *,
    stop: int,
    hash_at: int | None = None,
    look_for: str | None = None,
    batch_size: int = 1000,
) -> ChainScan:
    """Recompute the chain from the raw log up to ``stop`` beside the stored table and find
    the first break: the same position with another hash (edited), a position only the
    table has (deleted), or one only the log has (inserted). Positions after the table's
    head are not yet hashed and only recomputed. Memory stays bounded by ``batch_size``."""
    row = db.fetchone(f"SELECT MAX(position) AS head FROM {TABLE}")
    table_head = int(row["head"]) if row and row["head"] is not None else 0
    recomputed = _recomputed(ledger, stop, batch_size)
    stored = _stored(db, min(stop, table_head), batch_size)
    first: ChainBreak | None = None
    at: str | None = GENESIS if hash_at == 0 else None
    found: int | None = 0 if look_for == GENESIS else None
    hashed = 0
    mine, theirs = next(recomputed, None), next(stored, None)
    while mine is not None or theirs is not None:
        if mine is not None and (theirs is None or mine[0] <= theirs[0]):
            position, digest = mine
            hashed += 1
            if position == hash_at:
                at = digest
            if found is None and digest == look_for:
                found = position
            if first is None and position <= table_head:
                if theirs is None or position < theirs[0]:
                    first = ChainBreak(position, "inserted")
                elif digest != theirs[1]:
                    first = ChainBreak(position, "edited")
            if theirs is not None and position == theirs[0]:
                theirs = next(stored, None)
            mine = next(recomputed, None)
        else:
            assert theirs is not None
            if first is None:
                first = ChainBreak(theirs[0], "deleted")
            theirs = next(stored, None)
    return ChainScan(hashed, table_head, first, at, found)


@dataclass(frozen=True)
class SealCheck:
    """The outcome of checking a seal against the log."""

    seal: Seal
    ok: bool
    position: int | None  # where the seal was checked (None: its hash is nowhere)
    recomputed: str | None  # the hash the log gives at that position now
    events_hashed: int
    first_break: ChainBreak | None
    message: str


def _open_db(ledger: Ledger) -> ReadDB:
    s = ledger.settings
    return ReadDB(store_config(s.database_url, schema=s.postgres_schema))


def verify_seal(
    ledger: Ledger,
    seal_hash: Seal | str,
    position: int | None = None,
    *,
    db: ReadDB | None = None,
    batch_size: int = 1000,
) -> SealCheck:
    """Prove the log up to the sealed position is unchanged, or name the first position
    where a stored event was edited, deleted or inserted.

    ``seal_hash`` is ``<position>:<hex>`` (or a ``Seal``); a bare hash takes its position
    from ``position`` or, failing that, from the ``audit_chain`` table (or from the log
    itself, if the table lost it). It reads the table but never writes; catch the chain up
    first (``seal`` or the engine) so the table covers the sealed position."""
    wanted = seal_hash if isinstance(seal_hash, Seal) else parse_seal(seal_hash)
    if position is not None:
        wanted = Seal(position, wanted.hash)
    own = db is None
    db = db if db is not None else _open_db(ledger)
    try:
        return _verify(ledger, db, wanted, batch_size)
    finally:
        if own:
            db.close()


def _verify(ledger: Ledger, db: ReadDB, wanted: Seal, batch_size: int) -> SealCheck:
    head = int(ledger.recorder.max_notification_id() or 0)
    at = wanted.position
    if at is None:
        row = db.fetchone(f"SELECT position FROM {TABLE} WHERE hash = %s", [wanted.hash])
        at = int(row["position"]) if row else None
    if at is not None:
        scan = scan_chain(ledger, db, stop=max(at, 0), hash_at=at, batch_size=batch_size)
        ok = scan.hash_at == wanted.hash
    else:  # the table does not know the hash: look for it in the log itself
        scan = scan_chain(ledger, db, stop=head, look_for=wanted.hash, batch_size=batch_size)
        at = scan.found_at
        ok = at is not None
        scan = ChainScan(scan.events_hashed, scan.table_head, scan.first_break, None, at)
    recomputed = wanted.hash if ok and wanted.position is None else scan.hash_at
    if ok:
        message = f"the log up to position {at} is unchanged since it was sealed"
    elif at is None:
        message = "no position of the log has the sealed hash"
    elif at > head:
        message = f"the seal is at position {at}, beyond the head of the log ({head})"
    else:
        message = f"the log up to position {at} no longer gives the sealed hash"
    if not ok:
        if scan.first_break is not None:
            message += f"; first change at {scan.first_break.describe()}"
        else:
            message += (
                "; the audit_chain table agrees with the log, so the table was rebuilt or "
                "altered too (or the seal is from another ledger): the first change cannot "
                "be located from this store"
            )
    return SealCheck(
        seal=wanted,
        ok=ok,
        position=at,
        recomputed=recomputed,
        events_hashed=scan.events_hashed,
        first_break=scan.first_break if not ok else None,
        message=message,
    )


__all__ = [
    "GENESIS",
    "AuditChain",
    "ChainBreak",
    "ChainScan",
    "Seal",
    "SealCheck",
    "head_of_chain",
    "link",
    "parse_seal",
    "scan_chain",
    "seal",
    "verify_seal",
]
