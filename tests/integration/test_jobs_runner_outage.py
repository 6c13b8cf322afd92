"""The job runner and a lost database connection, on SQLite and PostgreSQL: a run cut by it is
started again from its beginning once the database answers, recorded once, and the outage is
logged once each way; a runner stopped while it waits ends the run ``interrupted`` without
writing to the missing database; a firing that finds its job waiting for the database is
skipped quietly, and nothing waits on its behalf."""

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

import psycopg
import pytest

from jobs.base import JobContext, JobCounts
from jobs.registry import BY_NAME
from jobs.runner import JobRunner, recent_runs
from ledger.config import Settings
from ledger.persistence import store_config
from projections.db import ReadDB

LOST = psycopg.errors.AdminShutdown("terminating connection due to administrator command")


@pytest.fixture
def runner(store_settings: Callable[..., Settings]) -> Iterator[JobRunner]:
    made = JobRunner(store_settings(LEDGER_RECONNECT_MAX_DELAY="1s"), provider=None)
    yield made
    made.close()


def rows(runner: JobRunner) -> list[dict[str, object]]:
    s = runner.settings
    db = ReadDB(store_config(s.database_url, schema=s.postgres_schema))
    try:
        return recent_runs(db, limit=100)
    finally:
        db.close()


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().split()[0] for r in caplog.records]


def test_a_run_cut_by_a_lost_connection_starts_again_and_is_recorded_once(
    runner: JobRunner, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    def flaky(ctx: JobContext) -> JobCounts:
        attempts.append(1)
        counts = JobCounts()
        counts.succeed()
        if len(attempts) == 1:
            raise LOST  # cut after its first item
        return counts

    spec = replace(BY_NAME["create_wallets"], run=flaky)
    with caplog.at_level(logging.INFO):
        record = runner.run(spec)
    assert len(attempts) == 2
    assert (record.status, record.counts.succeeded) == ("ok", 1)
    assert [row["status"] for row in rows(runner)] == ["ok"]
    assert events(caplog).count("event=database_unavailable") == 1
    assert events(caplog).count("event=database_available") == 1
    assert events(caplog).count("event=job_restarted") == 1
    assert events(caplog).count("event=job_finished") == 1
    assert runner.watch.up


def test_a_runner_stopped_while_waiting_ends_the_run_interrupted_and_writes_nothing(
    runner: JobRunner, caplog: pytest.LogCaptureFixture
) -> None:
    def cut(ctx: JobContext) -> JobCounts:
        runner.stop.set()  # SIGTERM arrives while the database is gone
        raise LOST

    spec = replace(BY_NAME["create_wallets"], run=cut)
    with caplog.at_level(logging.INFO):
        record = runner.run(spec)
    assert record.status == "interrupted"
    assert rows(runner) == []
    assert not runner.watch.up
    assert "event=job_run_not_recorded" not in events(caplog)


def test_a_firing_that_finds_its_job_waiting_for_the_database_is_skipped_quietly(
    runner: JobRunner, caplog: pytest.LogCaptureFixture
) -> None:
    spec = BY_NAME["send_notifications"]
    runner.watch.failed(LOST)
    guard = runner._running[spec.name]  # the job in hand, waiting for the database
    guard.acquire()
    try:
        with caplog.at_level(logging.INFO):
            record = runner.run(spec)
    finally:
        guard.release()
    assert record.status == "locked"
    assert rows(runner) == []  # not written (the database is gone), not waited for
    assert "event=job_overlap_skipped" not in events(caplog)  # debug
