# ruff: noqa: E402
"""Projection catch-up events/s on PostgreSQL, beside two baselines measured in the same run.

What it does, against ONE PostgreSQL database, in a fresh schema (dropped at the end):

1. *Generates* ``--events`` events (default 200,000) with the domain itself, not command by
   command: request lifecycles are built in memory (``User.register``, ``Request.create``,
   ``Transaction.initiate`` + ``PaymentReference.claim``, ``escrow.apply_success``,
   ``request.complete``, ``escrow.release`` + the wallet credit, and a realistic share of
   failures, time-outs, flagged payments, refunds, resolutions and wallet payouts), one stage
   of each lifecycle per "wave", so a request's events spread over several waves as they do in
   production; each wave is ONE ``ledger.save(...)`` of every aggregate it changed (thousands
   of events per transaction, through the ledger's own recorder and mapper).
2. Measures, on the same events:

   - ``raw``: ``ledger.recorder.select_notifications`` in batches of ``--batch-size`` and
     ``ledger.mapper.to_domain_event`` for each: the floor any projector pays to read and
     decode the log (run with the same garbage-collector setting as the engine's catch-up,
     ``projections.engine.fewer_collections``, so the ratio compares like with like);
   - ``library``: eventsourcing's own ``ProjectionRunner`` (``eventsourcing.projection``) with
     a ``Projection`` whose view is a ``PostgresTrackingRecorder`` subclass that upserts one
     ``wallet_transactions``-like row per event and records the tracking position in the same
     transaction, committing per event as the library does; it is slow, so it runs over the
     first ``--library-events`` events only (default 20,000) and its events/s is over those;
   - ``engine``: our ``ProjectionEngine`` catching ``LedgerTables`` (users, requests, wallets,
     wallet_transactions, ledger_entries) up from position 0 over every event, with its
     guarantees (rows and position committed together once per batch); its events/s over the
     library's prefix is printed as well, so both ratios compare like with like. ``raw`` and
     ``engine`` alternate over the same slices of the log (the library's prefix first, then
     ``--slices`` parts; raw first, then engine first, ...), so a burst of load from
     elsewhere on this shared machine hits both alike; each figure sums its slices;
   - ``rebuild``: ``engine.rebuild("ledger_tables")`` in a child process, its events/s and its
     peak memory: the child's resident-set high-water mark during the rebuild minus its RSS
     just before (``/proc/self/clear_refs`` resets the mark; Linux only). It is measured at
     ``--small-events`` (default 50,000), at 200,000 and at ``--events`` as the log grows, to
     show the peak does not grow with the number of events.

The last line printed is one JSON object with every figure and ratio.
Targets: engine >= 15 x library, engine >= 0.40 x raw.

Run: ``.venv/bin/python bench/projections.py [--events 200000] [--database-url URL]``
     ``.venv/bin/python bench/projections.py --events 1000000``
"""

import argparse
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg import sql

# This script is named like the package it measures: keep its own directory off the import
# path, so that ``projections`` below is the package, not this file (hence E402 is ignored).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from ledger.application import Ledger
from ledger.config import Settings, load_settings
from ledger.domain import escrow
from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.money import Money
from ledger.domain.reference import PaymentReference
from ledger.domain.request import DeclineReason, Request
from ledger.domain.transaction import ReleaseTrigger, TimeoutReason, Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.persistence import store_config
from projections.db import ReadDB
from projections.engine import (
    DEFAULT_BATCH_SIZE,
    ProjectionEngine,
    fewer_collections,
    read_position,
)
from projections.ledger_tables import LedgerTables

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
CELEBRITIES = 300
FEE_BPS = 250
TARGET_VS_LIBRARY = 15.0
TARGET_VS_RAW = 0.40

# -- 1. generating the log -----------------------------------------------------------------

# How requests end (weights in percent): mostly paid, completed and released.
PLANS = {
    "released": 64,
    "held": 4,  # paid, not yet completed
    "celebrity_declined": 5,  # paid, then declined: refunded, refund confirmed
    "failed": 8,
    "failed_late_success": 2,  # failed, then the money arrives: flagged, refunded
    "timed_out": 5,
    "unpaid_timed_out": 3,  # no payment at all: a failed transaction is recorded
    "mismatch_refunded": 2,  # amount mismatch: flagged, refunded, confirmed
    "mismatch_resolved": 2,  # amount mismatch: flagged, resolved by an operator
    "pending": 5,  # still waiting for the provider
}

