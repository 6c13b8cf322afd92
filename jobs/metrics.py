"""Prometheus metrics of the job runner (``ledger jobs run --metrics-port P``).

After every run: ``ledger_job_runs_total{job_name,status}`` (ok, degraded, failed, locked,
interrupted), ``ledger_job_items_total{job_name,outcome}``, ``ledger_job_attention_total
{job_name,reason}`` (what a degraded run asks a person to look at),
``ledger_job_duration_seconds{job_name}``.

Refreshed by the runner at least every minute (``jobs.health.GaugeRefresher``), from the read
tables and ``job_runs`` (so every replica shows the same figures, whoever ran the jobs):

- ``ledger_money_held_minor_units{currency}``, ``ledger_oldest_held_payment_age_seconds
  {currency}`` (the figures of ``ledger report summary``);
- ``ledger_payments_pending_verification``, ``ledger_oldest_pending_payment_age_seconds``;
- ``ledger_payments_in_review{reason}``, ``ledger_oldest_review_age_seconds``;
- ``ledger_releases_deferred{reason}``; ``ledger_refunds_unresolved``;
- ``ledger_notifications{status,channel}``, ``ledger_oldest_due_notification_age_seconds``;
- ``ledger_projection_lag_events{projector}``;
- ``ledger_job_last_run_timestamp_seconds{job_name}``, ``ledger_job_last_status{job_name,
  status}`` (1 for the last run's status), ``ledger_job_unhealthy_streak{job_name}`` (runs in
  a row failed or degraded), ``ledger_job_schedule_interval_seconds{job_name}``;
- ``ledger_gauges_refreshed_timestamp_seconds``; and ``ledger_database_up`` (on every
  change of the database watch).

The ledger's job is the label ``job_name`` (``job`` is Prometheus's own target label: a
scraped ``job`` would be renamed ``exported_job``). Metrics carry no ids, amounts of single
payments, or secrets. ``_created`` series are off; the counters' series exist at 0 from the
start (for each scheduled job: every status, ``items_failed`` and the job's own attention
reasons), so ``increase()`` sees their first run.
"""

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

from jobs.health import JobHealth
from jobs.registry import JOBS, JobSpec
from ledger.metrics import database_up_gauge, new_registry, serve
from projections.gauges import Figures

if TYPE_CHECKING:
    from jobs.runner import RunRecord

LAST_STATUSES = ("ok", "degraded", "failed", "interrupted")
STATUSES = (*LAST_STATUSES, "locked")


def _gauge(name: str, doc: str, labels: Sequence[str], metrics: "Metrics") -> Gauge:
    return Gauge(name, doc, list(labels), registry=metrics.registry)


