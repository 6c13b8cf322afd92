"""``send_notifications`` delivers the outbox: to a real SMTP server on loopback (aiosmtpd), to
a signed webhook (respx), with retries and backoff, skips, expiry, and an unreachable server
that never holds up the other jobs."""

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from jobs.notifications import store
from jobs.registry import BY_NAME
from jobs.runner import JobRunner, RunRecord
from ledger.application import Ledger
from ledger.clock import FixedClock
from ledger.config import Settings
from ledger.contacts import Contacts
from ledger.domain import ids
from ledger.persistence import store_config
from projections.db import ReadDB
from tests.fakes import FakeProvider
from tests.notify_support import free_port, self_signed, silent_server, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

FROM = "ledger@notify.example"
PASSWORD = "s3cret-pass"
WEBHOOK = "https://platform.example/hooks/ledger"
SECRET = "whsec_test_0123456789abcdef"


@dataclass
class World:
    settings: Settings
    ledger: Ledger
    runner: JobRunner
    clock: FixedClock
    db: ReadDB

    def send(self) -> RunRecord:
        return self.runner.run(BY_NAME["send_notifications"])

    def rows(self, channel: str = "email") -> list[dict[str, Any]]:
        return self.db.fetchall(
            "SELECT id, template, recipient_ref, status, attempts, next_attempt_at, last_error "
            "FROM notifications WHERE channel = %s ORDER BY position, id",
            [channel],
        )

    def contact(self, user: str, email: str | None = None, webhook: str | None = None) -> None:
        Contacts.from_settings(self.settings).set(
            ids.user_id(user), user, email=email, webhook_url=webhook, at=self.clock()
        )


@pytest.fixture
def world(
    store_settings: Callable[..., Settings], clock: FixedClock, provider: FakeProvider
) -> Iterator[Callable[..., World]]:
    made: list[World] = []

    def make(**overrides: Any) -> World:
        settings = store_settings(**overrides)
        ledger = Ledger.from_settings(settings, clock=clock, provider=provider)
        runner = JobRunner(settings, clock=clock, wall_clock=clock, provider=provider)
        db = ReadDB(store_config(settings.database_url, schema=settings.postgres_schema))
        made.append(World(settings, ledger, runner, clock, db))
        return made[-1]

    yield make
    for w in made:
        w.db.close()
        w.runner.close()
        w.ledger.close()


def _smtp(port: int, *, auth: bool = False, query: str = "") -> dict[str, Any]:
    userinfo = f"mailer:{PASSWORD}@" if auth else ""
    return {
        "LEDGER_SMTP_URL": f"smtp://{userinfo}127.0.0.1:{port}{query}",
        "LEDGER_SMTP_FROM": FROM,
        "LEDGER_NOTIFY_TIMEOUT": "2",
    }


def _celebrity_with_wallet(w: World, user: str = "celeb-1") -> None:
    w.ledger.register_user(user, "celebrity", verified=True)
    w.ledger.create_wallet(user, "NGN")


def test_mails_reach_a_real_smtp_server_with_login_and_a_message_id_from_the_key(
    world: Callable[..., World],
) -> None:
    with smtp_server(auth=True) as sink:
        w = world(**_smtp(sink.port, auth=True), LEDGER_OPERATOR_EMAILS="ops@x.example,b@x.example")
        w.ledger.register_user("fan-1", "fan")
        _celebrity_with_wallet(w)
        w.contact("fan-1", email="fan1@mail.example")
        w.contact("celeb-1", email="star@mail.example")
        rid = w.ledger.create_request("fan-1", "celeb-1", 500_000, "NGN").id
        tid = w.ledger.record_payment(rid, "ref-1").id
        w.ledger.confirm_payment(tid, amount=400_000, currency="NGN")  # flagged: operators

        record = w.send()
        assert (record.status, record.counts.succeeded) == ("ok", 2)  # celebrity, operators
        assert w.send().counts.processed == 0  # nothing twice
    by_subject = {m["Subject"]: m for m in sink.received}
    wallet = by_subject["Your NGN wallet is ready"]
    assert wallet["To"] == "star@mail.example"
    assert wallet["From"] == FROM
    sent = {r["template"]: r for r in w.rows()}
    assert wallet["Message-ID"] == f"<{sent['wallet_created']['id']}@notify.example>"
    assert [part.get_content_type() for part in wallet.walk()][1:] == ["text/plain", "text/html"]
    flagged = by_subject["Payment flagged for review: amount_mismatch"]
    assert flagged["To"] == "ops@x.example, b@x.example"
    assert sink.logins == ["mailer"]
    assert {r["status"] for r in w.rows()} == {"SENT"}
    assert {r["attempts"] for r in w.rows()} == {1}


