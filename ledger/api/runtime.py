"""What the API's routes share: settings, the ledger, the webhook handler, the stores.

``Runtime`` is built with the app and connects to nothing; the services are built on first
use (thread-safe) by the composition root (``ledger.bootstrap``; the API writes, so a missing
store is created), so ``/healthz`` answers and the OpenAPI spec can be generated without a
database, and a database that is down at start-up is a 503 on the requests that need it
(retried on the next request), not a crashed server. ``close()`` releases everything the
runtime built (the app's lifespan calls it at shutdown); a ledger passed in is the caller's.

Plugins (the ``ledger.api`` entry points) receive the runtime: they add routes that call
``runtime.services()`` and readiness checks with ``add_readiness_check``.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.registry import Collector

from ledger.api.auth import Authenticator
from ledger.api.idempotency import IdempotencyStore
from ledger.application import Ledger
from ledger.bootstrap import Components
from ledger.clock import system_clock
from ledger.config import Settings, load_settings
from ledger.errors import LedgerError
from ledger.metrics import new_registry, scrape_registry
from ledger.outage import DatabaseWatch, probe_database
from ledger.persistence import StoreConfig, store_config
from ledger.webhooks import PaystackWebhooks


@dataclass
class Services:
    settings: Settings
    ledger: Ledger
    webhooks: PaystackWebhooks
    idempotency: IdempotencyStore
    components: Components


@dataclass(frozen=True)
class Check:
    """One readiness check's verdict; ``detail`` is for people (no secrets)."""

    ok: bool
    detail: str


ReadinessCheck = Callable[[Services], Check]
log = logging.getLogger("ledger.api")


@dataclass
class Metrics:
    """The API's Prometheus metrics, in a registry of their own (merged across worker
    processes by ``ledger.metrics.scrape_registry`` under ``ledger serve --workers N``)."""

    registry: CollectorRegistry = field(default_factory=new_registry)
    collectors: list[Collector] = field(default_factory=list)

    def add_collector(self, collector: Collector) -> None:
        """A collector computing its values at scrape time (kept out of the worker files)."""
        self.registry.register(collector)
        self.collectors.append(collector)

    def scrape(self) -> CollectorRegistry:
        """What ``/metrics`` exposes."""
        return scrape_registry(self.registry, self.collectors)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "ledger_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "ledger_http_request_duration_seconds",
            "HTTP request duration by route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self.webhooks = Counter(
            "ledger_webhook_deliveries",
            "Paystack webhook deliveries by outcome",
            ["outcome"],
            registry=self.registry,
        )


class Runtime:
    """Settings and lazily built services for one app (one per worker process)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ledger: Ledger | None = None,
    ) -> None:
        self._settings = settings
        self._given_ledger = ledger
        self._services: Services | None = None
        self._auth: Authenticator | None = None
        self._lock = threading.Lock()
        self._watch: DatabaseWatch | None = None
        self.metrics = Metrics()
        self.readiness: list[tuple[str, ReadinessCheck]] = []

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def auth(self) -> Authenticator:
        if self._auth is None:
            self._auth = Authenticator(self.settings().api_tokens)
        return self._auth

    def store(self) -> StoreConfig:
        s = self.settings()
        return store_config(s.database_url, schema=s.postgres_schema)

    def watch(self) -> DatabaseWatch:
        """Whether this worker reaches the database (``/readyz``): one log line when it is
        lost, one when it is back; while lost, a background thread probes with backoff."""
        with self._lock:
            if self._watch is None:
                store = self.store()
                self._watch = DatabaseWatch(
                    partial(probe_database, store, timeout=2.0),
                    log=log,
                    max_delay=self.settings().reconnect_max_delay.total_seconds(),
                )
            return self._watch

    def database_lost(self, exc: BaseException) -> None:
        """A request met a lost connection: note the outage and probe until it is over (the
        pools reconnect by themselves on the next request that finds the database back)."""
        try:
            watch = self.watch()
        except LedgerError:  # no settings: there is no database to watch
            return
        watch.failed(exc)
        watch.recover_in_background()

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        """``/readyz`` also asks ``check`` (named ``name`` in its answer)."""
        self.readiness.append((name, check))

    def services(self) -> Services:
        """The services, built on first use; raises ``ConfigError`` (503) if they cannot be."""
        services = self._services
        if services is not None:
            return services
        with self._lock:
            if self._services is None:
                self._services = self._build()
            return self._services

    def _build(self) -> Services:
        settings = self.settings()
        given = self._given_ledger
        components = Components(
            settings,
            create=True,
            wall_clock=given.wall_clock if given is not None else system_clock,
            ledger=given,
        )
        try:
            ledger = components.ledger()
            webhooks = components.webhooks()
            # The API's own side table (replayed answers): the face owns it.
            idempotency = IdempotencyStore.from_settings(settings, clock=ledger.wall_clock)
        except BaseException:
            components.close()
            raise
        return Services(settings, ledger, webhooks, idempotency, components)

    def close(self) -> None:
        with self._lock:
            services, self._services = self._services, None
            if self._watch is not None:
                self._watch.close()
        if services is None:
            return
        try:
            services.idempotency.close()
        finally:
            services.components.close()  # a ledger passed in stays open (the caller's)


__all__ = ["Check", "Metrics", "ReadinessCheck", "Runtime", "Services"]
