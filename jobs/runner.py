"""Running jobs: one run with its lock, catch-up, summary line and ``job_runs`` row; the
long-running scheduler; and ``--once``.

Guarantees:
- a job never overlaps with itself: in this process each job has a lock taken without waiting
  (a firing that finds its job still running is skipped and logged); on PostgreSQL each run also
  holds a session advisory lock, so any number of runner replicas run each job once at a time;
- every run ends with one summary line (``event=job_finished``: status, start, end, duration,
  processed, succeeded, failed, skipped, attention) and one ``job_runs`` row, whatever
  happened. The status is ``ok``, ``degraded`` (finished, but the job reported something a
  person must look at, or items failed), ``failed`` (it could not do its work), ``locked``
  or ``interrupted``. An idle run of an every-minute job (nothing changed, nothing to look
  at) logs at debug, so an idle runner writes nothing at info;
- the database going away never ends the process: a run that loses its connection waits for
  the database (backoff with jitter, one log line when it goes and one when it is back) and
  starts again from the beginning; nothing it did is undone or done twice (each command is
  one transaction, and every job is idempotent);
- SIGTERM/SIGINT sets the stop flag: jobs finish the item in hand and return, the runner waits
  for them (at most ``shutdown_grace`` seconds) and exits 0.

What it deliberately does not do: catch up missed schedules (``schedule`` runs what is due
now); instead every job runs once at start-up. On SQLite (the embedded default, one process)
there is no cross-process lock: run one runner.
"""

import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import psycopg
import schedule

from jobs.base import JobContext, JobCounts, kv, log
from jobs.health import GaugeRefresher, JobHealth, job_health
from jobs.metrics import Metrics
from jobs.registry import BY_NAME, JOBS, JobSpec
from ledger.application import Ledger
from ledger.bootstrap import build_ledger
from ledger.clock import Clock, system_clock
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.outage import DatabaseWatch, describe, is_connection_error, probe_database
from ledger.persistence import store_config
from ledger.providers.port import PaymentProvider
from ledger.schema import ensure_schema
from ledger.schema.dialect import CONNECT_TIMEOUT
from projections.db import ReadDB
from projections.gauges import Figures, read_figures
from projections.wiring import default_projectors, read_side

# ok: done, nothing needs a person; degraded: done, but something needs a person (the run's
# attention reasons); failed: the run could not do its work; locked: another runner had it;
# interrupted: stopped (SIGTERM) before the end.
STATUSES = ("ok", "degraded", "failed", "locked", "interrupted")


class _DatabaseLost(Exception):
    """A run met a lost database connection: retried from its start once it is back."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(describe(error))
        self.error = error


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    job: str
    status: str  # one of STATUSES
    started: datetime
    finished: datetime
    business_time: datetime
    counts: JobCounts

    @property
    def duration_ms(self) -> int:
        return int((self.finished - self.started).total_seconds() * 1000)

    @property
    def idle(self) -> bool:
        """Nothing happened that anyone needs to read about (logged at debug when frequent)."""
        c = self.counts
        return self.status == "ok" and not (c.succeeded or c.failed or c.attention)


def run_status(counts: JobCounts, *, stopped: bool) -> str:
    """A finished run's status from its counts (failed items count as attention)."""
    if counts.error:
        return "failed"
    if stopped:
        return "interrupted"
    if counts.failed:
        counts.attention.setdefault("items_failed", counts.failed)
    return "degraded" if counts.attention else "ok"


