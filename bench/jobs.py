# ruff: noqa: E402
"""The scheduled jobs at scale, against the Paystack simulator and PostgreSQL.

Three measurements, each in a fresh PostgreSQL schema (dropped at the end), with the Paystack
simulator running as a separate process (``ledger simulator paystack``) so that its work does
not share this process's interpreter lock, as a real Paystack would not:

(a) ``check_pending_payments`` over ``--due`` (2,000) due payments with ``--latency-ms`` (50)
    per verify call: verified per second at ``--concurrency`` (8), beside the sequential rate
    (concurrency 1, over ``--sequential-sample`` (200) payments) and the ideal,
    concurrency / latency (160/s at 8 and 50 ms). Target: at least 70% of the ideal.
(b) the sweep's cost follows the due work, not the history: ``check_pending_payments`` over
    ``--history-due`` (1,000) due payments and as many requests unpaid for 49 hours (both
    sweeps of the job) in a store without history, and over as many again in a store with
    ``--settled`` (100,000) settled payments (released, failed, timed out) that are in the
    read tables (the projections are caught up before the clock starts). Target: at most 2x.
    Verify calls answer without added latency here, so the database's share is what shows.
(c) ``release_escrow_payments`` over ``--held`` (10,000) held payments of COMPLETED requests:
    releases per second, beside the raw batched INSERT rate of the same run (rows of a
    ``wallet_transactions``-like table, ``--insert-batch`` (500) rows per statement and per
    commit): the floor the database sets for writing that many rows.

The payments are built fast, with the domain itself rather than command by command: requests,
payments and reference claims (and for the history, whole lifecycles through
``ledger.domain.escrow``) are saved in bulk, thousands of aggregates per ``ledger.save(...)``.
Every job run is a ``JobRunner.run`` as ``ledger jobs run`` does it (catch-up, the job,
the summary line and the ``job_runs`` row), with a business clock set 25 hours after the
payments were made; the projections are caught up before each timed run.

The last line printed is one JSON object with every figure and ratio.

(a) and (b) run ``--repeat`` (3) rounds and report medians; (b)'s rounds alternate between the
two stores, so a burst of load from elsewhere slows both alike.

Run: ``.venv/bin/python bench/jobs.py``  (5 to 8 minutes on this 2-core machine; most of it
     building and projecting (b)'s history)
     ``.venv/bin/python bench/jobs.py --due 500 --settled 20000 --held 2000 --repeat 1``
     ``.venv/bin/python bench/jobs.py --only a``  (one measurement: a, b or c; repeatable)
"""

import argparse
import json
import logging
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
from psycopg import sql

# Keep this script's directory off the import path, so that ``jobs`` below is the package,
# not this file (hence E402 is ignored).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from jobs.registry import BY_NAME
from jobs.runner import JobRunner, RunRecord
from ledger.application import Ledger
from ledger.clock import FixedClock
from ledger.config import Settings, load_settings
from ledger.domain import escrow
from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.money import Money
from ledger.domain.reference import PaymentReference
from ledger.domain.request import Request
from ledger.domain.transaction import ReleaseTrigger, TimeoutReason, Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from projections.wiring import read_side

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "sk_test_bench_jobs"  # the simulator's key, not a real one
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # when the due payments are made
RUN_AT = T0 + timedelta(hours=25)  # business time of the job runs: the payments are due
CHUNK = 2000  # aggregates per bulk save
TARGET_OF_IDEAL = 0.70
TARGET_HISTORY_RATIO = 2.0


def log(message: str) -> None:
    print(message, flush=True)


