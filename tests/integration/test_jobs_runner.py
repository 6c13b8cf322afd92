"""The job runner's guarantees, on SQLite and on a real PostgreSQL: a repeated run changes
nothing; one item's failure never stops the others; every run leaves one ``job_runs`` row and
one ``event=job_finished`` summary line; work is paged in batches; a job never overlaps
itself, in this process or (PostgreSQL's advisory lock) in another runner.
"""

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from jobs.registry import BY_NAME, JOBS
from jobs.runner import lock_key, recent_runs
from ledger.domain.request import RequestStatus
from ledger.domain.transaction import EscrowStatus, TxStatus
from ledger.persistence import store_config
from ledger.providers.port import Outcome, Verification
from projections import queries
from projections.db import ReadDB
from tests.integration.test_jobs import (
    CHECK,
    FOUR,
    NEW_STAR,
    PRICE,
    RELEASE,
    TOKEN,
    WALLETS,
    World,
    make_world,
    world,
)

__all__ = ["make_world", "world"]  # fixtures, used by name

SUMMARY_FIELDS = ("start", "end", "duration_ms", "processed", "succeeded", "failed", "skipped")


def read_db(world: World) -> ReadDB:
    s = world.runner.settings
    return ReadDB(store_config(s.database_url, schema=s.postgres_schema))


def job_runs(world: World) -> list[dict[str, object]]:
    db = read_db(world)
    try:
        return recent_runs(db, limit=1000)
    finally:
        db.close()


def fields(line: str) -> dict[str, str]:
    """The ``key=value`` pairs of a log line (quoted values unquoted)."""
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', line)}


def mixed_history(world: World) -> None:
    """Work for every job: due payments of each outcome, an unpaid stale request, held
    payments of completed requests (one for a celebrity without a wallet yet)."""
    for outcome in (
        {},
        {"status": "failed"},
        {"status": "ongoing"},
        {"unknown": True},
        {"amount": PRICE + 1},
    ):
        world.script(world.pay(), **outcome)
    world.pay(reference=None)
    world.request()
    world.held()
    world.held(star=NEW_STAR)
    world.api.register_user("fan-verified", "fan", verified=True)


def test_every_job_run_twice_in_a_row_changes_nothing_the_second_time(world: World) -> None:
    mixed_history(world)
    world.at(49)
    for spec in (BY_NAME[name] for name in FOUR):
        first = world.runner.run(spec)
        assert first.status == "ok", first
        assert first.counts.succeeded > 0 or spec.name == TOKEN  # the token: not configured
        head = world.head()
        second = world.runner.run(spec)
        assert second.status == "ok", second
        assert world.head() == head, f"{spec.name} changed the store on its second run"
        assert second.counts.succeeded == 0
    assert world.api.get_wallet(NEW_STAR).balance == PRICE


