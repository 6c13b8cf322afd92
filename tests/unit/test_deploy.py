"""The operations files in ``deploy/``: the Prometheus rules pass ``promtool check rules`` and
their unit tests (``promtool test rules``), every alert has a test in which it fires, every
metric a rule or the Grafana dashboard reads is one the code exports, the dashboard's queries
are valid PromQL, and the systemd units pass ``systemd-analyze verify``.

promtool comes with Debian's ``prometheus`` package (``.ci/run`` installs it): without it these
tests skip loudly, and fail under ``CI=true``. ``systemd-analyze`` is used when present.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from jobs.metrics import Metrics as JobMetrics
from ledger.api.runtime import Metrics as ApiMetrics
from projections.follower_metrics import FollowerMetrics
from tests.ops_support import need

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERTS_TEST = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "ledger.json"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
METRIC = re.compile(r"\b(ledger_[a-z0-9_]+|up)\b(?!\s*\()")  # a name, not a function


def run(*args: str, cwd: Path | None = None) -> "subprocess.CompletedProcess[str]":
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "warning"}
    return subprocess.run(args, check=False, capture_output=True, text=True, cwd=cwd, env=env)


def exported(registry: CollectorRegistry) -> set[str]:
    """The sample names a registry exposes (counters as ``_total``, histograms' parts)."""
    names: set[str] = set()
    for family in registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}_{part}" for part in ("bucket", "sum", "count"))
        else:
            names.add(family.name)
    return names


def code_metrics() -> set[str]:
    """Every metric name the runner, the follower and the API export (``up`` is Prometheus's)."""
    names = {"up"}
    names |= exported(JobMetrics().registry)
    names |= exported(FollowerMetrics(["ledger_tables"]).registry)
    names |= exported(ApiMetrics().registry)
    return names


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def test_promtool_checks_the_alert_rules() -> None:
    result = run(need("promtool"), "check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_of_the_alert_rules_pass() -> None:
    result = run(need("promtool"), "test", "rules", str(ALERTS_TEST), cwd=ALERTS_TEST.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_example_scrape_config_is_valid() -> None:
    scrape = DEPLOY / "prometheus" / "scrape.yml"
    result = run(need("promtool"), "check", "config", str(scrape))
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"] for job in yaml.safe_load(scrape.read_text())["scrape_configs"]}
    assert jobs == {"ledger-api", "ledger-jobs", "ledger-notifications", "ledger-projections"}


def test_every_alert_fires_in_at_least_one_unit_test() -> None:
    tests = yaml.safe_load(ALERTS_TEST.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fired == set(), "alerts without a test in which they fire"


def test_every_alert_reads_metrics_the_code_exports() -> None:
    known = code_metrics()
    for rule in alert_rules():
        used = set(METRIC.findall(rule["expr"]))
        assert used, rule["alert"]
        assert used <= known, (rule["alert"], used - known)


def test_the_dashboard_reads_only_metrics_the_code_exports() -> None:
    known = code_metrics()
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    for expr in exprs:
        used = set(METRIC.findall(expr))
        assert used, expr
        assert used <= known, (expr, used - known)
    # The gauges the operators asked for are all on it.
    shown = {name for expr in exprs for name in METRIC.findall(expr)}
    for wanted in (
        "ledger_money_held_minor_units",
        "ledger_oldest_held_payment_age_seconds",
        "ledger_payments_pending_verification",
        "ledger_payments_in_review",
        "ledger_releases_deferred",
        "ledger_refunds_unresolved",
        "ledger_notifications",
        "ledger_projection_lag_events",
        "ledger_job_runs_total",
        "ledger_database_up",
    ):
        assert wanted in shown, wanted


def test_the_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool parses recording rules' expressions: one rule per dashboard query.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{n}", "expr": expr}
                    for n, expr in enumerate(dashboard_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = run(need("promtool"), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_units_restart_on_failure_stop_with_sigterm_and_read_the_environment_file() -> None:
    assert {unit.name for unit in UNITS} == {
        "ledger-api.service",
        "ledger-jobs.service",
        "ledger-notifications.service",
        "ledger-projections@.service",
    }
    for unit in UNITS:
        text = unit.read_text()
        assert "Restart=on-failure" in text, unit.name
        assert "KillSignal=SIGTERM" in text, unit.name
        assert re.search(r"^TimeoutStopSec=\d+$", text, re.M), unit.name
        assert "EnvironmentFile=/etc/ledger/ledger.env" in text, unit.name
    jobs = (DEPLOY / "systemd" / "ledger-jobs.service").read_text()
    sender = (DEPLOY / "systemd" / "ledger-notifications.service").read_text()
    assert "--skip send_notifications" in jobs
    assert "--only send_notifications" in sender


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    ledger = Path(sys.executable).parent / "ledger"
    paths = []
    for unit in UNITS:
        # The units name the installed script; here the one of this checkout's environment.
        text = unit.read_text().replace("/opt/ledger/venv/bin/ledger", str(ledger))
        name = unit.name.replace("@.service", "@ledger_tables.service")
        (tmp_path / unit.name).write_text(text)
        paths.append(str(tmp_path / name))
    result = run(analyze, "verify", *paths)
    if result.returncode != 0 and "Failed to" in result.stderr and "bus" in result.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # unknown keys are only warnings