# -- the simulator, in a process of its own ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Simulator:
    """``ledger simulator paystack`` as a child process, scripted over HTTP."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ledger_script = Path(sys.executable).parent / "ledger"
        env = {**os.environ, "PAYSTACK_SECRET_KEY": SECRET}
        self.process = subprocess.Popen(
            [str(ledger_script), "simulator", "paystack", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.http.get("/_sim/state", params={"probe": 1})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit("the Paystack simulator did not start") from None
                time.sleep(0.1)

    def script(self, script: dict[str, Any]) -> None:
        self.http.post("/_sim/script", json=script).raise_for_status()

    def reset(self) -> None:
        self.http.post("/_sim/reset").raise_for_status()

    def paid(self, payments: list["Due"], latency_ms: int) -> None:
        """Every payment verifies as paid in full; every call takes ``latency_ms``."""
        self.reset()
        refs = {
            p.reference: {"status": "success", "amount": p.amount, "currency": "NGN"}
            for p in payments
        }
        self.script({"latency_ms": latency_ms, "references": refs})

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- building the store in bulk ---------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    transaction_id: UUID
    reference: str
    amount: int


def stamp(at: datetime) -> Stamp:
    return Stamp(business=at, recorded=at)


def save_in_chunks(ledger: Ledger, aggregates: Iterator[LedgerAggregate]) -> int:
    """Save ``aggregates`` (each at most once) ``CHUNK`` at a time; return how many."""
    chunk: list[LedgerAggregate] = []
    count = 0
    for aggregate in aggregates:
        chunk.append(aggregate)
        if len(chunk) >= CHUNK:
            ledger.save(*chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        ledger.save(*chunk)
        count += len(chunk)
    return count


class Builder:
    """Users, wallets and payments, made with the domain and saved in bulk."""

    def __init__(self, ledger: Ledger, *, celebrities: int = 100, fans: int = 500) -> None:
        self.ledger = ledger
        at = stamp(T0 - timedelta(days=400))
        self.fans = [User.register(f"fan-{i}", "fan", at) for i in range(fans)]
        self.celebrities: list[User] = []
        self.wallets: dict[UUID, Wallet] = {}
        for i in range(celebrities):
            user = User.register(f"star-{i}", "celebrity", at)
            user.verify(at)
            self.celebrities.append(user)
            self.wallets[user.id] = Wallet.open(user.id, "NGN", at)
        save_in_chunks(ledger, iter([*self.fans, *self.celebrities, *self.wallets.values()]))
        self.n = 0

    def _pair(self) -> tuple[User, User]:
        self.n += 1
        return self.fans[self.n % len(self.fans)], self.celebrities[self.n % len(self.celebrities)]

    def due(self, count: int, at: datetime) -> list[Due]:
        """``count`` PENDING payments with a reference, made at ``at``."""
        made: list[Due] = []

        def aggregates() -> Iterator[LedgerAggregate]:
            s = stamp(at)
            for _ in range(count):
                fan, star = self._pair()
                price = Money(100_000 + 100 * (self.n % 5000), "NGN")
                request = Request.create(uuid4(), fan.id, star.id, price, s)
                reference = f"bench_{uuid4().hex}"
                txn = Transaction.initiate(request.id, reference, price, s)
                made.append(Due(txn.id, reference, price.amount))
                yield from (request, txn, PaymentReference.claim(reference, txn.id, s))

        save_in_chunks(self.ledger, aggregates())
        return made

    def unpaid(self, count: int, at: datetime) -> None:
        """``count`` PENDING requests never paid, made at ``at``."""

        def aggregates() -> Iterator[LedgerAggregate]:
            s = stamp(at)
            for _ in range(count):
                fan, star = self._pair()
                yield Request.create(uuid4(), fan.id, star.id, Money(100_000, "NGN"), s)

        save_in_chunks(self.ledger, aggregates())

    def held(self, count: int, at: datetime) -> list[Due]:
        """``count`` verified payments of COMPLETED requests, waiting for release."""
        made: list[Due] = []

        def aggregates() -> Iterator[LedgerAggregate]:
            s = stamp(at)
            for _ in range(count):
                fan, star = self._pair()
                price = Money(100_000 + 100 * (self.n % 5000), "NGN")
                request = Request.create(uuid4(), fan.id, star.id, price, s)
                reference = f"bench_{uuid4().hex}"
                txn = Transaction.initiate(request.id, reference, price, s)
                escrow.apply_success(
                    txn,
                    request,
                    received=price,
                    provider_status="success",
                    provider_transaction_id=str(self.n),
                    paid_at=at,
                    at=s,
                )
                request.complete(s)
                made.append(Due(txn.id, reference, price.amount))
                yield from (request, txn, PaymentReference.claim(reference, txn.id, s))

        save_in_chunks(self.ledger, aggregates())
        return made

    def settled(self, count: int, start: datetime) -> int:
        """``count`` finished payments, one a minute from ``start``: 80% released to the
        celebrity's wallet, 15% failed, 5% timed out without a reference. The wallets are
        saved once at the end (a wallet's credits in one save would be one huge stream)."""
        touched: dict[UUID, Wallet] = {}

        def aggregates() -> Iterator[LedgerAggregate]:
            for i in range(count):
                s = stamp(start + timedelta(minutes=i))
                fan, star = self._pair()
                price = Money(100_000 + 100 * (i % 5000), "NGN")
                request = Request.create(uuid4(), fan.id, star.id, price, s)
                kind = i % 20
                reference = None if kind == 19 else f"hist_{uuid4().hex}"
                txn = Transaction.initiate(request.id, reference, price, s)
                claim = [PaymentReference.claim(reference, txn.id, s)] if reference else []
                if kind == 19:
                    escrow.apply_timeout(txn, request, reason=TimeoutReason.NO_REFERENCE, at=s)
                elif kind >= 16:
                    escrow.apply_failure(
                        txn, request, reason="Declined", provider_status="failed", at=s
                    )
                else:
                    escrow.apply_success(
                        txn,
                        request,
                        received=price,
                        provider_status="success",
                        provider_transaction_id=str(i),
                        paid_at=s.business,
                        at=s,
                    )
                    request.complete(s)
                    wallet = self.wallets[star.id]
                    escrow.release(
                        txn,
                        request,
                        wallet,
                        fee_bps=0,
                        trigger=ReleaseTrigger.JOB,
                        run_id="history",
                        at=s,
                    )
                    touched[wallet.id] = wallet
                    if len(wallet.pending_events) > 500:  # keep the wallets' saves small
                        yield wallet
                yield from (request, txn, *claim)

        saved = save_in_chunks(self.ledger, aggregates())
        self.ledger.save(*touched.values())
        return saved


# -- measuring ----------------------------------------------------------------------------------


def catch_up(ledger: Ledger) -> int:
    with read_side(ledger=ledger, batch_size=5000) as side:
        return sum(side.engine.catch_up().values())


def run_job(
    settings: Settings, sim: Simulator, job: str, *, concurrency: int = 8
) -> tuple[RunRecord, float]:
    """One run of ``job`` by a fresh runner (empty aggregate cache), caught up first (not
    timed); returns the run's record and its wall-clock seconds."""
    client = PaystackClient(
        SECRET,
        base_url=sim.url,
        concurrency=concurrency,
        retry=RetryPolicy(max_retries=2, base_delay=0.05),
    )
    clock = FixedClock(RUN_AT)
    runner = JobRunner(settings, clock=clock, provider=client)
    try:
        catch_up(runner.ledger)
        started = time.perf_counter()
        record = runner.run(BY_NAME[job])
        seconds = time.perf_counter() - started
    finally:
        runner.close()
        client.close()
    if record.status != "ok":
        raise SystemExit(f"{job} run did not succeed: {record}")
    return record, seconds


def with_concurrency(settings: Settings, concurrency: int) -> Settings:
    return settings.model_copy(update={"provider_concurrency": concurrency})


class Store:
    """A fresh schema, a ledger on it and a builder; ``close`` drops the schema."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.schema = f"bench_jobs_{name}_{secrets.token_hex(4)}"
        self.settings = load_settings(LEDGER_DATABASE_URL=url, LEDGER_POSTGRES_SCHEMA=self.schema)
        self.ledger = Ledger.from_settings(self.settings)
        self.builder = Builder(self.ledger)
        self.batches = 0

    def sweep(
        self, sim: Simulator, count: int, *, latency_ms: int, concurrency: int, stale: int = 0
    ) -> float:
        """Make ``count`` due payments and ``stale`` requests unpaid for 49 hours (caught up,
        not timed), then time one ``check_pending_payments`` run over them (it verifies the
        payments and times the requests out); returns its seconds."""
        self.batches += 1
        due = self.builder.due(count, T0 + timedelta(minutes=self.batches))
        self.builder.unpaid(stale, T0 - timedelta(hours=24) + timedelta(minutes=self.batches))
        catch_up(self.ledger)
        sim.paid(due, latency_ms)
        settings = with_concurrency(self.settings, concurrency)
        record, seconds = run_job(settings, sim, "check_pending_payments", concurrency=concurrency)
        if record.counts.succeeded != count + stale:
            raise SystemExit(f"expected {count} + {stale} done, the run says {record.counts}")
        return seconds

    def close(self) -> None:
        self.ledger.close()
        with psycopg.connect(self.url, autocommit=True) as conn:
            drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
            conn.execute(drop.format(sql.Identifier(self.schema)))


def measure_verify(args: argparse.Namespace, sim: Simulator) -> dict[str, Any]:
    """(a): verified per second at concurrency N and 1, beside the ideal; the median of
    ``--repeat`` rounds, each over payments of its own."""
    store = Store(args.database_url, "verify")
    ideal = args.concurrency * 1000 / args.latency_ms
    ideal_one = 1000 / args.latency_ms
    rates: list[float] = []
    sequential: list[float] = []
    try:
        for round_ in range(1, args.repeat + 1):
            seconds = store.sweep(
                sim, args.sequential_sample, latency_ms=args.latency_ms, concurrency=1
            )
            sequential.append(args.sequential_sample / seconds)
            seconds = store.sweep(
                sim, args.due, latency_ms=args.latency_ms, concurrency=args.concurrency
            )
            rates.append(args.due / seconds)
            log(
                f"(a) round {round_}: sequential {sequential[-1]:.1f}/s "
                f"({args.sequential_sample} payments; ideal {ideal_one:.0f}/s); concurrency "
                f"{args.concurrency}: {rates[-1]:.1f}/s ({args.due} payments in {seconds:.2f}s; "
                f"ideal {ideal:.0f}/s)"
            )
    finally:
        store.close()
    rate, seq = statistics.median(rates), statistics.median(sequential)
    log(
        f"(a) median: {rate:.1f} verified/s at concurrency {args.concurrency} = "
        f"{rate / ideal:.0%} of the ideal {ideal:.0f}/s (target >= {TARGET_OF_IDEAL:.0%}: "
        f"{'met' if rate / ideal >= TARGET_OF_IDEAL else 'MISSED'}); sequential {seq:.1f}/s = "
        f"{seq / ideal_one:.0%} of {ideal_one:.0f}/s; {rate / seq:.1f}x sequential"
    )
    return {
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "due": args.due,
        "verified_per_s": round(rate, 1),
        "verified_per_s_rounds": [round(r, 1) for r in rates],
        "ideal_per_s": round(ideal, 1),
        "of_ideal": round(rate / ideal, 3),
        "target_of_ideal": TARGET_OF_IDEAL,
        "sequential_sample": args.sequential_sample,
        "sequential_per_s": round(seq, 1),
        "sequential_per_s_rounds": [round(r, 1) for r in sequential],
        "sequential_ideal_per_s": round(ideal_one, 1),
        "sequential_of_ideal": round(seq / ideal_one, 3),
        "speedup_vs_sequential": round(rate / seq, 2),
    }


def measure_history(args: argparse.Namespace, sim: Simulator) -> dict[str, Any]:
    """(b): the same due work in a store without history and in one with ``--settled``
    settled payments; rounds alternate between the two (so a burst of load elsewhere on the
    machine slows both alike); medians of ``--repeat`` rounds."""
    alone = Store(args.database_url, "alone")
    among = Store(args.database_url, "history")
    try:
        started = time.perf_counter()
        among.builder.settled(args.settled, T0 - timedelta(days=200))
        built_s = time.perf_counter() - started
        started = time.perf_counter()
        events = catch_up(among.ledger)
        caught_s = time.perf_counter() - started
        history_events = int(among.ledger.recorder.max_notification_id() or 0)
        log(
            f"(b) history: {args.settled} settled payments ({history_events} events) built in "
            f"{built_s:.1f}s and projected in {caught_s:.1f}s ({events} projector-events; "
            "not timed)"
        )
        alone_s: list[float] = []
        among_s: list[float] = []
        for round_ in range(1, args.repeat + 1):
            order = [(alone, alone_s), (among, among_s)]
            for store, times in order if round_ % 2 else reversed(order):
                times.append(
                    store.sweep(
                        sim,
                        args.history_due,
                        latency_ms=0,
                        concurrency=args.concurrency,
                        stale=args.history_due,
                    )
                )
            log(
                f"(b) round {round_}: {args.history_due} due payments and {args.history_due} "
                f"stale requests alone {alone_s[-1]:.2f}s, among "
                f"{args.settled} settled {among_s[-1]:.2f}s ({among_s[-1] / alone_s[-1]:.2f}x)"
            )
    finally:
        alone.close()
        among.close()
    ratio = statistics.median(among_s) / statistics.median(alone_s)
    log(
        f"(b) median: the due work among {args.settled} settled payments takes {ratio:.2f}x "
        f"the time of the same work alone (target <= {TARGET_HISTORY_RATIO}x: "
        f"{'met' if ratio <= TARGET_HISTORY_RATIO else 'MISSED'})"
    )
    return {
        "due": args.history_due,
        "stale_requests": args.history_due,
        "settled": args.settled,
        "history_events": history_events,
        "alone_seconds": round(statistics.median(alone_s), 3),
        "alone_seconds_rounds": [round(x, 3) for x in alone_s],
        "among_history_seconds": round(statistics.median(among_s), 3),
        "among_history_seconds_rounds": [round(x, 3) for x in among_s],
        "history_ratio": round(ratio, 3),
        "history_ratio_rounds": [round(b / a, 3) for a, b in zip(alone_s, among_s, strict=True)],
        "target_history_ratio": TARGET_HISTORY_RATIO,
        "history_build_seconds": round(built_s, 1),
        "history_catch_up_seconds": round(caught_s, 1),
    }


RAW_DDL = (
    "CREATE TABLE raw_{name} (id TEXT PRIMARY KEY, walletId TEXT, requestId TEXT NOT NULL, "
    "amount BIGINT NOT NULL, currency TEXT NOT NULL, reference TEXT, status TEXT NOT NULL, "
    "escrowStatus TEXT NOT NULL, createdAt TIMESTAMPTZ NOT NULL, updatedAt TIMESTAMPTZ NOT NULL)"
)
RAW_INSERT = (
    "INSERT INTO raw_{name} (id, walletId, requestId, amount, currency, reference, status, "
    "escrowStatus, createdAt, updatedAt) VALUES "
)


def measure_raw_inserts(settings: Settings, rows: int, batch: int, name: str) -> float:
    """Rows per second: multi-row INSERTs of ``batch`` rows into a fresh table, one commit
    per statement (the parameters are built before the clock starts)."""
    row = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    statements: list[tuple[str, list[Any]]] = []
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        params: list[Any] = []
        for _ in range(n):
            params += [str(uuid4()), str(uuid4()), str(uuid4()), 100_000, "NGN"]
            params += [f"raw_{uuid4().hex}", "COMPLETED", "RELEASED", T0, T0]
        statements.append((RAW_INSERT.format(name=name) + ", ".join([row] * n), params))
    options = f"-c search_path={settings.postgres_schema}"
    with psycopg.connect(settings.database_url, autocommit=True, options=options) as conn:
        conn.execute(RAW_DDL.format(name=name))
        started = time.perf_counter()
        for text, params in statements:
            conn.execute(text, params)
        return rows / (time.perf_counter() - started)


def measure_release(args: argparse.Namespace, sim: Simulator) -> dict[str, Any]:
    """(c): releases per second, beside raw batched inserts of as many rows measured just
    before and just after the release run (their mean is the baseline)."""
    store = Store(args.database_url, "release")
    try:
        held = store.builder.held(args.held, T0)
        catch_up(store.ledger)
        raw_before = measure_raw_inserts(store.settings, args.held, args.insert_batch, "before")
        record, seconds = run_job(store.settings, sim, "release_escrow_payments")
        raw_after = measure_raw_inserts(store.settings, args.held, args.insert_batch, "after")
        if record.counts.succeeded != len(held):
            raise SystemExit(f"expected {len(held)} releases, the run says {record.counts}")
        wallets = store.builder.wallets.values()
        balances = sum(store.ledger.repository.get(w.id).balance for w in wallets)
    finally:
        store.close()
    expected = sum(h.amount for h in held)
    if balances != expected:
        raise SystemExit(f"the wallets hold {balances}, expected {expected}")
    rate = len(held) / seconds
    raw = (raw_before + raw_after) / 2
    log(
        f"(c) {len(held)} released in {seconds:.2f}s = {rate:.1f}/s; raw batched INSERT "
        f"({args.insert_batch} rows a statement and a commit): {raw_before:,.0f} rows/s before, "
        f"{raw_after:,.0f} after; releases/raw = {rate / raw:.4f}; wallets hold exactly what "
        "was released"
    )
    return {
        "held": len(held),
        "release_seconds": round(seconds, 3),
        "released_per_s": round(rate, 1),
        "raw_insert_batch": args.insert_batch,
        "raw_inserts_per_s": round(raw, 1),
        "raw_inserts_per_s_before_after": [round(raw_before, 1), round(raw_after, 1)],
        "release_vs_raw": round(rate / raw, 4),
        "wallet_balances_match": True,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL (env LEDGER_BENCH_DATABASE_URL; default %(default)s)",
    )
    parser.add_argument("--due", type=int, default=2000, help="(a) due payments")
    parser.add_argument("--latency-ms", type=int, default=50, help="(a) simulator latency")
    parser.add_argument("--concurrency", type=int, default=8, help="(a) verify calls in flight")
    parser.add_argument(
        "--sequential-sample", type=int, default=200, help="(a) payments verified one by one"
    )
    parser.add_argument(
        "--history-due", type=int, default=1000, help="(b) due payments (and stale requests)"
    )
    parser.add_argument("--settled", type=int, default=100_000, help="(b) settled history")
    parser.add_argument("--held", type=int, default=10_000, help="(c) held payments")
    parser.add_argument("--insert-batch", type=int, default=500, help="(c) rows per INSERT")
    parser.add_argument("--repeat", type=int, default=3, help="(a), (b) rounds (medians)")
    parser.add_argument(
        "--only", choices=["a", "b", "c"], action="append", help="run only these (repeatable)"
    )
    args = parser.parse_args(argv)
    sizes = (args.due, args.latency_ms, args.concurrency, args.sequential_sample)
    if min(*sizes, args.history_due, args.settled, args.held, args.insert_batch, args.repeat) < 1:
        parser.error("sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    only = set(args.only or ["a", "b", "c"])
    result: dict[str, Any] = {"load_average_start": round(os.getloadavg()[0], 2)}
    sim = Simulator()
    try:
        if "a" in only:
            result["verify"] = measure_verify(args, sim)
        if "b" in only:
            result["history"] = measure_history(args, sim)
        if "c" in only:
            result["release"] = measure_release(args, sim)
    finally:
        sim.close()
    result.update(
        load_average_end=round(os.getloadavg()[0], 2),
        python=platform.python_version(),
        cpus=os.cpu_count(),
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