class Metrics:
    """The runner's metrics, in a registry of their own."""

    def __init__(self, jobs: Sequence[JobSpec] = JOBS) -> None:
        self.registry = new_registry()
        self.jobs = tuple(jobs)
        r = self.registry
        self.runs = Counter(
            "ledger_job_runs", "Job runs by status", ["job_name", "status"], registry=r
        )
        self.items = Counter(
            "ledger_job_items", "Items processed by outcome", ["job_name", "outcome"], registry=r
        )
        self.attention = Counter(
            "ledger_job_attention",
            "Items a finished run asks a person to look at, by reason",
            ["job_name", "reason"],
            registry=r,
        )
        self.duration = Histogram(
            "ledger_job_duration_seconds",
            "Job run duration",
            ["job_name"],
            registry=r,
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
        )
        self.up = database_up_gauge(r)
        g = self._gauges = {
            "held": _gauge(
                "ledger_money_held_minor_units", "Money held in escrow", ["currency"], self
            ),
            "oldest_held": _gauge(
                "ledger_oldest_held_payment_age_seconds",
                "Age of the oldest payment held in escrow",
                ["currency"],
                self,
            ),
            "pending": _gauge(
                "ledger_payments_pending_verification",
                "Payments still PENDING (not flagged)",
                [],
                self,
            ),
            "oldest_pending": _gauge(
                "ledger_oldest_pending_payment_age_seconds",
                "Age of the oldest payment still PENDING",
                [],
                self,
            ),
            "review": _gauge(
                "ledger_payments_in_review",
                "Flagged payments awaiting an operator, by flag reason",
                ["reason"],
                self,
            ),
            "oldest_review": _gauge(
                "ledger_oldest_review_age_seconds",
                "How long the longest-waiting flagged payment has waited",
                [],
                self,
            ),
            "deferred": _gauge(
                "ledger_releases_deferred",
                "Held payments of completed requests that cannot be released, by reason",
                ["reason"],
                self,
            ),
            "refunds": _gauge(
                "ledger_refunds_unresolved",
                "Refunds requested from the provider with no outcome known",
                [],
                self,
            ),
            "notifications": _gauge(
                "ledger_notifications",
                "Outbox messages by delivery status and channel",
                ["status", "channel"],
                self,
            ),
            "oldest_due": _gauge(
                "ledger_oldest_due_notification_age_seconds",
                "How long the oldest due notification has been waiting",
                [],
                self,
            ),
            "lag": _gauge(
                "ledger_projection_lag_events",
                "Events not yet in the read tables",
                ["projector"],
                self,
            ),
            "last_run": _gauge(
                "ledger_job_last_run_timestamp_seconds",
                "When the job's last run ended (any replica)",
                ["job_name"],
                self,
            ),
            "last_status": _gauge(
                "ledger_job_last_status",
                "1 for the status of the job's last run",
                ["job_name", "status"],
                self,
            ),
            "streak": _gauge(
                "ledger_job_unhealthy_streak",
                "Runs in a row that ended failed or degraded",
                ["job_name"],
                self,
            ),
            "interval": _gauge(
                "ledger_job_schedule_interval_seconds",
                "The longest time between two firings of the job's schedule",
                ["job_name"],
                self,
            ),
            "refreshed": _gauge(
                "ledger_gauges_refreshed_timestamp_seconds",
                "When the read-table gauges were last refreshed",
                [],
                self,
            ),
        }
        for spec in self.jobs:
            g["interval"].labels(spec.name).set(spec.interval_seconds)
            # Every series an alert's increase() reads exists from the start at 0 (a counter
            # that first appears at 1 shows no increase).
            for status in STATUSES:
                self.runs.labels(spec.name, status)
            for reason in ("items_failed", *spec.attention_reasons):
                self.attention.labels(spec.name, reason)
            for outcome in ("succeeded", "failed", "skipped"):
                self.items.labels(spec.name, outcome)

    def database_up(self, up: bool) -> None:
        self.up.set(1 if up else 0)

    def observe(self, record: "RunRecord") -> None:
        self.runs.labels(record.job, record.status).inc()
        c = record.counts
        for outcome, value in (
            ("succeeded", c.succeeded),
            ("failed", c.failed),
            ("skipped", c.skipped),
        ):
            if value:
                self.items.labels(record.job, outcome).inc(value)
        for reason, count in c.attention.items():
            self.attention.labels(record.job, reason).inc(count)
        self.duration.labels(record.job).observe(record.duration_ms / 1000)

    def show(self, figures: Figures, health: dict[str, JobHealth]) -> None:
        """Set the refreshed gauges (see the module docstring)."""
        g = self._gauges
        for currency, amount in figures.held.items():
            g["held"].labels(currency).set(amount)
        for currency, age in figures.oldest_held_age.items():
            g["oldest_held"].labels(currency).set(age)
        g["pending"].set(figures.pending_verification)
        g["oldest_pending"].set(figures.oldest_pending_age)
        for reason, count in figures.in_review.items():
            g["review"].labels(reason).set(count)
        g["oldest_review"].set(figures.oldest_review_age)
        for reason, count in figures.releases_deferred.items():
            g["deferred"].labels(reason).set(count)
        g["refunds"].set(figures.refunds_unresolved)
        for (status, channel), count in figures.notifications.items():
            g["notifications"].labels(status, channel).set(count)
        g["oldest_due"].set(figures.oldest_due_notification_age)
        for projector, events in figures.projection_lag.items():
            g["lag"].labels(projector).set(events)
        for job, h in health.items():
            if h.last_finished is not None:
                g["last_run"].labels(job).set(h.last_finished.timestamp())
            for status in LAST_STATUSES:
                g["last_status"].labels(job, status).set(1 if h.last_status == status else 0)
            g["streak"].labels(job).set(h.unhealthy_streak)
        g["refreshed"].set(time.time())

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        serve(self.registry, port, host)


__all__ = ["LAST_STATUSES", "Metrics"]