_INSERT_RUN = (
    "INSERT INTO job_runs (id, job, status, startedAt, finishedAt, durationMs, businessTime, "
    "processed, succeeded, failed, skipped, detail) VALUES "
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
)


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
        jobs: Sequence[JobSpec] = JOBS,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.wall_clock = wall_clock
        self.provider = provider
        self.tokens = tokens
        self.metrics = metrics
        self.shutdown_grace = shutdown_grace
        self.stop = threading.Event()
        self.jobs = tuple(jobs)  # what this runner schedules (``--only``, ``--skip``)
        self._running: dict[str, threading.Lock] = {spec.name: threading.Lock() for spec in JOBS}
        self._threads: list[threading.Thread] = []
        self._config = store_config(settings.database_url, schema=settings.postgres_schema)
        # job_runs and the other operational tables: refuses a schema older than this release
        ensure_schema(self._config)
        self._owns_ledger = ledger is None
        self.ledger = ledger or build_ledger(
            settings, create=True, clock=clock, wall_clock=wall_clock, provider=provider
        )
        self.watch = DatabaseWatch(
            partial(probe_database, self._config),
            log=log,
            max_delay=settings.reconnect_max_delay.total_seconds(),
            on_change=metrics.database_up if metrics is not None else None,
        )
        self.gauges: GaugeRefresher | None = None
        if metrics is not None:
            with read_side(ledger=self.ledger):
                pass  # the read tables exist before the first refresh reads them
            self.gauges = GaugeRefresher(
                lambda: ReadDB(self._config),
                self._read_gauges,
                metrics.show,
                interval=settings.metrics_refresh.total_seconds(),
                watch=self.watch,
                stop=self.stop,
                clock=clock,
            )

    def _read_gauges(self, db: ReadDB) -> tuple[Figures, dict[str, JobHealth]]:
        projectors = [projector.name for projector in default_projectors()]
        figures = read_figures(db, now=self.clock(), projectors=projectors)
        return figures, job_health(db, [spec.name for spec in JOBS])

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
        conn = psycopg.connect(
            self._config.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
        )
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(job)]).fetchone()
            acquired = bool(row and row[0])
            yield acquired
            if acquired:
                # A session that was cut meanwhile has released the lock already (another
                # runner may then have started the job too: the commands' optimistic
                # concurrency keeps that safe); the run that finished stays finished.
                with contextlib.suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", [lock_key(job)])
        finally:
            # Closing the session releases the lock too (also when the block raised).
            with contextlib.suppress(psycopg.Error):
                conn.close()

    # -- one run -------------------------------------------------------------------------

    def run(self, spec: JobSpec) -> RunRecord:
        """Run ``spec`` once now (unless it is running here or in another replica).

        A run that loses the database connection is not recorded: the runner waits for the
        database (``DatabaseWatch``: one log line when it goes, one when it is back) and runs
        the job again from its start. Jobs are idempotent and each command is one
        transaction, so what the cut run did stays done and is not done twice."""
        guard = self._running[spec.name]
        if not guard.acquire(blocking=False):
            up = self.watch.up  # when down, the job in hand is waiting for the database
            log.log(
                logging.WARNING if up else logging.DEBUG,
                kv(event="job_overlap_skipped", job=spec.name),
            )
            counts = JobCounts(detail="running")
            return self._record(spec, "locked", self.wall_clock(), counts, store=up)
        try:
            while True:
                started = self.wall_clock()
                try:
                    record = self._run_locked(spec, started)
                except _DatabaseLost as lost:
                    self.watch.failed(lost.error)
                    log.debug(kv(event="job_waits_for_database", job=spec.name))
                    if not self.watch.wait_until_up(self.stop):
                        counts = JobCounts(detail="stopped while the database was unavailable")
                        return self._record(spec, "interrupted", started, counts, store=False)
                    log.info(kv(event="job_restarted", job=spec.name, reason="database_back"))
                    continue
                return record
        finally:
            guard.release()

    def _run_locked(self, spec: JobSpec, started: datetime) -> RunRecord:
        run_id = str(uuid.uuid4())
        quiet = logging.DEBUG if spec.frequent else logging.INFO
        try:
            with self._advisory_lock(spec.name) as acquired:
                self.watch.ok()  # it answered
                if not acquired:
                    log.log(quiet, kv(event="job_locked_elsewhere", job=spec.name))
                    counts = JobCounts(detail="locked")
                    return self._record(spec, "locked", started, counts, run_id)
                return self._run_body(spec, started, run_id, quiet)
        except _DatabaseLost:
            raise
        except Exception as exc:
            if is_connection_error(exc):
                raise _DatabaseLost(exc) from exc
            raise

    def _run_body(self, spec: JobSpec, started: datetime, run_id: str, quiet: int) -> RunRecord:
        log.log(quiet, kv(event="job_started", job=spec.name, run_id=run_id))
        counts = JobCounts()
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
            status = run_status(counts, stopped=self.stop.is_set())
        except Exception as exc:
            if is_connection_error(exc):
                raise _DatabaseLost(exc) from exc
            status = "failed"
            if isinstance(exc, LedgerError | psycopg.Error | OSError):
                counts.error = f"{type(exc).__name__}: {exc}"
                log.error(kv(event="job_crashed", job=spec.name, run_id=run_id, error=exc))
            else:  # a bug: record it, keep the runner alive
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
        *,
        store: bool = True,
    ) -> RunRecord:
        """The summary line, the ``job_runs`` row (unless ``store`` is False: the database
        is gone) and the metrics of a run. An idle run of a frequent job logs at debug."""
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
        detail = "; ".join(part for part in (c.error, c.detail) if part) or None
        log.log(
            logging.DEBUG if spec.frequent and record.idle else logging.INFO,
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
                attention=c.attention_text(),
                detail=detail,
            ),
        )
        if store:
            self._store(record, "; ".join(p for p in (detail, c.attention_text()) if p) or None)
        if self.metrics is not None:
            self.metrics.observe(record)
        return record

    def _store(self, record: RunRecord, detail: str | None) -> None:
        """Insert the ``job_runs`` row; across a lost connection, again once the database is
        back (the run id is the key: a row that did land is not written twice)."""
        c = record.counts
        row = [
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
            detail,
        ]
        while True:
            try:
                with self._db() as db, db.transaction():
                    db.execute(_INSERT_RUN, row)
                return
            except (psycopg.Error, OSError) as exc:
                if is_connection_error(exc):
                    self.watch.failed(exc)
                    # A run's row is worth waiting for; a skipped firing's is not.
                    if record.status != "locked" and self.watch.wait_until_up(self.stop):
                        continue
                log.error(
                    kv(event="job_run_not_recorded", job=record.job, error=type(exc).__name__)
                )
                return

    # -- several runs --------------------------------------------------------------------

    def run_once(self, names: Sequence[str] | None = None) -> list[RunRecord]:
        """Run the named jobs (default this runner's, in the registry's order) one after
        another; then refresh the gauges once, if there are metrics."""
        specs = [BY_NAME[name] for name in names] if names else list(self.jobs)
        records = []
        for spec in specs:
            if self.stop.is_set():
                break
            records.append(self.run(spec))
        if self.gauges is not None:
            self.gauges.refresh()
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
        """A ``schedule.Scheduler`` with this runner's jobs at their cron times in
        LEDGER_TIMEZONE."""
        scheduler = schedule.Scheduler()
        for spec in self.jobs:
            for job in spec.install(scheduler, self.settings.timezone, self._fire(spec)):
                job.tag(spec.name)
        return scheduler

    def run_forever(self, *, tick: float = 1.0) -> None:
        """Run this runner's jobs once now, then on schedule, until ``stop`` is set (and
        refresh the gauges meanwhile, with metrics); then wait for the jobs in hand (at most
        ``shutdown_grace`` seconds)."""
        scheduler = self.scheduler()
        if self.gauges is not None:
            self.gauges.start()
        for spec in self.jobs:
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
    "STATUSES",
    "JobRunner",
    "RunRecord",
    "business_clock",
    "lock_key",
    "next_runs",
    "recent_runs",
    "run_status",
]
