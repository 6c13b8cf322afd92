"""``ledger jobs run | list | status``: the job runner and what it did.

``run`` is the long-running runner (every job once at start-up, then on schedule, until
SIGTERM/SIGINT, exit 0); ``--only NAME`` / ``--skip NAME`` choose the jobs it schedules (the
notification sender runs as ``run --only send_notifications`` beside a ``run --skip
send_notifications``); ``run --once`` runs them now in a sensible order and exits 1 if any
failed or ended degraded; ``--job NAME`` runs one; ``--now ISO8601`` sets the business time of
the invocation: a time more than ``FUTURE_GRACE`` (a minute) ahead of the wall clock is refused
(exit 2) unless ``--allow-future``, since every event the run writes is stamped with it. In
every mode SIGTERM/SIGINT stop the jobs after the item in hand (exit 0). It logs in the one
format of ``ledger.logs``.
"""

import signal
import threading
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

import click

from jobs.metrics import Metrics
from jobs.registry import BY_NAME, JOBS
from jobs.runner import JobRunner, business_clock, next_runs, recent_runs
from ledger.bootstrap import Components, read_store
from ledger.cli.context import app_context
from ledger.cli.output import Format, emit_rows, format_option
from ledger.clock import parse_instant, system_clock
from ledger.errors import InvalidInput
from ledger.logs import configure_logging
from ledger.views import View
from projections.db import ReadDB

FUTURE_GRACE = timedelta(minutes=1)


@click.group(name="jobs")
def jobs() -> None:
    """The scheduled jobs: verify missed payments, time out requests, release escrow,
    create wallets, refresh the Flutterwave token."""


job_names = click.Choice([spec.name for spec in JOBS], case_sensitive=False)


@jobs.command("run")
@click.option("--once", is_flag=True, help="Run every job (or --job) now, then exit.")
@click.option(
    "--job",
    "names",
    multiple=True,
    type=job_names,
    help="Run only this job (repeatable). Implies --once.",
)
@click.option(
    "--only",
    multiple=True,
    type=job_names,
    help="Schedule only this job (repeatable): e.g. the notification sender as its own service.",
)
@click.option(
    "--skip",
    multiple=True,
    type=job_names,
    help="Schedule every job but this one (repeatable): the one another service runs.",
)
@click.option("--now", "now_text", help="Business time of this invocation (ISO 8601 with offset).")
@click.option(
    "--allow-future",
    is_flag=True,
    help="Accept a --now more than a minute ahead of the wall clock (events are stamped with it).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    envvar="LEDGER_METRICS_PORT",
    help="Serve Prometheus metrics on PORT (env LEDGER_METRICS_PORT).",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    envvar="LEDGER_METRICS_HOST",
    help="Address the metrics listen on (env LEDGER_METRICS_HOST; 0.0.0.0: every interface).",
)
def run(
    once: bool,
    names: tuple[str, ...],
    only: tuple[str, ...],
    skip: tuple[str, ...],
    now_text: str | None,
    allow_future: bool,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Run the jobs: on schedule until SIGTERM/SIGINT (exit 0), or with --once / --job now
    (exit 1 if any run failed or ended degraded). The database going away never stops it:
    runs wait for it and start again."""
    if only and skip:
        raise InvalidInput("give --only or --skip, not both")
    chosen = [spec for spec in JOBS if (spec.name in only if only else spec.name not in skip)]
    if not chosen:
        raise InvalidInput("--skip leaves no job to run")
    now = parse_instant(now_text) if now_text else None
    if now is not None and not allow_future and now - system_clock() > FUTURE_GRACE:
        raise InvalidInput(
            f"--now {now.isoformat()} is in the future: events would be stamped ahead of time; "
            "pass --allow-future if that is what you want"
        )
    settings = app_context().settings()
    configure_logging(settings.log_level, settings.log_format)
    clock = business_clock(now)
    parts = Components(settings, create=True, clock=clock)  # closed below
    metrics = Metrics(chosen) if metrics_port else None
    try:
        runner = JobRunner(
            settings,
            clock=clock,
            provider=parts.provider(),
            tokens=parts.tokens(),
            metrics=metrics,
            ledger=parts.ledger(),
            jobs=chosen,
        )
    except BaseException:
        parts.close()
        raise
    stop = runner.stop

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    # In both modes: the jobs in hand finish their item and the command exits 0 (--once too:
    # a stopped run is "interrupted", not failed). The previous handlers come back at the end.
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, handle)
    try:
        if metrics is not None and metrics_port is not None:
            metrics.serve(metrics_port, metrics_host)
        if once or names:
            records = runner.run_once(list(names) or None)
            if any(r.status in ("failed", "degraded") for r in records):
                raise click.exceptions.Exit(1)
            return
        runner.run_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runner.close()
        parts.close()


@jobs.command("list")
@format_option
def list_jobs(fmt: Format) -> None:
    """The jobs, their schedules (cron, in LEDGER_TIMEZONE) and next run times."""
    settings = app_context().settings()
    rows: list[View] = [
        {
            "job": spec.name,
            "cron": spec.cron,
            "when": spec.when,
            "timezone": settings.timezone,
            "next_run": when.isoformat(),
        }
        for spec, when in next_runs(settings)
    ]
    emit_rows(rows, ["job", "cron", "when", "timezone", "next_run"], fmt)


@jobs.command("status")
@click.option(
    "--job", "job", type=click.Choice(list(BY_NAME), case_sensitive=False), help="Only this job."
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--oldest-first", is_flag=True, help="The earliest runs first.")
@format_option
def status(job: str | None, limit: int, oldest_first: bool, fmt: Format) -> None:
    """The latest runs (newest first): outcome, times and counts."""
    db = ReadDB(read_store(app_context().settings()))  # refuses a store without a ledger
    try:
        if not db.table_exists("job_runs"):
            raise InvalidInput("no job has run yet on this store (no job_runs table)")
        rows = recent_runs(db, job=job, limit=limit, oldest_first=oldest_first)
    finally:
        db.close()
    views: list[View] = [
        {
            "job": str(r["job"]),
            "status": str(r["status"]),
            "started": _iso(r["startedat"]),
            "duration_ms": _int(r["durationms"]),
            "business_time": _iso(r["businesstime"]),
            "processed": _int(r["processed"]),
            "succeeded": _int(r["succeeded"]),
            "failed": _int(r["failed"]),
            "skipped": _int(r["skipped"]),
            "detail": None if r["detail"] is None else str(r["detail"]),
            "run_id": str(r["id"]),
        }
        for r in rows
    ]
    columns = [
        "job",
        "status",
        "started",
        "duration_ms",
        "business_time",
        "processed",
        "succeeded",
        "failed",
        "skipped",
        "detail",
    ]
    emit_rows(views, [*columns, "run_id"] if fmt != "table" else columns, fmt)


def _int(value: object) -> int:
    return int(str(value))


def _iso(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


__all__ = ["jobs"]
