"""Running jobs: one run with its lock, catch-up, summary line and ``job_runs`` row; the
long-running scheduler; and ``--once``.

Guarantees:
- a job never overlaps with itself: in this process each job has a lock taken without waiting
  (a firing that finds its job still running is skipped and logged); on PostgreSQL each run also
  holds a session advisory lock, so any number of runner replicas run each job once at a time;
- every run ends with one summary line (``event=job_finished``: start, end, duration,
  processed, succeeded, failed, skipped) and one ``job_runs`` row, whatever happened;
- SIGTERM/SIGINT sets the stop flag: jobs finish the item in hand and return, the runner waits
  for them (at most ``shutdown_grace`` seconds) and exits 0.

What it deliberately does not do: catch up missed schedules (``schedule`` runs what is due
now); instead every job runs once at start-up. On SQLite (the embedded default, one process)
there is no cross-process lock: run one runner.
"""

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg
import schedule

from jobs.base import JobContext, JobCounts, kv, log
from jobs.metrics import Metrics
from jobs.registry import BY_NAME, JOBS, JobSpec
from ledger.application import Ledger
from ledger.bootstrap import build_ledger
from ledger.clock import Clock, system_clock
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.persistence import store_config
from ledger.providers.port import PaymentProvider
from ledger.schema import ensure_schema
from projections.db import ReadDB
from projections.wiring import read_side


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    job: str
    status: str  # ok | failed | locked | interrupted
    started: datetime
    finished: datetime
    business_time: datetime
    counts: JobCounts

    @property
    def duration_ms(self) -> int:
        return int((self.finished - self.started).total_seconds() * 1000)


