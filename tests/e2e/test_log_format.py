"""One log format for every process: the API, the job runner, the notification sender and the
projection follower run briefly as real processes on PostgreSQL, doing real work (requests,
a webhook, payments verified with the Paystack simulator, releases, notifications sent), and
every line each of them writes is one logfmt record starting with ``ts`` and ``level`` (one
JSON object with ``LEDGER_LOG_FORMAT=json``). httpx's own ``HTTP Request: GET <url>`` lines
(which carry references) never appear; an idle every-minute run writes nothing at info."""

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from ledger.clock import system_clock
from ledger.providers.webhooks import sign
from ledger.simulator.paystack import PaystackSimulator
from projections.wiring import read_side
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
from tests.ops_support import bad_log_lines

__all__ = ["isolated_env"]  # an autouse fixture, used by being here

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(pg_database_url: str, pg_schema: str) -> Store:
    return Store({"LEDGER_DATABASE_URL": pg_database_url, "LEDGER_POSTGRES_SCHEMA": pg_schema})


@pytest.fixture
def sim() -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET) as simulator:
        yield simulator


def charge_success(reference: str) -> bytes:
    data = {"id": 1, "status": "success", "reference": reference, "amount": PRICE}
    return json.dumps({"event": "charge.success", "data": {**data, "currency": "NGN"}}).encode()


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_every_line_of_every_process_is_one_record_with_ts_and_level(
    pg_store: Store, sim: PaystackSimulator, tmp_path: Path, fmt: str
) -> None:
    seeder = Seeder(pg_store, system_clock() - timedelta(hours=25))
    due = [seeder.payment() for _ in range(3)]
    for _ in range(3):
        seeder.payment(held=True)
    by_webhook = seeder.payment()
    seeder.save()
    with webhook_receiver() as receiver:
        env = service_env(
            pg_store,
            LEDGER_LOG_FORMAT=fmt,
            PAYSTACK_SECRET_KEY=SECRET,
            PAYSTACK_URL=sim.url,
            LEDGER_NOTIFY_WEBHOOK_URL=receiver.url,
            LEDGER_NOTIFY_WEBHOOK_SECRET=NOTIFY_SECRET,
        )
        services: list[Service] = []
        try:
            follower = start("projections", ["projections", "run"], env, tmp_path)
            runner = start("jobs", ["jobs", "run", "--skip", "send_notifications"], env, tmp_path)
            sender = start("sender", ["jobs", "run", "--only", "send_notifications"], env, tmp_path)
            services += [follower, runner, sender]
            api, url = start_api(env, tmp_path)
            services.append(api)
            auth = {"Authorization": f"Bearer {TOKEN}"}
            assert (
                httpx.post(
                    f"{url}/users", json={"user_id": "fan-x", "role": "fan"}, headers=auth
                ).status_code
                == 201
            )
            assert httpx.get(f"{url}/users/nobody", headers=auth).status_code == 404
            body = charge_success(by_webhook.reference)
            signed = {"x-paystack-signature": sign(body, SECRET), **auth}
            assert (
                httpx.post(f"{url}/webhooks/paystack", content=body, headers=signed).status_code
                == 200
            )
            assert httpx.get(f"{url}/metrics").status_code == 200

            def finished(job: str) -> bool:
                return any(record["job"] == job for record in runner.lines("job_finished"))

            wait_until(
                lambda: finished("check_pending_payments") and finished("release_escrow_payments"),
                what="the runner's start-up runs",
                within=60,
            )
            wait_until(lambda: receiver.deliveries, what="a notification sent", within=60)
            wait_until(lambda: follower.lines("caught_up"), what="the follower", within=60)
        finally:
            codes = stop_all(services)
    assert set(codes.values()) == {0}, codes
    outputs = {service.name: service.text() for service in services}
    for name, text in outputs.items():
        assert text.strip(), f"{name} wrote nothing"
        assert bad_log_lines(text, fmt) == [], name
        assert "HTTP Request" not in text, name
    by_name = {service.name: service for service in services}
    verified = [r for r in by_name["jobs"].records() if r.get("call") == "verify"]
    assert len(verified) >= len(due)  # the provider's own lines, at info
    assert len(by_name["jobs"].lines("item_done")) >= len(due)
    assert by_name["sender"].lines("notification_sent")
    assert by_name["api"].lines("http_request")
    started = [r for r in by_name["api"].records() if "Started server process" in r.get("msg", "")]
    assert started, "uvicorn's own lines, as msg="


def test_an_idle_every_minute_run_writes_nothing_at_info(pg_store: Store, tmp_path: Path) -> None:
    env = service_env(pg_store)
    with read_side(pg_store.settings(), create=True):
        pass  # a store in use: its tables made (making them is worth an info line)
    once = ["jobs", "run", "--job", "send_notifications", "--job", "refresh_flutterwave_token"]
    idle = start("idle", once, env, tmp_path)
    assert idle.process.wait(timeout=60) == 0, idle.text()
    assert idle.text() == ""
    chatty = start("debug", once, {**env, "LEDGER_LOG_LEVEL": "debug"}, tmp_path)
    assert chatty.process.wait(timeout=60) == 0, chatty.text()
    assert len(chatty.lines("job_finished")) == 2
    assert bad_log_lines(chatty.text()) == []
