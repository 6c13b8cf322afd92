"""When the jobs fire: the NestJS cron times, in ``LEDGER_TIMEZONE``, as the runner's
``schedule.Scheduler`` holds them; the business clock of ``--now``; the advisory-lock keys.

``schedule`` keeps ``next_run`` as naive local time of this machine; ``astimezone`` reads it
that way, whatever the machine's zone.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import schedule

from jobs.registry import BY_NAME
from jobs.runner import JobRunner, business_clock, lock_key, next_runs
from ledger.clock import system_clock
from ledger.config import load_settings

LAGOS = "Africa/Lagos"  # UTC+1 all year: its even hours are odd hours in UTC
FOUR = ("refresh_flutterwave_token", "check_pending_payments", "create_wallets")
FOUR += ("release_escrow_payments",)


@dataclass(frozen=True)
class Schedule:
    scheduler: schedule.Scheduler
    before: datetime  # wall time around building it (``schedule`` reads the wall clock)
    after: datetime

    def within(self, run: datetime, period: timedelta) -> bool:
        """``run`` is the next firing: after the build, at most ``period`` later."""
        return self.before < run <= self.after + period


@pytest.fixture
def built(tmp_path: Path) -> Iterator[Schedule]:
    settings = load_settings(
        LEDGER_DATABASE_URL=f"sqlite:///{tmp_path / 'ledger.db'}", LEDGER_TIMEZONE=LAGOS
    )
    runner = JobRunner(settings)
    try:
        before = system_clock()
        scheduler = runner.scheduler()
        yield Schedule(scheduler, before, system_clock())
    finally:
        runner.close()


def firings(scheduler: schedule.Scheduler, job: str, zone: str = LAGOS) -> list[datetime]:
    runs = [j.next_run for j in scheduler.get_jobs(job)]
    assert runs, f"{job} is not scheduled"
    assert all(run is not None for run in runs)
    return sorted(run.astimezone(ZoneInfo(zone)) for run in runs if run is not None)


def test_release_fires_at_minute_0_of_every_even_hour_and_only_then(built: Schedule) -> None:
    runs = firings(built.scheduler, "release_escrow_payments")
    assert sorted(run.hour for run in runs) == list(range(0, 24, 2))
    assert {(run.minute, run.second) for run in runs} == {(0, 0)}
    assert {run.astimezone(UTC).hour % 2 for run in runs} == {1}  # odd in UTC: Lagos time
    assert all(built.within(run, timedelta(days=1)) for run in runs)


def test_create_wallets_fires_daily_at_ten_in_the_configured_zone(built: Schedule) -> None:
    [run] = firings(built.scheduler, "create_wallets")
    assert (run.hour, run.minute, run.second) == (10, 0, 0)
    assert run.astimezone(UTC).hour == 9
    assert built.within(run, timedelta(days=1))


def test_check_pending_payments_fires_every_hour_at_minute_0(built: Schedule) -> None:
    [run] = firings(built.scheduler, "check_pending_payments")
    assert (run.minute, run.second) == (0, 0)
    assert built.within(run, timedelta(hours=1))


def test_the_token_refresh_fires_every_minute_at_second_0(built: Schedule) -> None:
    [run] = firings(built.scheduler, "refresh_flutterwave_token")
    assert run.second == 0
    assert built.within(run, timedelta(minutes=1))


def test_next_runs_lists_each_job_with_its_soonest_firing(tmp_path: Path) -> None:
    settings = load_settings(
        LEDGER_DATABASE_URL=f"sqlite:///{tmp_path / 'l.db'}", LEDGER_TIMEZONE=LAGOS
    )
    soonest = {spec.name: when for spec, when in next_runs(settings)}
    assert set(FOUR) <= set(soonest)
    assert all(when.utcoffset() is not None for when in soonest.values())
    release = soonest["release_escrow_payments"].astimezone(ZoneInfo(LAGOS))
    assert (release.hour % 2, release.minute) == (0, 0)
    assert soonest["create_wallets"].astimezone(ZoneInfo(LAGOS)).hour == 10
    assert BY_NAME["release_escrow_payments"].cron == "0 */2 * * *"
    assert BY_NAME["create_wallets"].cron == "0 10 * * *"
    assert BY_NAME["check_pending_payments"].cron == "0 * * * *"
    assert BY_NAME["refresh_flutterwave_token"].cron == "* * * * *"


def test_the_business_clock_of_now_starts_there_and_keeps_time() -> None:
    wall = [datetime(2026, 11, 28, 12, 0, tzinfo=UTC)]
    then = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    clock = business_clock(then, wall=lambda: wall[0])
    assert clock() == then
    wall[0] += timedelta(seconds=90)
    assert clock() == then + timedelta(seconds=90)
    assert business_clock(None, wall=lambda: wall[0])() == wall[0]


def test_advisory_lock_keys_are_stable_distinct_signed_64_bit() -> None:
    keys = [lock_key(name) for name in FOUR]
    assert len(set(keys)) == len(keys)
    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert keys == [lock_key(name) for name in FOUR]