def test_a_mail_refused_twice_arrives_on_the_third_attempt_after_growing_delays(
    world: Callable[..., World],
) -> None:
    with smtp_server(refuse=2) as sink:
        w = world(**_smtp(sink.port))
        _celebrity_with_wallet(w)
        w.contact("celeb-1", email="star@mail.example")
        delays = []
        for _ in range(2):
            assert w.send().counts.failed == 1
            (row,) = w.rows()
            assert row["status"] == "PENDING"
            assert "451" in row["last_error"]
            assert w.send().counts.processed == 0  # not due before its delay
            delays.append(_at(row["next_attempt_at"]) - w.clock())
            w.clock.advance(delays[-1])
        assert delays == [timedelta(minutes=1), timedelta(minutes=2)]
        assert w.send().counts.succeeded == 1
    (row,) = w.rows()
    assert (row["status"], row["attempts"], row["last_error"]) == ("SENT", 3, None)
    assert len(sink.received) == 1


def _at(value: Any) -> Any:
    from datetime import datetime

    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@pytest.mark.parametrize("server", ["silent", "closed"])
def test_an_unreachable_smtp_server_leaves_mail_pending_with_growing_delay_and_other_jobs_run(
    world: Callable[..., World], server: str
) -> None:
    with silent_server() as silent:
        port = silent if server == "silent" else free_port()
        w = world(**{**_smtp(port), "LEDGER_NOTIFY_TIMEOUT": "1"})
        for n in range(3):
            _celebrity_with_wallet(w, f"celeb-{n}")
            w.contact(f"celeb-{n}", email=f"star{n}@mail.example")
        w.ledger.register_user("celeb-late", "celebrity", verified=True)  # create_wallets' work
        started = time.monotonic()
        records = {r.job: r for r in w.runner.run_once()}
        assert time.monotonic() - started < 10
        assert set(records) == set(BY_NAME)
        assert records["create_wallets"].status == "ok"
        assert records["create_wallets"].counts.succeeded == 1
        assert records["send_notifications"].status == "degraded"  # finished; mail waits
        assert records["send_notifications"].duration_ms < 5000

        def mailed() -> list[dict[str, Any]]:  # celeb-late has no contact: skipped
            return [r for r in w.rows() if r["recipient_ref"] != "celeb-late"]

        assert {r["status"] for r in mailed()} == {"PENDING"}
        first = [_at(r["next_attempt_at"]) - w.clock() for r in mailed()]
        assert first == [timedelta(minutes=1)] * 3
        w.clock.advance(timedelta(minutes=1))
        w.send()
        second = [_at(r["next_attempt_at"]) - w.clock() for r in mailed()]
        assert second == [timedelta(minutes=2)] * 3
        assert {r["status"] for r in mailed()} == {"PENDING"}
        assert all("127.0.0.1" in r["last_error"] for r in mailed())


def test_after_the_last_attempt_a_message_fails_until_an_operator_retries_it(
    world: Callable[..., World],
) -> None:
    with smtp_server(refuse=2) as sink:
        w = world(**_smtp(sink.port), LEDGER_NOTIFY_MAX_ATTEMPTS="2")
        _celebrity_with_wallet(w)
        w.contact("celeb-1", email="star@mail.example")
        w.send()
        w.clock.advance(timedelta(minutes=1))
        w.send()
        (row,) = w.rows()
        assert (row["status"], row["attempts"]) == ("FAILED", 2)
        w.clock.advance(timedelta(hours=1))
        assert w.send().counts.processed == 0
        assert store.retry(w.db, [row["id"]], w.clock()) == 1
        assert w.send().counts.succeeded == 1
    assert len(sink.received) == 1


def test_messages_with_nowhere_to_go_are_skipped_and_counted(
    world: Callable[..., World],
) -> None:
    with smtp_server() as sink:
        w = world(**_smtp(sink.port))
        _celebrity_with_wallet(w)  # no contact at all
        w.ledger.register_user("celeb-2", "celebrity", verified=True)
        w.contact("celeb-2", email="two@mail.example")
        Contacts.from_settings(w.settings).erase(ids.user_id("celeb-2"))
        w.ledger.create_wallet("celeb-2", "NGN")
        record = w.send()
    assert (record.status, record.counts.skipped, record.counts.failed) == ("ok", 4, 0)
    assert {(r["status"], r["last_error"]) for r in w.rows()} == {
        ("SKIPPED", "no email address on file")
    }
    assert {r["last_error"] for r in w.rows("webhook")} == {"no webhook URL"}
    assert sink.received == []


