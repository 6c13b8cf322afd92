"""The scheduled jobs, their schedules, and the order ``--once`` runs them in.

Schedules fire when the original NestJS cron expressions fire, in ``LEDGER_TIMEZONE``:

| job | cron | when |
|---|---|---|
| refresh_flutterwave_token | ``* * * * *`` | every minute, at second 0 |
| check_pending_payments | ``0 * * * *`` | every hour, at minute 0 |
| release_escrow_payments | ``0 */2 * * *`` | minute 0 of every even hour |
| create_wallets | ``0 10 * * *`` | every day at 10:00 |
| send_notifications | ``* * * * *`` | every minute, at second 0 |

``schedule`` has no "every even hour", so that job gets twelve daily entries (00:00, 02:00,
... 22:00). ``schedule`` does not run missed jobs (``run_pending`` runs what is due now): the
runner runs every job once at start-up instead.
"""

from collections.abc import Callable
from dataclasses import dataclass

import schedule

from jobs.base import JobContext, JobCounts
from jobs.check_pending_payments import check_pending_payments
from jobs.create_wallets import create_wallets
from jobs.notifications.send import send_notifications
from jobs.refresh_flutterwave_token import refresh_flutterwave_token
from jobs.release_escrow_payments import release_escrow_payments

JobFunction = Callable[[JobContext], JobCounts]
Install = Callable[[schedule.Scheduler, str, Callable[[], None]], list[schedule.Job]]


def _every_minute(s: schedule.Scheduler, tz: str, fire: Callable[[], None]) -> list[schedule.Job]:
    return [s.every().minute.at(":00", tz).do(fire)]


def _hourly(s: schedule.Scheduler, tz: str, fire: Callable[[], None]) -> list[schedule.Job]:
    return [s.every().hour.at(":00", tz).do(fire)]


def _even_hours(s: schedule.Scheduler, tz: str, fire: Callable[[], None]) -> list[schedule.Job]:
    return [s.every().day.at(f"{hour:02d}:00", tz).do(fire) for hour in range(0, 24, 2)]


def _daily_at_ten(s: schedule.Scheduler, tz: str, fire: Callable[[], None]) -> list[schedule.Job]:
    return [s.every().day.at("10:00", tz).do(fire)]


@dataclass(frozen=True)
class JobSpec:
    name: str
    run: JobFunction
    cron: str
    when: str
    install: Install
    # What its runs may report for a person to look at (``JobCounts.attend``), besides
    # ``items_failed``: the metrics start these series at 0.
    attention_reasons: tuple[str, ...] = ()

    @property
    def frequent(self) -> bool:
        """Runs every minute: its idle runs log at debug."""
        return self.cron.split()[0] == "*"

    @property
    def interval_seconds(self) -> int:
        """The longest time between two firings of its cron (minute, hour, N hours, day)."""
        minute, hour = self.cron.split()[:2]
        if minute == "*":
            return 60
        if hour == "*":
            return 3600
        if hour.startswith("*/"):
            return int(hour[2:]) * 3600
        return 86400


# In the order ``--once`` runs them: a fresh token first; payments verified and requests timed
# out; wallets opened; then releases (which need the wallets); then the messages about them.
JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "refresh_flutterwave_token",
        refresh_flutterwave_token,
        "* * * * *",
        "every minute at :00",
        _every_minute,
    ),
    JobSpec(
        "check_pending_payments",
        check_pending_payments,
        "0 * * * *",
        "every hour at minute 0",
        _hourly,
        (
            "provider_unreachable",
            "provider_misconfigured",
            "provider_answer_invalid",
            "provider_error",
            "provider_missing",
        ),
    ),
    JobSpec("create_wallets", create_wallets, "0 10 * * *", "every day at 10:00", _daily_at_ten),
    JobSpec(
        "release_escrow_payments",
        release_escrow_payments,
        "0 */2 * * *",
        "every even hour at minute 0",
        _even_hours,
        ("release_deferred",),
    ),
    JobSpec(
        "send_notifications",
        send_notifications,
        "* * * * *",
        "every minute at :00",
        _every_minute,
    ),
)
BY_NAME = {spec.name: spec for spec in JOBS}

__all__ = ["BY_NAME", "JOBS", "JobFunction", "JobSpec"]
