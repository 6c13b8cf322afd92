"""How the jobs are doing, from ``job_runs`` (every runner's runs, whichever replica ran
them), and the runner's thread that refreshes the gauges at least every minute.

For each job: when its last run ended (``ok``, ``degraded``, ``failed`` or ``interrupted``:
a run that happened; ``locked`` firings are another replica's turn and do not count), that
run's status, and how many runs in a row ended ``failed`` or ``degraded`` (interrupted runs
neither break nor extend the streak). Alerts are built on these: "failed or degraded N runs
in a row", "not run on schedule".

``GaugeRefresher`` reads these and ``projections.gauges.read_figures`` every
``LEDGER_METRICS_REFRESH`` (30 s) and hands them to the metrics; a failure to read is the
database watch's business (one log line per outage) and leaves the last values in place,
with ``ledger_database_up`` 0.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from ledger.clock import Clock
from ledger.outage import DatabaseWatch, is_connection_error
from projections.db import ReadDB
from projections.gauges import Figures

log = logging.getLogger("ledger.jobs")

UNHEALTHY = ("failed", "degraded")
RAN = ("ok", "degraded", "failed", "interrupted")
HISTORY = 50  # runs looked at per job: a streak is counted up to this


@dataclass(frozen=True)
class JobHealth:
    job: str
    last_finished: datetime | None  # None: never ran
    last_status: str | None
    unhealthy_streak: int


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def job_health(db: ReadDB, jobs: Iterable[str]) -> dict[str, JobHealth]:
    """Each job's health from its latest ``job_runs`` rows (an index range per job)."""
    result: dict[str, JobHealth] = {}
    exists = db.table_exists("job_runs")
    for job in jobs:
        rows = (
            db.fetchall(
                "SELECT status, finishedAt AS finished FROM job_runs WHERE job = %s "
                "AND status <> 'locked' ORDER BY startedAt DESC LIMIT %s",
                [job, HISTORY],
            )
            if exists
            else []
        )
        ran = [row for row in rows if row["status"] in RAN]
        streak = 0
        for row in ran:
            if row["status"] == "interrupted":
                continue
            if row["status"] not in UNHEALTHY:
                break
            streak += 1
        last = ran[0] if ran else None
        result[job] = JobHealth(
            job=job,
            last_finished=_time(last["finished"]) if last else None,
            last_status=str(last["status"]) if last else None,
            unhealthy_streak=streak,
        )
    return result


Show = Callable[[Figures, dict[str, JobHealth]], None]
Read = Callable[[ReadDB], tuple[Figures, dict[str, JobHealth]]]


class GaugeRefresher:
    """A daemon thread: every ``interval`` seconds, open the read side, read the figures and
    hand them to ``show``, until ``stop`` is set."""

    def __init__(
        self,
        open_db: Callable[[], ReadDB],
        read: Read,
        show: Show,
        *,
        interval: float,
        watch: DatabaseWatch,
        stop: threading.Event,
        clock: Clock,
    ) -> None:
        self._open_db = open_db
        self._read = read
        self._show = show
        self.interval = interval
        self._watch = watch
        self._stop = stop
        self._clock = clock
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Read and show the figures once; False when the database could not be read."""
        try:
            db = self._open_db()
            try:
                figures, health = self._read(db)
            finally:
                db.close()
        except Exception as exc:
            if is_connection_error(exc):
                self._watch.failed(exc)
            else:  # a bug or a missing table: say so, keep the runner and the old values
                log.warning("event=gauges_not_refreshed error=%s", type(exc).__name__)
            return False
        self._watch.ok()
        self._show(figures, health)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gauges", daemon=True)
        self._thread.start()


__all__ = ["HISTORY", "GaugeRefresher", "JobHealth", "job_health"]
