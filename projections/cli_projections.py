"""``ledger projections run | status | rebuild``: operate the read-table projectors.

``run`` follows the event log until SIGTERM/SIGINT (then exits 0), outlasting database
outages; ``--projector NAME`` follows one projector only (one follower per projection);
``--metrics-port`` serves its metrics; ``run --once`` catches up and exits. ``status`` shows
each projector's position, the head of the log and the lag (in events, and in seconds since
the oldest event not yet applied). ``rebuild`` replays into fresh tables and swaps them in
with one transaction (readers never see a missing or partial table).
"""

import logging
import threading
from datetime import datetime
from functools import partial
from typing import Any

import click

from ledger.cli.context import app_context
from ledger.cli.output import Format, emit_rows, format_option
from ledger.errors import InvalidInput
from ledger.logs import configure_logging
from ledger.outage import DatabaseWatch, probe_database
from projections.engine import DEFAULT_BATCH_SIZE, Progress
from projections.follower_metrics import FollowerMetrics
from projections.progress import ProgressReporter
from projections.runner import follow, install_signal_handlers
from projections.wiring import ReadSide, default_projectors, read_side

log = logging.getLogger("ledger.projections")


def _open(*, create: bool, batch_size: int = DEFAULT_BATCH_SIZE) -> Any:
    """The read side. ``run`` is a service and creates a missing store (start order does
    not matter); ``status`` and ``rebuild`` only derive from what is stored and refuse a
    store that holds no ledger (``ledger.bootstrap``)."""
    ctx = click.get_current_context()
    return read_side(ledger=app_context().ledger(ctx, create=create), batch_size=batch_size)


batch_option = click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Events applied and committed together.",
)


@click.group(name="projections")
def projections() -> None:
    """Keep the read tables (wallet_transactions, requests, wallets, users, ledger_entries)
    up to date with the event log."""


@projections.command("run")
@click.option("--once", is_flag=True, help="Catch up to the head of the log, then exit.")
@click.option(
    "--projector",
    "names",
    multiple=True,
    help="Follow only this projector (repeatable; default all): one follower per projection.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.05, 60.0),
    default=0.5,
    show_default=True,
    help="Seconds between checks on SQLite; the safety-net timeout of LISTEN on PostgreSQL.",
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
@batch_option
def run(
    once: bool,
    names: tuple[str, ...],
    poll_interval: float,
    metrics_port: int | None,
    metrics_host: str,
    batch_size: int,
) -> None:
    """Follow the event log until SIGTERM or SIGINT (exit 0). Each batch commits its rows and
    position together, so stopping anywhere loses nothing; the database going away is waited
    out (logged once), never fatal."""
    known = [projector.name for projector in default_projectors()]  # checked before the store
    for name in names:
        if name not in known:
            raise InvalidInput(f"unknown projector {name!r}: expected one of {', '.join(known)}")
    chosen = list(names) or known
    settings = app_context().settings()
    configure_logging(settings.log_level, settings.log_format)
    with _open(create=True, batch_size=batch_size) as side:
        if once:
            applied = side.engine.catch_up(chosen)
            click.echo(" ".join(f"{name}={count}" for name, count in applied.items()))
            return
        stop = threading.Event()
        metrics = FollowerMetrics(chosen) if metrics_port else None
        watch = DatabaseWatch(
            partial(probe_database, side.db.config),
            log=log,
            max_delay=settings.reconnect_max_delay.total_seconds(),
            on_change=metrics.database_up if metrics is not None else None,
        )

        def report(applied: dict[str, int]) -> None:
            if metrics is not None:
                metrics.observe(applied, side.engine.db)
            if any(applied.values()):
                log.info("event=caught_up %s", " ".join(f"{k}={v}" for k, v in applied.items()))

        with install_signal_handlers(stop):
            if metrics is not None and metrics_port is not None:
                metrics.serve(metrics_port, metrics_host)
            log.info(
                "event=projections_started projectors=%s poll_interval_s=%s",
                ",".join(chosen),
                poll_interval,
            )
            follow(
                side.engine,
                stop,
                poll_interval=poll_interval,
                on_caught_up=report,
                names=chosen,
                watch=watch,
            )
        log.info("event=projections_stopped")


def _lag_seconds(side: ReadSide, progress: Progress) -> float:
    if progress.position >= progress.head:
        return 0.0
    pending = side.ledger.recorder.select_notifications(start=progress.position + 1, limit=1)
    if not pending:
        return 0.0
    event = side.ledger.mapper.to_domain_event(pending[0])
    recorded: datetime = getattr(event, "recorded_at", None) or event.timestamp  # type: ignore[attr-defined]
    return max((side.ledger.wall_clock() - recorded).total_seconds(), 0.0)


@projections.command("status")
@format_option
def status(fmt: Format) -> None:
    """Each projector's position, the head of the log, and the lag in events and seconds."""
    with _open(create=False) as side:
        rows = [
            {
                "projector": p.projector,
                "position": p.position,
                "head": p.head,
                "lag_events": p.head - p.position,
                "lag_seconds": round(_lag_seconds(side, p), 3),
            }
            for p in side.engine.status()
        ]
    emit_rows(rows, ["projector", "position", "head", "lag_events", "lag_seconds"], fmt)


@projections.command("rebuild")
@click.argument("name", required=False)
@batch_option
def rebuild(name: str | None, batch_size: int) -> None:
    """Replay the whole log into fresh tables and swap them in with one transaction (all
    projectors, or NAME). Shows a progress bar on a terminal, log lines otherwise."""
    names = [projector.name for projector in default_projectors()]  # checked before the store
    if name is not None and name not in names:
        raise InvalidInput(f"unknown projector {name!r}: expected one of {', '.join(names)}")
    with _open(create=False, batch_size=batch_size) as side:
        for chosen in [name] if name else names:
            reporter = ProgressReporter()
            replayed = side.engine.rebuild(chosen, on_batch=reporter)
            reporter.done()
            click.echo(f"rebuilt {chosen}: {replayed} events replayed and swapped in")


__all__ = ["projections"]
