"""Every database connection killed, three times, under load: the API, the job runner, the
notification sender and the projection follower run as real processes on PostgreSQL while a
bounded loop drives payments through the API (initialised with the Paystack simulator,
confirmed by signed webhooks, completed), the runner releases a backlog of held payments and
the sender delivers their notifications. Meanwhile ``pg_terminate_backend`` ends every
session of the database three times.

Afterwards: all four processes are still running; each outage a process met is logged once
when it starts and once when it ends; the read tables catch up (lag 0); every payment was
released at most once (and each completed one exactly once, with its wallet credit);
``ledger audit verify`` exits 0; every line every process wrote is logfmt with ts and level.
"""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ledger.clock import system_clock
from ledger.domain import ids
from ledger.providers.webhooks import sign
from ledger.simulator.paystack import PaystackSimulator
from tests.e2e.cli_support import Store, isolated_env
from tests.e2e.services_support import (
    NOTIFY_SECRET,
    PRICE,
    SECRET,
    TOKEN,
    Seeder,
    Service,
    service_env,
    start,
    start_api,
    stop_all,
)
from tests.e2e.sim_support import wait_until, webhook_receiver
from tests.ops_support import bad_log_lines, value

__all__ = ["isolated_env"]  # an autouse fixture, used by being here

pytestmark = pytest.mark.postgres

BACKLOG = 150  # held payments of completed requests for the runner's start-up release run
KILLS = 3
TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
def pg_store(pg_database_url: str, pg_schema: str) -> Store:
    return Store({"LEDGER_DATABASE_URL": pg_database_url, "LEDGER_POSTGRES_SCHEMA": pg_schema})


@pytest.fixture
def sim() -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET) as simulator:
        yield simulator


