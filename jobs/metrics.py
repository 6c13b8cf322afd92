"""Prometheus metrics of the job runner (``ledger jobs run --metrics-port P``).

Counters and a histogram are updated after every run; the gauges (money held, oldest pending
payment, projection lag) are read from the read tables when Prometheus scrapes, so they are as
fresh as the last catch-up. Metrics carry no ids, amounts per payment, or secrets.
"""

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from jobs.runner import RunRecord


class _ReadSideCollector(Collector):
    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            figures = self._read()
        except Exception:  # a scrape must never crash the runner
            return
        held = GaugeMetricFamily(
            "ledger_money_held_minor_units", "Money held in escrow", labels=["currency"]
        )
        for currency, amount in figures.get("held", {}).items():
            held.add_metric([currency], amount)
        yield held
        oldest = GaugeMetricFamily(
            "ledger_oldest_pending_payment_age_seconds",
            "Age of the oldest payment still PENDING",
        )
        oldest.add_metric([], figures.get("oldest_pending_age", 0))
        yield oldest
        lag = GaugeMetricFamily(
            "ledger_projection_lag_events",
            "Events not yet in the read tables",
            labels=["projector"],
        )
        for name, events in figures.get("lag", {}).items():
            lag.add_metric([name], events)
        yield lag


class Metrics:
    """The runner's metrics, in a registry of their own."""

    def __init__(self, read_side_figures: Callable[[], dict[str, Any]] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "ledger_job_runs", "Job runs by outcome", ["job", "status"], registry=self.registry
        )
        self.items = Counter(
            "ledger_job_items",
            "Items processed by outcome",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "ledger_job_duration_seconds",
            "Job run duration",
            ["job"],
            registry=self.registry,
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
        )
        if read_side_figures is not None:
            self.registry.register(_ReadSideCollector(read_side_figures))

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
        self.duration.labels(record.job).observe(record.duration_ms / 1000)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)


__all__ = ["Metrics"]
