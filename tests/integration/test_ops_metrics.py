"""The job runner's metrics, on SQLite and PostgreSQL: a Paystack outage ends the hourly run
``degraded`` (counted, with its attention reason), the alert rule fires on the very series the
runner exported, and every gauge shows what the read tables hold, the held money exactly as
``ledger report summary`` does."""

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from jobs.metrics import Metrics
from jobs.registry import BY_NAME
from ledger.cli import cli
from ledger.config import Settings
from projections.wiring import read_side
from tests.conftest import T0
from tests.integration.test_jobs import CHECK, FAN, PRICE, STAR, World, make_world
from tests.ops_support import promtool_alerts, registry_samples, value

__all__ = ["make_world"]  # a fixture, used by name

OUTAGE = {"faults": [{"http": 503, "repeat": True}]}  # every call, until cleared
RUNNER = {"job": "ledger-jobs", "instance": "runner-1:9108"}


def ledger_cli(settings: Settings, *args: str) -> Any:
    env = {
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_POSTGRES_SCHEMA": settings.postgres_schema,
    }
    result = CliRunner(env=env).invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def end_outage(world: World) -> None:
    with world.sim.state.lock:
        world.sim.state.faults.clear()


def test_a_paystack_outage_ends_the_hourly_run_degraded_and_its_alert_fires(
    make_world: Callable[..., World], tmp_path: Path
) -> None:
    metrics = Metrics()
    world = make_world(metrics=metrics)
    payments = [world.pay() for _ in range(3)]
    for payment in payments:
        world.script(payment)
    world.held()
    world.sim.script(OUTAGE)
    world.at(25)
    record = world.run(CHECK)
    assert record.status == "degraded"
    assert record.counts.attention == {"provider_unreachable": 3}
    assert world.runner.gauges is not None
    assert world.runner.gauges.refresh()
    found = registry_samples(metrics.registry)
    assert value(found, "ledger_job_runs_total", job_name=CHECK, status="degraded") == 1
    assert value(found, "ledger_job_runs_total", job_name=CHECK, status="failed") == 0
    reason = {"job_name": CHECK, "reason": "provider_unreachable"}
    assert value(found, "ledger_job_attention_total", **reason) == 3
    assert value(found, "ledger_job_unhealthy_streak", job_name=CHECK) == 1
    assert value(found, "ledger_job_last_status", job_name=CHECK, status="degraded") == 1
    assert value(found, "ledger_job_last_status", job_name=CHECK, status="ok") == 0
    assert value(found, "ledger_payments_pending_verification") == 3
    interval = value(found, "ledger_job_schedule_interval_seconds", job_name=CHECK)
    assert interval == 3600

    # Prometheus saw a healthy hour, then what this runner exported after the run.
    streak = value(found, "ledger_job_unhealthy_streak", job_name=CHECK)
    attention = value(found, "ledger_job_attention_total", **reason)
    promtool_alerts(
        [
            ("ledger_job_unhealthy_streak", {**RUNNER, "job_name": CHECK}, f"0x59 {streak:g}x60"),
            (
                "ledger_job_schedule_interval_seconds",
                {**RUNNER, "job_name": CHECK},
                f"{interval:g}x120",
            ),
            ("ledger_job_attention_total", {**RUNNER, **reason}, f"0x59 {attention:g}x60"),
        ],
        [
            {"eval_time": "58m", "alertname": "LedgerJobUnhealthy", "exp_alerts": []},
            {
                "eval_time": "65m",
                "alertname": "LedgerJobUnhealthy",
                "exp_alerts": [
                    {
                        "exp_labels": {"severity": "page", "job_name": CHECK},
                        "exp_annotations": {
                            "summary": f"{CHECK}: last 1 run(s) ended failed or degraded",
                            "description": (
                                "Something needs a person. `ledger jobs status --job "
                                f"{CHECK}` shows the detail (attention reasons: "
                                "provider_unreachable, provider_misconfigured, "
                                "release_deferred, items_failed...). See "
                                'docs/operations.md "What the log lines mean".'
                            ),
                        },
                    }
                ],
            },
            {
                "eval_time": "65m",
                "alertname": "LedgerProviderUnreachable",
                "exp_alerts": [
                    {
                        "exp_labels": {"severity": "ticket", "job_name": CHECK},
                        "exp_annotations": {
                            "summary": "Paystack could not be reached for 3 payment(s) in the "
                            "last 2h",
                            "description": (
                                "Payments stay PENDING (and their requests are not timed "
                                "out) until Paystack answers, or until "
                                "LEDGER_PAYMENT_GIVE_UP_AFTER. Check Paystack's status page."
                            ),
                        },
                    }
                ],
            },
        ],
        tmp_path,
    )

    # The held-money gauges say what `ledger report summary` says.
    summary = {s["currency"]: s for s in ledger_cli(world.runner.settings, "report", "summary")}
    for currency, figures in summary.items():
        assert value(found, "ledger_money_held_minor_units", currency=currency) == figures["held"]
        if figures["oldest_held_at"] is not None:
            held_since = datetime.fromisoformat(figures["oldest_held_at"])
            age = int((world.clock() - held_since).total_seconds())
            assert value(found, "ledger_oldest_held_payment_age_seconds", currency=currency) == age
    assert summary["NGN"]["held"] == PRICE

    # Paystack is back: the next run is ok and the streak ends.
    end_outage(world)
    world.at(26)
    assert world.run(CHECK).status == "ok"
    assert world.runner.gauges.refresh()
    found = registry_samples(metrics.registry)
    assert value(found, "ledger_job_unhealthy_streak", job_name=CHECK) == 0
    assert value(found, "ledger_job_last_status", job_name=CHECK, status="ok") == 1