def test_one_item_failing_never_stops_the_others(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    payments = [world.pay() for _ in range(6)]
    for payment in payments:
        world.script(payment)
    refused, garbled = payments[1], payments[4]
    world.sim.script({"references": {refused.reference: {"faults": [{"http": 401}]}}})
    world.sim.script({"references": {garbled.reference: {"faults": [{"malformed": True}]}}})
    world.at(25)
    with caplog.at_level(logging.INFO, logger="ledger.jobs"):
        record = world.run(CHECK)
    assert record.status == "degraded"  # it finished; two payments need a person
    assert (record.counts.succeeded, record.counts.failed) == (4, 2)
    assert record.counts.attention == {"items_failed": 2, "provider_misconfigured": 2}
    for payment in payments:
        expected = TxStatus.PENDING if payment in (refused, garbled) else TxStatus.COMPLETED
        assert world.txn(payment).status is expected
    failed = [r.getMessage() for r in caplog.records if "event=item_failed" in r.getMessage()]
    assert len(failed) == 2
    assert {fields(line)["item"] for line in failed} == {
        str(refused.transaction_id),
        str(garbled.transaction_id),
    }
    # The next run picks them up.
    world.at(26)
    assert world.run(CHECK).counts.succeeded == 2


def test_each_run_writes_one_job_runs_row_and_one_summary_line(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    mixed_history(world)
    world.at(49)
    with caplog.at_level(logging.DEBUG, logger="ledger.jobs"):  # idle minute jobs: debug
        records = world.runner.run_once(FOUR)
    assert [r.job for r in records] == list(FOUR)
    summaries = [
        fields(r.getMessage()) for r in caplog.records if "event=job_finished" in r.getMessage()
    ]
    rows = {str(row["id"]): row for row in job_runs(world)}
    assert len(summaries) == len(rows) == len(records) == 4
    for record in records:
        [line] = [s for s in summaries if s["run_id"] == record.run_id]
        assert all(name in line for name in SUMMARY_FIELDS)
        assert line["job"] == record.job
        assert line["status"] == record.status
        assert int(line["duration_ms"]) == record.duration_ms >= 0
        c = record.counts
        counted = (c.processed, c.succeeded, c.failed, c.skipped)
        assert tuple(int(line[k]) for k in SUMMARY_FIELDS[3:]) == counted
        assert c.processed == c.succeeded + c.failed + c.skipped
        row = rows[record.run_id]
        assert (row["job"], row["status"]) == (record.job, record.status)
        assert tuple(int(str(row[k])) for k in SUMMARY_FIELDS[3:]) == counted
        assert int(str(row["durationms"])) == record.duration_ms
    by_job = {r.job: r.counts for r in records}
    # paid, failed, unknown, flagged, no reference; then the ongoing one and the unpaid
    # request time out at 48h
    assert by_job[CHECK].succeeded == 7
    assert by_job[WALLETS].succeeded == 2
    assert by_job[RELEASE].succeeded == 2


def test_small_batches_still_reach_every_item(
    make_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(LEDGER_JOB_BATCH_SIZE="3")
    due = [world.pay() for _ in range(10)]
    for payment in due:
        world.script(payment)
    held = [world.held(star=NEW_STAR) for _ in range(10)]
    for n in range(10):
        world.api.register_user(f"fan-v{n}", "fan", verified=True)
    pages: dict[str, list[int]] = {}

    def spy(name: str) -> None:
        real = getattr(queries, name)

        def listed(*args: Any, **kwargs: Any) -> Any:
            page = real(*args, **kwargs)
            pages.setdefault(name, []).append(len(page))
            return page

        monkeypatch.setattr(queries, name, listed)

    for name in ("list_pending_payments", "list_releasable", "list_users_without_wallet"):
        spy(name)
    world.at(25)
    assert world.run(CHECK).counts.succeeded == 10
    assert world.run(WALLETS).counts.succeeded == 11  # ten fans and star-2
    assert world.run(RELEASE).counts.succeeded == 10
    for name, sizes in pages.items():
        assert max(sizes) <= 3, name
    assert pages["list_pending_payments"] == [3, 3, 3, 1]  # a short page is the last
    assert pages["list_releasable"] == [3, 3, 3, 1]  # a short page is the last
    assert all(world.txn(p).status is TxStatus.COMPLETED for p in due)
    assert all(world.txn(p).escrow_status is EscrowStatus.RELEASED for p in held)


class BlockingProvider:
    """Every verify waits until ``go`` is set (after signalling ``asked``)."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.go = threading.Event()

    def verify(self, reference: str) -> Verification:
        self.asked.set()
        self.go.wait(timeout=10)
        return Verification(Outcome.SUCCESS, "success", amount=PRICE, currency="NGN")


def test_a_job_still_running_here_is_not_started_again(
    make_world: Callable[..., World],
) -> None:
    provider = BlockingProvider()
    world = make_world(provider=provider)
    payment = world.pay()
    world.at(25)
    first: list[Any] = []
    thread = threading.Thread(target=lambda: first.append(world.run(CHECK)))
    thread.start()
    try:
        assert provider.asked.wait(timeout=10)
        overlapping = world.run(CHECK)
    finally:
        provider.go.set()
        thread.join(timeout=20)
    assert (overlapping.status, overlapping.counts.detail) == ("locked", "running")
    assert overlapping.counts.processed == 0
    assert first[0].status == "ok"
    assert world.txn(payment).status is TxStatus.COMPLETED
    statuses = sorted(str(row["status"]) for row in job_runs(world))
    assert statuses == ["locked", "ok"]


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_job_locked_by_another_runner_is_skipped_and_recorded(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    payment = world.pay()
    world.script(payment)
    world.at(25)
    conninfo = store_config(world.runner.settings.database_url).conninfo
    assert conninfo is not None
    with psycopg.connect(conninfo, autocommit=True) as other_runner:
        other_runner.execute("SELECT pg_advisory_lock(%s)", [lock_key(CHECK)])
        head = world.head()
        record = world.run(CHECK)
        assert (record.status, record.counts.detail) == ("locked", "locked")
        assert world.head() == head
        other_runner.execute("SELECT pg_advisory_unlock(%s)", [lock_key(CHECK)])
    assert world.run(CHECK).counts.succeeded == 1
    assert [str(row["status"]) for row in job_runs(world)] == ["ok", "locked"]


def test_without_a_payment_provider_the_run_fails_and_only_unpaid_requests_time_out(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    world.runner.provider = None
    payment = world.pay()
    unpaid = world.request()
    world.at(49)
    record = world.run(CHECK)
    assert record.status == "failed"
    assert record.counts.error is not None
    assert "PAYSTACK_SECRET_KEY" in record.counts.error
    assert world.api.get_request(unpaid).status is RequestStatus.DECLINED
    # Its payment could not be checked: the fan may have paid, so the request waits.
    assert world.req(payment).status is RequestStatus.PENDING
    [row] = job_runs(world)
    assert row["status"] == "failed"
    assert "PAYSTACK_SECRET_KEY" in str(row["detail"])


def test_the_long_running_runner_runs_every_job_at_start_up_and_stops_when_asked(
    world: World,
) -> None:
    mixed_history(world)
    world.at(49)
    thread = threading.Thread(target=world.runner.run_forever, kwargs={"tick": 0.05})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(job_runs(world)) < len(JOBS) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        world.runner.stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    runs = {str(r["job"]): r for r in job_runs(world)}
    assert sorted(runs) == sorted(spec.name for spec in JOBS)  # each once
    # The release may precede the wallet it needs: then it is deferred, and the run degraded.
    assert all(runs[name]["status"] == "ok" for name in FOUR if name != RELEASE), runs
    assert runs[RELEASE]["status"] in ("ok", "degraded"), runs
    assert world.api.get_wallet(NEW_STAR).balance in (0, PRICE)  # release may precede wallets
