"""The database goes away and comes back: the API, the job runner and the projection follower
reach PostgreSQL through a loopback proxy, which drops every connection and refuses new ones
for a few seconds. Meanwhile the processes keep running, the API answers ``/readyz`` 503 and
the runner's and the follower's ``ledger_database_up`` is 0. When it is back they reconnect by
themselves (backoff with jitter), the follower applies what was written during the outage,
and each process has logged the outage exactly twice: once when it began, once when it ended,
with its duration."""

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.e2e.cli_support import Store, isolated_env
from tests.e2e.services_support import Service, service_env, start, start_api, stop_all
from tests.e2e.sim_support import wait_until
from tests.ops_support import TcpProxy, bad_log_lines, value

__all__ = ["isolated_env"]  # an autouse fixture, used by being here

pytestmark = pytest.mark.postgres
PROJECTORS = ("ledger_tables", "audit_chain", "notifications")
HOLD = 2.0  # seconds the database stays away once every process has noticed


@pytest.fixture
def direct(pg_database_url: str, pg_schema: str) -> Store:
    return Store({"LEDGER_DATABASE_URL": pg_database_url, "LEDGER_POSTGRES_SCHEMA": pg_schema})


@pytest.fixture
def proxy(pg_database_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(pg_database_url)
    server = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    yield server
    server.close()


def through(store: Store, proxy: TcpProxy) -> Store:
    parts = urlsplit(store.env["LEDGER_DATABASE_URL"])
    netloc = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    url = urlunsplit(parts._replace(netloc=f"{netloc}:{proxy.port}"))
    return Store({**store.env, "LEDGER_DATABASE_URL": url})


def up(service: Service) -> float:
    return value(service.metrics(), "ledger_database_up")


def ready(url: str) -> int:
    return httpx.get(f"{url}/readyz", timeout=10).status_code


def test_the_services_wait_out_a_database_outage_and_log_it_once_each_way(
    direct: Store, proxy: TcpProxy, tmp_path: Path
) -> None:
    direct.ok("users", "register", "fan-before", "--role", "fan")  # a store in use
    env = service_env(
        through(direct, proxy), LEDGER_METRICS_REFRESH="1s", LEDGER_RECONNECT_MAX_DELAY="1s"
    )
    services: list[Service] = []
    try:
        follower = start("projections", ["projections", "run"], env, tmp_path, metrics=True)
        runner = start("jobs", ["jobs", "run"], env, tmp_path, metrics=True)
        services += [follower, runner]
        api, url = start_api(env, tmp_path)
        services.append(api)
        wait_until(lambda: ready(url) == 200, what="the API to be ready", within=60)
        wait_until(
            lambda: (
                all(s.running() for s in services)
                and up(runner) == 1
                and up(follower) == 1
                and runner.lines("job_finished") != []
                and value(runner.metrics(), "ledger_gauges_refreshed_timestamp_seconds") > 0
            ),
            what="the runner and the follower",
            within=60,
        )

        proxy.down()
        wait_until(lambda: ready(url) == 503, what="/readyz to say not ready", within=30)
        body = httpx.get(f"{url}/readyz", timeout=10).json()
        assert body["checks"]["database"].startswith("unavailable for"), body
        wait_until(lambda: up(runner) == 0, what="the runner to see the outage", within=30)
        wait_until(lambda: up(follower) == 0, what="the follower to see the outage", within=30)
        direct.ok("users", "register", "fan-during", "--role", "fan")  # the log moves on
        time.sleep(HOLD)  # every process has seen it go: now it stays gone a while
        assert ready(url) == 503
        assert all(s.running() for s in services)

        proxy.up()
        wait_until(lambda: ready(url) == 200, what="/readyz to be ready again", within=30)
        wait_until(lambda: up(runner) == 1, what="the runner to reconnect", within=30)
        wait_until(
            lambda: (
                up(follower) == 1
                and all(
                    value(follower.metrics(), "ledger_projection_lag_events", projector=p) == 0
                    for p in PROJECTORS
                )
            ),
            what="the follower to reconnect and catch up",
            within=30,
        )
        assert all(s.running() for s in services)
    finally:
        codes = stop_all(services)
    assert set(codes.values()) == {0}, codes
    for service in services:
        text = service.text()
        assert bad_log_lines(text) == [], service.name
        [gone] = service.lines("database_unavailable")
        [back] = service.lines("database_available")
        assert gone["level"] == "error"
        # Each saw it go before the hold began, and come back after it ended.
        assert float(back["downtime_s"]) >= HOLD, (service.name, back)
        assert gone["ts"] < back["ts"]