def test_messages_never_tried_expire_after_the_maximum_age(world: Callable[..., World]) -> None:
    w = world(LEDGER_NOTIFY_MAX_AGE="1d")
    _celebrity_with_wallet(w)
    w.clock.advance(timedelta(days=2))
    record = w.send()
    assert record.counts.skipped == 2
    assert "2 expired" in (record.counts.detail or "")
    assert {r["last_error"] for r in w.rows()} == {"expired: older than LEDGER_NOTIFY_MAX_AGE"}


def test_starttls_is_used_when_required_and_the_certificate_is_checked(
    world: Callable[..., World], tmp_path: Path
) -> None:
    files = self_signed(tmp_path)
    if files is None:
        pytest.skip("openssl is not installed")
    with smtp_server(auth=True, tls_files=files) as sink:
        settings = _smtp(sink.port, auth=True, query="?starttls=required")
        w = world(**settings, LEDGER_SMTP_CA_FILE=str(files[0]))
        _celebrity_with_wallet(w)
        w.contact("celeb-1", email="star@mail.example")
        assert w.send().counts.succeeded == 1
    assert sink.tls == [True]
    assert sink.logins == ["mailer"]


def test_smtp_credentials_and_addresses_never_reach_logs_or_stored_errors(
    world: Callable[..., World], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    w = world(**_smtp(free_port(), auth=True))
    _celebrity_with_wallet(w)
    w.contact("celeb-1", email="star@mail.example")
    w.send()
    (row,) = w.rows()
    assert PASSWORD not in caplog.text
    assert PASSWORD not in row["last_error"]
    assert PASSWORD not in repr(w.settings)
    assert "star@mail.example" not in caplog.text


@respx.mock(assert_all_called=False)
def test_the_webhook_is_signed_carries_the_idempotency_key_and_is_retried_unchanged(
    world: Callable[..., World], respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(WEBHOOK).mock(side_effect=[httpx.Response(503), httpx.Response(204)])
    own = respx_mock.post("https://fan-app.example/hook").mock(return_value=httpx.Response(200))
    w = world(LEDGER_NOTIFY_WEBHOOK_URL=WEBHOOK, LEDGER_NOTIFY_WEBHOOK_SECRET=SECRET)
    _celebrity_with_wallet(w)
    record = w.send()
    assert record.counts.failed == 1
    assert "email waits" in (record.counts.detail or "")
    w.clock.advance(timedelta(minutes=1))
    assert w.send().counts.succeeded == 1
    (row,) = w.rows("webhook")
    first, second = (call.request for call in route.calls)
    assert first.content == second.content
    for request in (first, second):
        expected = hmac.new(SECRET.encode(), request.content, hashlib.sha256).hexdigest()
        assert request.headers["X-Ledger-Signature"] == f"sha256={expected}"
        assert request.headers["Idempotency-Key"] == row["id"]
    body = json.loads(first.content)
    assert body["recipient"]["external_id"] == "celeb-1"
    assert body["template"] == "wallet_created"
    assert body["data"]["currency"] == "NGN"
    assert {r["status"] for r in w.rows()} == {"PENDING"}  # email: no SMTP configured

    w.ledger.register_user("celeb-9", "celebrity", verified=True)
    w.contact("celeb-9", webhook="https://fan-app.example/hook")  # the user's own URL wins
    w.ledger.create_wallet("celeb-9", "NGN")
    w.send()
    assert (own.call_count, route.call_count) == (1, 2)


@pytest.mark.postgres
def test_runners_claiming_at_once_on_postgresql_never_take_the_same_row(
    world: Callable[..., World], backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    w = world()
    for n in range(3):
        _celebrity_with_wallet(w, f"celeb-{n}")
    w.send()  # catches the outbox up; email rows stay PENDING (no SMTP)
    other = ReadDB(w.db.config)
    try:
        with w.db.transaction():  # another runner holds the first due row, mid-claim
            held = w.db.fetchall(
                "SELECT id FROM notifications WHERE channel = 'email' "
                "ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE"
            )
            other.execute("SET lock_timeout = '2s'")
            claimed = store.claim(other, "email", w.clock(), 10)
        assert len(claimed) == 2
        assert held[0]["id"] not in {row.id for row in claimed}
    finally:
        other.close()