class Load:
    """A bounded loop of payments through the API: each step retried (same id, same
    ``Idempotency-Key``) until it is answered, so a request cut by a kill is asked again."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        self.stop = threading.Event()
        self.completed: list[str] = []  # request ids
        self.errors = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.HTTPError:
                self.errors += 1
            else:
                if response.status_code < 500 and response.status_code != 409:
                    assert response.status_code < 400, (path, response.text)
                    return response
                self.errors += 1
            time.sleep(0.05)
        return None

    def _one(self, n: int) -> bool:
        request_id = str(uuid.uuid4())
        body = {"fan": "fan-ops", "celebrity": "star-ops", "amount": PRICE, "currency": "NGN"}
        if not self._call("POST", "/requests", json={**body, "id": request_id}):
            return False
        initiated = self._call(
            "POST",
            f"/requests/{request_id}/payments",
            json={"email": f"fan{n}@example.com"},
            headers={"Idempotency-Key": f"init-{request_id}"},
        )
        if initiated is None:
            return False
        reference = initiated.json()["reference"]
        data = {"id": n, "status": "success", "reference": reference, "amount": PRICE}
        event = json.dumps({"event": "charge.success", "data": {**data, "currency": "NGN"}})
        signature = {"x-paystack-signature": sign(event.encode(), SECRET)}
        if not self._call("POST", "/webhooks/paystack", content=event, headers=signature):
            return False
        if not self._call("POST", f"/requests/{request_id}/complete"):
            return False
        self.completed.append(request_id)
        return True

    def _run(self) -> None:
        for n in range(10_000):
            if self.stop.is_set() or not self._one(n):
                return

    def __enter__(self) -> "Load":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        self.client.close()


def outages(service: Service) -> tuple[int, int]:
    """How many outages ``service`` logged as begun, and as ended."""
    return len(service.lines("database_unavailable")), len(service.lines("database_available"))


def test_the_services_outlive_three_kills_of_every_connection_under_load(
    pg_store: Store, pg_database_url: str, sim: PaystackSimulator, tmp_path: Path
) -> None:
    seeder = Seeder(pg_store, system_clock() - timedelta(minutes=5))
    backlog = [seeder.payment(held=True) for _ in range(BACKLOG)]
    seeder.save()
    with webhook_receiver() as receiver:
        env = service_env(
            pg_store,
            PAYSTACK_SECRET_KEY=SECRET,
            PAYSTACK_URL=sim.url,
            LEDGER_NOTIFY_WEBHOOK_URL=receiver.url,
            LEDGER_NOTIFY_WEBHOOK_SECRET=NOTIFY_SECRET,
            LEDGER_METRICS_REFRESH="1s",
            LEDGER_RECONNECT_MAX_DELAY="1s",
        )
        services: list[Service] = []
        try:
            follower = start("projections", ["projections", "run"], env, tmp_path, metrics=True)
            runner_args = ["jobs", "run", "--skip", "send_notifications"]
            runner = start("jobs", runner_args, env, tmp_path, metrics=True)
            sender_args = ["jobs", "run", "--only", "send_notifications"]
            sender = start("sender", sender_args, env, tmp_path, metrics=True)
            services += [follower, runner, sender]
            api, url = start_api(env, tmp_path)
            services.append(api)
            wait_until(
                lambda: any(
                    r.get("job") == "release_escrow_payments" for r in runner.lines("job_started")
                ),
                what="the backlog's release run to start",
                within=60,
            )
            with Load(url) as load, psycopg.connect(pg_database_url, autocommit=True) as admin:
                wait_until(lambda: len(load.completed) >= 2, what="the load", within=60)
                for _ in range(KILLS):
                    killed = admin.execute(TERMINATE).fetchall()
                    assert killed, "no session to kill"
                    time.sleep(1.0)
                time.sleep(1.0)
            assert all(service.running() for service in services), {
                s.name: s.text()[-2000:] for s in services if not s.running()
            }
            completed = list(load.completed)
            assert completed, "the load loop made no payment"

            # The runner's cut release run was started again and finished: the backlog is paid.
            def released_backlog() -> bool:
                return any(
                    r.get("job") == "release_escrow_payments" and r.get("status") != "locked"
                    for r in runner.lines("job_finished")
                )

            wait_until(released_backlog, what="the release run to finish", within=90)
            # The read tables catch up: the follower's lag is 0 for every projector.
            head_known = follower.metrics()

            def caught_up() -> bool:
                found = follower.metrics()
                return all(
                    value(found, "ledger_projection_lag_events", projector=p) == 0
                    for p in ("ledger_tables", "audit_chain", "notifications")
                )

            wait_until(caught_up, what="the follower to catch up", within=60)
            assert value(head_known, "ledger_database_up") in (0, 1)
            assert value(follower.metrics(), "ledger_database_up") == 1
            ready = httpx.get(f"{url}/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            assert all(service.running() for service in services)
        finally:
            codes = stop_all(services)
    assert set(codes.values()) == {0}, codes

    # What the load completed after the runner's run is released by one more run.
    pg_store.ok("jobs", "run", "--job", "release_escrow_payments")

    ledger = pg_store.open()
    try:
        released = 0
        for made in backlog:
            names = [type(e).__name__ for e in ledger.events.get(made.transaction_id)]
            assert names.count("EscrowReleased") == 1, names
            released += 1
        for request_id in completed:
            txn_id = ids.transaction_id(uuid.UUID(request_id))
            names = [type(e).__name__ for e in ledger.events.get(txn_id)]
            assert names.count("EscrowReleased") == 1, names
            released += 1
        wallet = ledger.get_wallet("star-ops")
        credits = [e for e in ledger.events.get(wallet.id) if type(e).__name__ == "WalletCredited"]
        assert len(credits) == released
        assert len({e.transaction_id for e in credits}) == released
        assert wallet.balance == released * PRICE
    finally:
        ledger.close()

    verified = pg_store.run("audit", "verify")
    assert verified.exit_code == 0, verified.output

    for service in services:
        assert bad_log_lines(service.text()) == [], service.name
        begun, ended = outages(service)
        assert begun == ended, (service.name, begun, ended)  # each outage: once, each way
        assert begun <= KILLS, (service.name, begun)
        for record in service.lines("database_available"):
            assert float(record["downtime_s"]) >= 0
    assert outages(follower)[0] >= 1  # its LISTEN connection is always open: it saw them
    assert receiver.deliveries, "the sender delivered nothing"