Stage = list[LedgerAggregate]


class History:
    """Grows the ledger's log with request lifecycles, one wave (one save) at a time."""

    def __init__(self, ledger: Ledger, *, wave: int = 450, seed: int = 7) -> None:
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.wave = wave  # new requests per wave
        self.n = 0  # waves so far
        self.requests = 0
        self.active: list[Iterator[Stage]] = []
        self.fans: list[UUID] = []
        self.plan_names = list(PLANS)
        self.plan_weights = list(PLANS.values())
        at = self.at()
        setup: Stage = []
        self.celebrities: list[tuple[UUID, dict[str, Wallet]]] = []
        for i in range(CELEBRITIES):
            user = User.register(f"celebrity-{i}", "celebrity", at)
            user.verify(at)
            wallets = {"NGN": Wallet.open(user.id, "NGN", at)}
            if i % 5 == 0:
                wallets["GHS"] = Wallet.open(user.id, "GHS", at)
            setup += [user, *wallets.values()]
            self.celebrities.append((user.id, wallets))
        self.ledger.save(*setup)
        self.payouts = 0

    def at(self) -> Stamp:
        t = START + timedelta(minutes=10 * self.n)
        return Stamp(business=t, recorded=t)

    def head(self) -> int:
        return int(self.ledger.recorder.max_notification_id() or 0)

    def grow_to(self, events: int) -> int:
        """Save waves until the log holds at least ``events`` events; return the head."""
        head = self.head()
        while head < events:
            self.n += 1
            plans = self.rng.choices(self.plan_names, self.plan_weights, k=self.wave)
            fresh = [self._lifecycle(plan) for plan in plans]
            changed: dict[UUID, LedgerAggregate] = {}
            going: list[Iterator[Stage]] = []
            for lifecycle in [*self.active, *fresh]:
                stage = next(lifecycle, None)
                if stage is None:
                    continue
                going.append(lifecycle)
                for aggregate in stage:
                    changed.setdefault(aggregate.id, aggregate)
            self.active = going
            for aggregate in self._payouts():
                changed.setdefault(aggregate.id, aggregate)
            self.ledger.save(*changed.values())
            head = self.head()
        return head

    def _payouts(self) -> Stage:
        """A few celebrities take their balance out (``WalletDebited``)."""
        out: Stage = []
        for _, wallets in self.rng.sample(self.celebrities, 3):
            wallet = wallets["NGN"]
            if wallet.balance > 0:
                self.payouts += 1
                amount = max(1, wallet.balance // 2)
                wallet.debit(Money(amount, "NGN"), f"payout-{self.payouts}", self.at())
                out.append(wallet)
        return out

    def _fan(self, at: Stamp) -> tuple[UUID, Stage]:
        if self.fans and self.rng.random() < 0.7:
            return self.rng.choice(self.fans), []
        fan = User.register(f"fan-{uuid4().hex}", "fan", at)
        if self.rng.random() < 0.5:
            fan.verify(at)
        self.fans.append(fan.id)
        if len(self.fans) > 5000:
            self.fans = self.fans[-5000:]
        return fan.id, [fan]

    def _lifecycle(self, plan: str) -> Iterator[Stage]:
        """The stages of one request, one per wave."""
        rng, at = self.rng, self.at()
        self.requests += 1
        celebrity, wallets = rng.choice(self.celebrities)
        currency = "GHS" if "GHS" in wallets and rng.random() < 0.5 else "NGN"
        price = Money(rng.randrange(100_000, 5_000_000, 100), currency)
        fan, fan_stage = self._fan(at)
        request = Request.create(uuid4(), fan, celebrity, price, at)
        if plan == "unpaid_timed_out":
            yield [*fan_stage, request]
            yield escrow.time_out_request(request, None, self.at())
            return
        reference = None if plan == "timed_out" and rng.random() < 0.5 else f"ref_{uuid4().hex}"
        txn = Transaction.initiate(request.id, reference, price, at)
        claim = [PaymentReference.claim(reference, txn.id, at)] if reference else []
        yield [*fan_stage, request, txn, *claim]
        if plan == "pending":
            return

        def success(received: Money) -> Stage:
            return escrow.apply_success(
                txn,
                request,
                received=received,
                provider_status="success",
                provider_transaction_id=str(rng.randrange(10**9)),
                paid_at=self.at().business,
                at=self.at(),
            )

        if plan == "timed_out":
            reason = TimeoutReason.UNRESOLVED if reference else TimeoutReason.NO_REFERENCE
            yield escrow.apply_timeout(txn, request, reason=reason, at=self.at())
            return
        if plan.startswith("failed"):
            yield escrow.apply_failure(
                txn, request, reason="Declined", provider_status="failed", at=self.at()
            )
            if plan == "failed_late_success":
                yield success(price)  # PaymentFlagged(late_success)
                yield from self._refund(txn)
            return
        if plan.startswith("mismatch"):
            yield success(Money(price.amount - 100, currency))  # PaymentFlagged(amount_mismatch)
            if plan == "mismatch_resolved":
                txn.resolve(operator="ops", note="settled by bank transfer", at=self.at())
                yield [txn]
            else:
                yield from self._refund(txn)
            return
        yield success(price)  # PaymentVerified + RequestPaid
        if plan == "held":
            return
        if plan == "celebrity_declined":
            refund = f"rfd_{uuid4().hex[:16]}"
            yield escrow.decline(
                request,
                txn,
                reason=DeclineReason.CELEBRITY_DECLINED,
                at=self.at(),
                refund_reference=refund,
            )
            txn.confirm_refund(refund, self.at())
            yield [txn]
            return
        request.complete(self.at())
        yield [request]
        yield escrow.release(
            txn,
            request,
            wallets[currency],
            fee_bps=FEE_BPS,
            trigger=ReleaseTrigger.JOB,
            run_id=f"run-{self.n}",
            at=self.at(),
        )

    def _refund(self, txn: Transaction) -> Iterator[Stage]:
        refund = f"rfd_{uuid4().hex[:16]}"
        txn.refund(reason="flagged payment", refund_reference=refund, at=self.at(), operator="ops")
        yield [txn]
        txn.confirm_refund(refund, self.at())
        yield [txn]


# -- 2. the measurements ---------------------------------------------------------------------


def bench_settings(url: str, schema: str) -> Settings:
    return load_settings(LEDGER_DATABASE_URL=url, LEDGER_POSTGRES_SCHEMA=schema)


def read_db(settings: Settings) -> ReadDB:
    return ReadDB(store_config(settings.database_url, schema=settings.postgres_schema))


def read_and_decode(ledger: Ledger, after: int, stop: int, batch_size: int) -> int:
    """The raw baseline: ``select_notifications`` in batches after ``after`` up to ``stop``
    and ``to_domain_event`` for each; returns how many events it read."""
    select, decode = ledger.recorder.select_notifications, ledger.mapper.to_domain_event
    count = 0
    with fewer_collections():  # the same collector setting as the engine's catch-up
        while after < stop:
            notifications = select(start=after + 1, limit=batch_size, stop=stop)
            if not notifications:
                break
            for notification in notifications:
                decode(notification)
            count += len(notifications)
            after = notifications[-1].id
    return count


class LibraryView(PostgresTrackingRecorder):
    """The library's materialised view: one ``wallet_transactions``-like row per aggregate,
    upserted per event in the same transaction as the tracking record."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        table = sql.Identifier(datastore.schema, "library_rows")
        self.sql_create_statements.append(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                "amount BIGINT, status TEXT NOT NULL, version BIGINT NOT NULL, "
                "events BIGINT NOT NULL, createdAt TIMESTAMPTZ NOT NULL, "
                "updatedAt TIMESTAMPTZ NOT NULL)"
            ).format(table)
        )
        self.upsert_statement = sql.SQL(
            "INSERT INTO {} AS t (id, kind, amount, status, version, events, createdAt, "
            "updatedAt) VALUES (%(id)s, %(kind)s, %(amount)s, %(status)s, %(version)s, 1, "
            "%(at)s, %(at)s) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, "
            "amount = COALESCE(excluded.amount, t.amount), status = excluded.status, "
            "version = excluded.version, events = t.events + 1, updatedAt = excluded.updatedAt"
        ).format(table)

    def upsert(self, row: dict[str, Any], tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.upsert_statement, row, prepare=True)
            self._insert_tracking(curs, tracking)


class LibraryProjection(Projection[LibraryView]):
    name = "benchlibrary"
    target = 0  # set before the runner starts: the position whose processing stops the clock
    finished_at = 0.0

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        event: Any = domain_event
        row = {
            "id": str(event.originator_id),
            "kind": type(event).__qualname__,
            "amount": getattr(event, "amount", None),
            "status": type(event).__name__,
            "version": event.originator_version,
            "at": event.timestamp,
        }
        self.view.upsert(row, tracking)
        if tracking.notification_id >= type(self).target and not type(self).finished_at:
            type(self).finished_at = time.perf_counter()


def measure_library(settings: Settings, events: int) -> tuple[int, float]:
    """The library's ProjectionRunner over the first ``events`` events: (events, seconds)."""
    config = store_config(settings.database_url, schema=settings.postgres_schema)

    class BenchLedger(Ledger):
        name = "Ledger"  # the same events table as the ledger's

        def __init__(self, env: Any = None) -> None:
            super().__init__(env, settings=settings)

    LibraryProjection.target, LibraryProjection.finished_at = events, 0.0
    started = time.perf_counter()
    runner = ProjectionRunner(
        application_class=BenchLedger,
        projection_class=LibraryProjection,
        view_class=LibraryView,
        env=config.env,
    )
    with runner:
        deadline = time.monotonic() + 3600
        while not LibraryProjection.finished_at:
            runner.run_forever(timeout=0.05)  # re-raises an error of the processing thread
            if time.monotonic() > deadline:
                raise SystemExit("library runner did not reach the target in an hour")
    return events, LibraryProjection.finished_at - started


def reset_ledger_tables(db: ReadDB) -> None:
    """Drop the read tables and their position, so the next catch-up starts from 0."""
    with db.transaction():
        for view in LedgerTables.views:  # a view would pin the tables on PostgreSQL
            db.execute(f"DROP VIEW IF EXISTS {view}")
        for logical in LedgerTables.tables:
            db.execute(f"DROP TABLE IF EXISTS {logical}")
        if db.table_exists("projection_tracking"):
            db.execute("DELETE FROM projection_tracking WHERE name = %s", [LedgerTables.name])


def slice_bounds(head: int, first: int, slices: int, batch_size: int) -> list[int]:
    """Where the interleaved slices end: ``first``, then ``slices`` equal parts of the rest,
    rounded to whole batches."""
    bounds = [min(first, head)]
    rest = head - bounds[0]
    for i in range(1, slices + 1):
        end = bounds[0] + round(rest * i / slices / batch_size) * batch_size
        if end > bounds[-1]:
            bounds.append(min(end, head))
    if bounds[-1] != head:
        bounds.append(head)
    return bounds


def measure_catch_up(
    ledger: Ledger, db: ReadDB, batch_size: int, first: int, slices: int
) -> dict[str, Any]:
    """The raw baseline and the engine's catch-up of LedgerTables from position 0, on the
    same events, alternating slice by slice (raw then engine, engine then raw, ...) so
    that load from elsewhere on the machine hits both alike. The first slice is the
    library's prefix."""
    reset_ledger_tables(db)
    projector = LedgerTables()
    engine = ProjectionEngine(ledger, db, [projector], batch_size=batch_size)
    assert read_position(db, projector.name) == 0
    head = engine.head()
    raw = {"events": 0, "seconds": 0.0, "first_seconds": 0.0}
    eng = {"events": 0, "seconds": 0.0, "first_seconds": 0.0}
    after = 0
    for number, stop in enumerate(slice_bounds(head, first, slices, batch_size)):
        order = ("raw", "engine") if number % 2 == 0 else ("engine", "raw")
        for which in order:
            started = time.perf_counter()
            if which == "raw":
                raw["events"] += read_and_decode(ledger, after, stop, batch_size)
            else:
                eng["events"] += engine.catch_up_one(projector, stop=stop)
            seconds = time.perf_counter() - started
            part = raw if which == "raw" else eng
            part["seconds"] += seconds
            if number == 0:
                part["first_seconds"] = seconds
        after = stop
    assert raw["events"] == eng["events"] == head, (raw, eng, head)
    return {"raw": raw, "engine": eng, "first": min(first, head), "slices": number + 1}


def table_digests(db: ReadDB) -> dict[str, str]:
    """An order-independent-of-storage digest of each read table's contents."""
    order = {"ledger_entries": "position, line"}
    return {
        table: str(
            (
                db.fetchone(
                    f"SELECT md5(string_agg(t::text, '|' ORDER BY {order.get(table, 'id')})) "
                    f"AS digest, COUNT(*) AS n FROM {table} t"
                )
                or {}
            ).get("digest")
        )
        for table in LedgerTables.tables
    }


def books(db: ReadDB) -> dict[str, Any]:
    """Sanity figures of the projected tables."""
    sums = db.fetchall(
        "SELECT currency, CAST(SUM(debit) - SUM(credit) AS BIGINT) AS diff "
        "FROM ledger_entries GROUP BY currency"
    )
    counts = {
        table: int((db.fetchone(f"SELECT COUNT(*) AS n FROM {table}") or {"n": 0})["n"])
        for table in LedgerTables.tables
    }
    return {"rows": counts, "balanced": all(int(r["diff"]) == 0 for r in sums)}


def measure_rebuild(args: argparse.Namespace, schema: str, size: int) -> dict[str, Any]:
    """Run ``engine.rebuild`` in a child process; its JSON line back."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--rebuild-child",
        "--database-url",
        args.database_url,
        "--schema",
        schema,
        "--batch-size",
        str(args.batch_size),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"rebuild child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["log_size"] = size
    return result


def _proc_status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def rebuild_child(args: argparse.Namespace) -> int:
    settings = bench_settings(args.database_url, args.schema)
    ledger = Ledger.from_settings(settings)
    db = read_db(settings)
    try:
        engine = ProjectionEngine(ledger, db, [LedgerTables()], batch_size=args.batch_size)
        head = engine.head()
        rss_before = _proc_status_kb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark (VmHWM)
        started = time.perf_counter()
        replayed = engine.rebuild(LedgerTables.name)
        seconds = time.perf_counter() - started
        peak = _proc_status_kb("VmHWM")
        digests = table_digests(db)
    finally:
        db.close()
        ledger.close()
    print(
        json.dumps(
            {
                "events": replayed,
                "head": head,
                "seconds": round(seconds, 3),
                "events_per_s": round(replayed / seconds, 1),
                "rss_before_mb": round(rss_before / 1024, 1),
                "rss_peak_mb": round(peak / 1024, 1),
                "rss_peak_delta_mb": round((peak - rss_before) / 1024, 1),
                "digests": digests,
            }
        )
    )
    return 0


# -- driver ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the log")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL (env LEDGER_BENCH_DATABASE_URL; default %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help="events per batch (raw reads and engine; default %(default)s)",
    )
    parser.add_argument(
        "--library-events",
        type=int,
        default=20_000,
        help="events the library's runner processes (a prefix of the log)",
    )
    parser.add_argument(
        "--small-events",
        type=int,
        default=50_000,
        help="log size of the first rebuild-memory measurement",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=4,
        help="raw and engine alternate over this many slices after the library's prefix",
    )
    parser.add_argument("--rebuild-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rebuild_child:
        return args
    if min(args.events, args.batch_size, args.library_events, args.small_events, args.slices) < 1:
        parser.error("sizes must be positive")
    args.library_events = min(args.library_events, args.events)
    return args


def server_settings(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        out = {}
        for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            out[name] = str(row[0]) if row else ""
        return out


def log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rebuild_child:
        return rebuild_child(args)
    url = args.database_url
    schema = f"bench_proj_{secrets.token_hex(5)}"
    settings = bench_settings(url, schema)
    sizes = sorted({s for s in (args.small_events, 200_000) if s < args.events} | {args.events})
    result: dict[str, Any] = {"events_target": args.events, "batch_size": args.batch_size}
    rebuilds: dict[str, dict[str, Any]] = {}
    ledger = Ledger.from_settings(settings)  # creates the schema
    db = read_db(settings)
    try:
        history = History(ledger)
        generated = 0.0
        for size in sizes:
            started = time.perf_counter()
            head = history.grow_to(size)
            generated += time.perf_counter() - started
            log(
                f"log: {head} events ({history.requests} requests, {history.n} saves, "
                f"{generated:.1f}s generating)"
            )
            if size != sizes[-1]:
                rebuilds[str(head)] = measure_rebuild(args, schema, head)
                log(f"rebuild at {head}: {_describe_rebuild(rebuilds[str(head)])}")
        events = history.head()
        result.update(
            events=events,
            requests=history.requests,
            saves=history.n + 1,
            events_per_save=round(events / (history.n + 1), 1),
            generate_seconds=round(generated, 1),
        )

        lib_events, lib_s = measure_library(settings, args.library_events)
        lib_rate = lib_events / lib_s
        log(
            f"library ProjectionRunner: first {lib_events} events in {lib_s:.2f}s = "
            f"{lib_rate:,.0f} ev/s (a prefix of the log: one commit per event)"
        )

        both = measure_catch_up(ledger, db, args.batch_size, lib_events, args.slices)
        raw, eng = both["raw"], both["engine"]
        raw_rate = raw["events"] / raw["seconds"]
        eng_rate = eng["events"] / eng["seconds"]
        eng_prefix_rate = both["first"] / eng["first_seconds"]
        caught_up = books(db)
        digests = table_digests(db)
        log(
            f"raw read+decode: {raw['events']} events in {raw['seconds']:.2f}s = "
            f"{raw_rate:,.0f} ev/s"
        )
        log(
            f"engine catch-up from 0: {eng['events']} events in {eng['seconds']:.2f}s = "
            f"{eng_rate:,.0f} ev/s (first {both['first']}: {eng_prefix_rate:,.0f} ev/s); "
            f"interleaved with raw in {both['slices']} slices; rows {caught_up['rows']}, "
            f"ledger balanced: {caught_up['balanced']}"
        )
        rebuilds[str(events)] = measure_rebuild(args, schema, events)
        final = rebuilds[str(events)]
        log(f"rebuild at {events}: {_describe_rebuild(final)}")
        same = final.pop("digests") == digests
        for entry in rebuilds.values():
            entry.pop("digests", None)
    finally:
        db.close()
        ledger.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    peaks = [r["rss_peak_delta_mb"] for r in rebuilds.values()]
    result.update(
        raw_events=raw["events"],
        raw_events_per_s=round(raw_rate, 1),
        raw_seconds=round(raw["seconds"], 3),
        raw_prefix_events_per_s=round(both["first"] / raw["first_seconds"], 1),
        library_events=lib_events,
        library_events_per_s=round(lib_rate, 1),
        library_seconds=round(lib_s, 3),
        library_scope=f"first {lib_events} events of the log",
        engine_events=eng["events"],
        engine_events_per_s=round(eng_rate, 1),
        engine_seconds=round(eng["seconds"], 3),
        interleaved_slices=both["slices"],
        engine_prefix_events_per_s=round(eng_prefix_rate, 1),
        engine_vs_library=round(eng_prefix_rate / lib_rate, 2),
        engine_vs_library_overall=round(eng_rate / lib_rate, 2),
        engine_vs_raw=round(eng_rate / raw_rate, 3),
        target_engine_vs_library=TARGET_VS_LIBRARY,
        target_engine_vs_raw=TARGET_VS_RAW,
        rebuild_events_per_s=final["events_per_s"],
        rebuild_vs_raw=round(final["events_per_s"] / raw_rate, 3),
        rebuild_equals_catch_up=same,
        rebuild_peak_rss_delta_mb={size: r["rss_peak_delta_mb"] for size, r in rebuilds.items()},
        rebuild_peak_growth=round(max(peaks) / max(min(peaks), 0.1), 2),
        rebuilds=rebuilds,
        tables_balanced=caught_up["balanced"],
        rows=caught_up["rows"],
        python=platform.python_version(),
        cpus=os.cpu_count(),
        **server_settings(url),
    )
    ok_lib = result["engine_vs_library"] >= TARGET_VS_LIBRARY
    ok_raw = result["engine_vs_raw"] >= TARGET_VS_RAW
    log(
        f"engine/library {result['engine_vs_library']}x on the same {lib_events} events "
        f"(target >= {TARGET_VS_LIBRARY}: {'met' if ok_lib else 'MISSED'}); "
        f"engine/raw {result['engine_vs_raw']} (target >= {TARGET_VS_RAW}: "
        f"{'met' if ok_raw else 'MISSED'}); rebuild peak RSS delta by log size (MB): "
        f"{result['rebuild_peak_rss_delta_mb']}"
    )
    print(json.dumps(result))
    return 0


def _describe_rebuild(r: dict[str, Any]) -> str:
    return (
        f"{r['events']} events in {r['seconds']}s = {r['events_per_s']:,.0f} ev/s, "
        f"peak RSS +{r['rss_peak_delta_mb']} MB over {r['rss_before_mb']} MB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