def lock_key(job: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``job``."""
    digest = hashlib.sha256(f"ledger.job:{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def business_clock(now: datetime | None, wall: Clock = system_clock) -> Clock:
    """The business clock of an invocation: the wall clock, or with ``--now`` the wall clock
    shifted so that it read ``now`` when the invocation started (time still passes)."""
    if now is None:
        return wall
    offset = now - wall()

    def clock() -> datetime:
        return wall() + offset

    return clock


class JobRunner:
    """Runs jobs on the configured store. Build once per process; thread-safe.

    ``ledger``: run on this ledger (the caller's, built by ``ledger.bootstrap``, with the same
    clocks and provider) instead of opening one here; ``close`` closes only what it opened."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        wall_clock: Clock = system_clock,
        provider: PaymentProvider | None = None,
        tokens: object | None = None,
        metrics: Metrics | None = None,
        shutdown_grace: float = 9.0,
        ledger: Ledger | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.wall_clock = wall_clock
        self.provider = provider
        self.tokens = tokens
        self.metrics = metrics
        self.shutdown_grace = shutdown_grace
        self.stop = threading.Event()
        self._running: dict[str, threading.Lock] = {spec.name: threading.Lock() for spec in JOBS}
        self._threads: list[threading.Thread] = []
        self._config = store_config(settings.database_url, schema=settings.postgres_schema)
        # job_runs and the other operational tables: refuses a schema older than this release
        ensure_schema(self._config)
        self._owns_ledger = ledger is None
        self.ledger = ledger or build_ledger(
            settings, create=True, clock=clock, wall_clock=wall_clock, provider=provider
        )

    def close(self) -> None:
        if self._owns_ledger:
            self.ledger.close()

    @contextmanager
    def _db(self) -> Iterator[ReadDB]:
        db = ReadDB(self._config)
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _advisory_lock(self, job: str) -> Iterator[bool]:
        """Hold ``job``'s PostgreSQL advisory lock for the block; yields False if another
        runner holds it. Always True on SQLite."""
        if self._config.kind != "postgres":
            yield True
            return
        assert self._config.conninfo is not None
        with psycopg.connect(self._config.conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(job)]).fetchone()
            acquired = bool(row and row[0])
            try:
                yield acquired
            finally:
                if acquired:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [lock_key(job)])

    # -- one run -------------------------------------------------------------------------

    def run(self, spec: JobSpec) -> RunRecord:
        """Run ``spec`` once now (unless it is running here or in another replica)."""
        guard = self._running[spec.name]
        if not guard.acquire(blocking=False):
            log.warning(kv(event="job_overlap_skipped", job=spec.name))
            return self._record(spec, "locked", self.wall_clock(), JobCounts(detail="running"))
        try:
            return self._run_locked(spec)
        finally:
            guard.release()

    def _run_locked(self, spec: JobSpec) -> RunRecord:
        started = self.wall_clock()
        run_id = str(uuid.uuid4())
        with self._advisory_lock(spec.name) as acquired:
            if not acquired:
                log.info(kv(event="job_locked_elsewhere", job=spec.name))
                return self._record(spec, "locked", started, JobCounts(detail="locked"), run_id)
            log.info(kv(event="job_started", job=spec.name, run_id=run_id))
            counts = JobCounts()
            status = "ok"
            try:
                with read_side(ledger=self.ledger, batch_size=1000) as side:
                    ctx = JobContext(
                        ledger=side.ledger,
                        db=side.db,
                        engine=side.engine,
                        settings=self.settings,
                        now=self.clock(),
                        run_id=run_id,
                        provider=self.provider,
                        tokens=self.tokens,
                        stop=self.stop,
                        batch_size=self.settings.job_batch_size,
                        concurrency=self.settings.provider_concurrency,
                    )
                    counts = spec.run(ctx)
                if counts.failed or counts.error:
                    status = "failed"
                elif self.stop.is_set():
                    status = "interrupted"
            except (LedgerError, psycopg.Error, OSError) as exc:
                status = "failed"
                counts.error = f"{type(exc).__name__}: {exc}"
                log.error(kv(event="job_crashed", job=spec.name, run_id=run_id, error=exc))
            except Exception as exc:  # a bug: record it, keep the runner alive
                status = "failed"
                counts.error = f"internal error ({type(exc).__name__})"
                log.exception(kv(event="job_crashed", job=spec.name, run_id=run_id))
            return self._record(spec, status, started, counts, run_id)

    def _record(
        self,
        spec: JobSpec,
        status: str,
        started: datetime,
        counts: JobCounts,
        run_id: str | None = None,
    ) -> RunRecord:
        record = RunRecord(
            run_id=run_id or str(uuid.uuid4()),
            job=spec.name,
            status=status,
            started=started,
            finished=self.wall_clock(),
            business_time=self.clock(),
            counts=counts,
        )
        c = record.counts
        log.info(
            kv(
                event="job_finished",
                job=record.job,
                run_id=record.run_id,
                status=record.status,
                start=record.started.isoformat(),
                end=record.finished.isoformat(),
                duration_ms=record.duration_ms,
                processed=c.processed,
                succeeded=c.succeeded,
                failed=c.failed,
                skipped=c.skipped,
                detail=c.error or c.detail,
            )
        )
        try:
            with self._db() as db, db.transaction():
                db.execute(
                    "INSERT INTO job_runs (id, job, status, startedAt, finishedAt, durationMs, "
                    "businessTime, processed, succeeded, failed, skipped, detail) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        record.run_id,
                        record.job,
                        record.status,
                        record.started,
                        record.finished,
                        record.duration_ms,
                        record.business_time,
                        c.processed,
                        c.succeeded,
                        c.failed,
                        c.skipped,
                        c.error or c.detail,
                    ],
                )
        except (psycopg.Error, OSError) as exc:
            log.error(kv(event="job_run_not_recorded", job=record.job, error=type(exc).__name__))
        if self.metrics is not None:
            self.metrics.observe(record)
        return record

    # -- several runs --------------------------------------------------------------------

    def run_once(self, names: Sequence[str] | None = None) -> list[RunRecord]:
        """Run the named jobs (default all, in the registry's order) one after another."""
        specs = [BY_NAME[name] for name in names] if names else list(JOBS)
        records = []
        for spec in specs:
            if self.stop.is_set():
                break
            records.append(self.run(spec))
        return records

    def _fire(self, spec: JobSpec) -> Callable[[], None]:
        def fire() -> None:
            if self.stop.is_set():
                return
            thread = threading.Thread(target=self.run, args=(spec,), name=spec.name, daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

        return fire

    def scheduler(self) -> schedule.Scheduler:
        """A ``schedule.Scheduler`` with every job at its cron times in LEDGER_TIMEZONE."""
        scheduler = schedule.Scheduler()
        for spec in JOBS:
            for job in spec.install(scheduler, self.settings.timezone, self._fire(spec)):
                job.tag(spec.name)
        return scheduler

    def run_forever(self, *, tick: float = 1.0) -> None:
        """Run every job once now, then on schedule, until ``stop`` is set; then wait for the
        jobs in hand (at most ``shutdown_grace`` seconds)."""
        scheduler = self.scheduler()
        for spec in JOBS:
            self._fire(spec)()
        while not self.stop.is_set():
            scheduler.run_pending()
            idle = scheduler.idle_seconds
            self.stop.wait(min(tick, max(idle or tick, 0.05)))
        deadline = time.monotonic() + self.shutdown_grace
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.0))
        log.info(kv(event="runner_stopped"))


def next_runs(settings: Settings) -> list[tuple[JobSpec, datetime]]:
    """Each job with its next firing time (timezone-aware), as the runner would schedule it."""
    scheduler = schedule.Scheduler()
    result = []
    for spec in JOBS:
        jobs = spec.install(scheduler, settings.timezone, lambda: None)
        soonest = min(j.next_run for j in jobs if j.next_run is not None)
        result.append((spec, soonest.astimezone()))
    return result


def recent_runs(
    db: ReadDB, *, job: str | None = None, limit: int = 20, oldest_first: bool = False
) -> list[dict[str, object]]:
    """The latest ``job_runs`` rows, newest first (the earliest with ``oldest_first``)."""
    where = "WHERE job = %s " if job else ""
    way = "" if oldest_first else " DESC"
    params: list[object] = [job] if job else []
    return [
        {key.lower(): value for key, value in row.items()}
        for row in db.fetchall(
            f"SELECT * FROM job_runs {where}ORDER BY startedAt{way} LIMIT %s",  # noqa: S608
            [*params, limit],
        )
    ]


__all__ = [
    "JobRunner",
    "RunRecord",
    "business_clock",
    "lock_key",
    "next_runs",
    "recent_runs",
]
