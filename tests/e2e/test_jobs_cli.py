"""`ledger jobs run | list | status` in-process, on SQLite and PostgreSQL, against the Paystack
simulator named by ``PAYSTACK_URL``: the listing, ``--once`` and its exit code, ``--job``,
and ``--now`` as the business time of what the run records.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.clock import FixedClock
from ledger.simulator.paystack import PaystackSimulator
from tests.conftest import T0
from tests.e2e.cli_support import Store, is_iso_with_offset, isolated_env, sqlite_store, store

__all__ = ["isolated_env", "sqlite_store", "store"]  # fixtures, used by name

SECRET = "sk_test_jobs_cli_2718"
FOUR = {
    "refresh_flutterwave_token": "* * * * *",
    "check_pending_payments": "0 * * * *",
    "create_wallets": "0 10 * * *",
    "release_escrow_payments": "0 */2 * * *",
}
PRICE = 250_000


@pytest.fixture
def sim() -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET) as simulator:
        yield simulator


def paystack(sim: PaystackSimulator) -> dict[str, str]:
    return {"PAYSTACK_URL": sim.url, "PAYSTACK_SECRET_KEY": SECRET, "PAYSTACK_MAX_RETRIES": "0"}


def seed_payments(store: Store, sim: PaystackSimulator, count: int) -> list[UUID]:
    """``count`` payments made at ``T0``, each paid in full according to the simulator."""
    ledger = Ledger.from_settings(store.settings(), clock=FixedClock(T0))
    try:
        ledger.register_user("fan-1", "fan")
        ledger.register_user("star-1", "celebrity", verified=True)
        made = []
        for n in range(count):
            request = ledger.create_request("fan-1", "star-1", PRICE, "NGN").id
            made.append(ledger.record_payment(request, f"cli-ref-{n}").id)
            answer = {"status": "success", "amount": PRICE, "currency": "NGN"}
            sim.script({"references": {f"cli-ref-{n}": answer}})
        return made
    finally:
        ledger.close()


def events_of(store: Store, aggregate_id: UUID) -> list[Any]:
    ledger = store.open()
    try:
        return list(ledger.events.get(aggregate_id))
    finally:
        ledger.close()


def test_jobs_list_shows_each_job_with_its_cron_and_next_run(store: Store) -> None:
    rows = store.json("jobs", "list", LEDGER_TIMEZONE="Africa/Lagos")
    listed = {row["job"]: row for row in rows}
    assert {name: listed[name]["cron"] for name in FOUR} == FOUR
    for name in FOUR:
        assert listed[name]["timezone"] == "Africa/Lagos"
        assert is_iso_with_offset(listed[name]["next_run"])
    table = store.ok("jobs", "list").stdout
    assert all(name in table for name in FOUR)


def test_run_once_runs_every_job_and_status_lists_the_runs(
    store: Store, sim: PaystackSimulator
) -> None:
    seed_payments(store, sim, 2)
    when = (T0 + timedelta(hours=25)).isoformat()
    store.ok("jobs", "run", "--once", "--now", when, **paystack(sim))
    runs = store.json("jobs", "status")
    assert set(FOUR) <= {run["job"] for run in runs}
    by_job = {run["job"]: run for run in runs}
    assert all(by_job[name]["status"] == "ok" for name in FOUR)
    assert by_job["check_pending_payments"]["succeeded"] == 2
    assert by_job["refresh_flutterwave_token"]["detail"] == "disabled"


def test_run_once_exits_1_when_a_run_ended_degraded(store: Store, sim: PaystackSimulator) -> None:
    seed_payments(store, sim, 3)
    sim.script({"references": {"cli-ref-1": {"faults": [{"http": 401}]}}})
    when = (T0 + timedelta(hours=25)).isoformat()
    result = store.run("jobs", "run", "--once", "--now", when, **paystack(sim))
    assert result.exit_code == 1, result.output
    [check] = store.json("jobs", "status", "--job", "check_pending_payments")
    assert (check["status"], check["succeeded"], check["failed"]) == ("degraded", 2, 1)
    assert "items_failed:1" in check["detail"]
    assert "provider_misconfigured:1" in check["detail"]


def test_run_job_runs_only_that_job(store: Store, sim: PaystackSimulator) -> None:
    seed_payments(store, sim, 1)
    store.ok("jobs", "run", "--job", "create_wallets", **paystack(sim))
    runs = store.json("jobs", "status")
    assert [(run["job"], run["succeeded"]) for run in runs] == [("create_wallets", 1)]


def test_now_is_the_business_time_of_what_the_run_records(
    store: Store, sim: PaystackSimulator
) -> None:
    [payment] = seed_payments(store, sim, 1)
    now = T0 + timedelta(hours=30)
    store.ok(
        "jobs", "run", "--job", "check_pending_payments", "--now", now.isoformat(), **paystack(sim)
    )
    verified = events_of(store, payment)[-1]
    assert type(verified).__name__ == "PaymentVerified"
    assert now <= verified.timestamp < now + timedelta(minutes=1)  # the clock runs on from --now
    [run] = store.json("jobs", "status")
    business = datetime.fromisoformat(run["business_time"])
    assert now <= business < now + timedelta(minutes=1)


def test_now_before_the_verify_delay_leaves_payments_alone(
    store: Store, sim: PaystackSimulator
) -> None:
    [payment] = seed_payments(store, sim, 1)
    head = store.head()
    now = (T0 + timedelta(hours=23)).isoformat()
    store.ok("jobs", "run", "--job", "check_pending_payments", "--now", now, **paystack(sim))
    assert store.head() == head
    assert [type(e).__name__ for e in events_of(store, payment)] == ["PaymentInitiated"]