def test_every_gauge_shows_what_the_read_tables_hold(make_world: Callable[..., World]) -> None:
    metrics = Metrics()
    world = make_world(metrics=metrics)
    api = world.api
    api.register_user("star-3", "celebrity")  # not verified: nobody opens a wallet for them
    released = world.held()  # NGN, STAR has an NGN wallet: releasable
    ghs = api.create_request(FAN, STAR, PRICE, "GHS").id
    ghs_txn = api.record_payment(ghs, "ref-ghs").id
    api.confirm_payment(ghs_txn, amount=PRICE, currency="GHS")
    api.complete_request(ghs)  # no GHS wallet for a verified celebrity: no_wallet
    unverified = world.held(star="star-3")  # celebrity_unverified
    flagged = world.pay()
    api.confirm_payment(flagged.transaction_id, amount=PRICE - 1, currency="NGN")
    world.at(2)
    pending = [world.pay() for _ in range(2)]
    world.at(5)
    with read_side(ledger=api) as side:
        side.engine.catch_up()
    assert world.runner.gauges is not None
    assert world.runner.gauges.refresh()
    found = registry_samples(metrics.registry)

    assert value(found, "ledger_money_held_minor_units", currency="NGN") == 2 * PRICE
    assert value(found, "ledger_money_held_minor_units", currency="GHS") == PRICE
    assert value(found, "ledger_money_held_minor_units", currency="KES") == 0
    assert value(found, "ledger_oldest_held_payment_age_seconds", currency="NGN") == 5 * 3600
    assert value(found, "ledger_payments_pending_verification") == len(pending)
    assert value(found, "ledger_oldest_pending_payment_age_seconds") == 3 * 3600
    assert value(found, "ledger_payments_in_review", reason="amount_mismatch") == 1
    assert value(found, "ledger_payments_in_review", reason="late_success") == 0
    assert value(found, "ledger_oldest_review_age_seconds") == 5 * 3600
    assert value(found, "ledger_releases_deferred", reason="no_wallet") == 1
    assert value(found, "ledger_releases_deferred", reason="celebrity_unverified") == 1
    assert value(found, "ledger_refunds_unresolved") == 0
    for projector in ("ledger_tables", "audit_chain", "notifications"):
        assert value(found, "ledger_projection_lag_events", projector=projector) == 0
    assert value(found, "ledger_database_up") == 1
    assert value(found, "ledger_gauges_refreshed_timestamp_seconds") > 0

    # The outbox, as `ledger notifications list` counts it.
    listed = ledger_cli(world.runner.settings, "notifications", "list", "--limit", "1000")
    for status in ("PENDING", "SENT", "FAILED", "SKIPPED"):
        for channel in ("email", "webhook"):
            expected = sum(1 for n in listed if (n["status"], n["channel"]) == (status, channel))
            got = value(found, "ledger_notifications", status=status, channel=channel)
            assert got == expected, (status, channel)
    assert sum(1 for n in listed if n["status"] == "PENDING") > 0

    # An event the projectors have not applied yet is lag.
    api.register_user("fan-late", "fan")
    assert world.runner.gauges.refresh()
    found = registry_samples(metrics.registry)
    for projector in ("ledger_tables", "audit_chain", "notifications"):
        assert value(found, "ledger_projection_lag_events", projector=projector) == 1

    # The release job pays the releasable one and defers the other two: degraded.
    record = world.run("release_escrow_payments")
    assert record.status == "degraded"
    assert record.counts.attention == {"release_deferred": 2}
    assert world.txn(released).escrow_status.value == "RELEASED"
    assert world.txn(unverified).is_held
    assert BY_NAME["release_escrow_payments"].interval_seconds == 7200
    assert world.clock() > T0
