"""Prometheus metrics of the projection follower (``ledger projections run --metrics-port``).

``ledger_database_up`` (0 while it waits for the database to come back),
``ledger_projection_events_applied_total{projector}``, ``ledger_projection_lag_events
{projector}`` (0 each time it reaches the head of the log; read from the tracking table at
most once a second while it is catching up) and ``ledger_projection_caught_up_timestamp_seconds``
(when it last reached the head: a follower that stops moving shows here even while the
database answers). ``_created`` series are off.
"""

import time
from collections.abc import Callable, Sequence

from prometheus_client import Counter, Gauge

from ledger.metrics import database_up_gauge, new_registry, serve
from projections.db import ReadDB
from projections.gauges import projection_lag

LAG_EVERY = 1.0  # seconds between lag reads while catching up


class FollowerMetrics:
    """The follower's metrics, in a registry of their own."""

    def __init__(self, projectors: Sequence[str], *, clock: Callable[[], float] = time.time):
        self.registry = new_registry()
        self.projectors = tuple(projectors)
        self._clock = clock
        self._lag_read = 0.0
        self.up = database_up_gauge(self.registry)
        self.applied = Counter(
            "ledger_projection_events_applied",
            "Events applied to the read tables by this follower",
            ["projector"],
            registry=self.registry,
        )
        self.lag = Gauge(
            "ledger_projection_lag_events",
            "Events not yet in the read tables",
            ["projector"],
            registry=self.registry,
        )
        self.caught_up = Gauge(
            "ledger_projection_caught_up_timestamp_seconds",
            "When this follower last reached the head of the event log",
            registry=self.registry,
        )
        for name in self.projectors:
            self.applied.labels(name)

    def database_up(self, up: bool) -> None:
        self.up.set(1 if up else 0)

    def observe(self, applied: dict[str, int], db: ReadDB) -> None:
        """After a catch-up round that applied ``applied`` events (per projector)."""
        for name, count in applied.items():
            if count:
                self.applied.labels(name).inc(count)
        now = self._clock()
        if not any(applied.values()):
            for name in self.projectors:
                self.lag.labels(name).set(0)
            self.caught_up.set(now)
        elif now - self._lag_read >= LAG_EVERY:
            self._lag_read = now
            for name, events in projection_lag(db, self.projectors).items():
                self.lag.labels(name).set(events)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        serve(self.registry, port, host)


__all__ = ["FollowerMetrics"]
