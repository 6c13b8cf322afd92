"""What every process's Prometheus metrics share: a registry without ``_created`` series, the
``ledger_database_up`` gauge, the HTTP endpoint of the job runner and the follower, and the
API's multiprocess mode.

``ledger serve --workers N`` runs N processes; each counts the requests it answers. With
``PROMETHEUS_MULTIPROC_DIR`` set (``ledger serve`` makes a fresh directory per run for N > 1,
and removes it at exit) prometheus_client writes every worker's values to files there, and
``scrape_registry`` merges them, so whichever worker answers ``/metrics`` shows the sums of
all of them. Collectors that compute their values at scrape time (the projection lag) are
added to that merged registry as they are.

What it deliberately does not do: pick metric names (each process names its own) or label
anything with ids, amounts of single payments, or secrets.
"""

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Gauge, disable_created_metrics, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def new_registry() -> CollectorRegistry:
    """An empty registry; ``_created`` series are off in this process (they double the
    series count and no alert or dashboard reads them)."""
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return CollectorRegistry()


def database_up_gauge(registry: CollectorRegistry) -> Gauge:
    """``ledger_database_up``: 1 while this process reaches the database, 0 in an outage."""
    gauge = Gauge(
        "ledger_database_up",
        "1 while this process reaches the database, 0 while it waits for it to come back",
        registry=registry,
    )
    gauge.set(1)
    return gauge


def serve(registry: CollectorRegistry, port: int, host: str = "127.0.0.1") -> None:
    """Serve ``registry`` at ``http://host:port/metrics`` from a daemon thread."""
    start_http_server(port, addr=host, registry=registry)


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, when this process is in it."""
    return os.environ.get(MULTIPROC_ENV) or None


def scrape_registry(own: CollectorRegistry, extra: Iterable[Collector]) -> CollectorRegistry:
    """What ``/metrics`` exposes: ``own`` in a single process; in multiprocess mode a
    registry merging every process's files, plus the ``extra`` scrape-time collectors."""
    path = multiprocess_dir()
    if path is None:
        return own
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=path)  # type: ignore[no-untyped-call]
    for collector in extra:
        merged.register(collector)
    return merged


__all__ = [
    "MULTIPROC_ENV",
    "database_up_gauge",
    "multiprocess_dir",
    "new_registry",
    "scrape_registry",
    "serve",
]
