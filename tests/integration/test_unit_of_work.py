"""The application's infrastructure held against the library's behaviour, on SQLite and
PostgreSQL: the ``save`` override writes what ``Application.save`` writes (events,
notifications, snapshots) through the same steps in the same order; the retry loop re-checks
a refusal and a no-op on fresh state, retries a write decided on stale state, never calls the
provider on a cached decision, and gives up with ``Conflict`` writing nothing."""

import json
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from ledger.application import Ledger
from ledger.config import Settings, load_settings
from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.money import Money
from ledger.domain.request import Request
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.errors import Conflict, DomainError
from tests.conftest import T0
from tests.fakes import FakeProvider

AT = Stamp(business=T0, recorded=T0)
RID = UUID("00000000-0000-4000-8000-0000000000aa")


class SnapshottingLedger(Ledger):
    """The ledger with snapshots on, so the save path's snapshot step is exercised too."""

    snapshotting_intervals = {User: 1, Request: 2}


@pytest.fixture
def two_stores(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> Iterator[tuple[Settings, Settings]]:
    """Two empty stores of the parametrised backend."""
    if backend == "sqlite":
        yield tuple(  # type: ignore[misc]
            load_settings(LEDGER_DATABASE_URL=f"sqlite:///{tmp_path / f'{n}.db'}") for n in "ab"
        )
        return
    url = request.getfixturevalue("pg_database_url")
    schema = request.getfixturevalue("pg_schema")
    schemas = (f"{schema}_a", f"{schema}_b")
    try:
        yield tuple(  # type: ignore[misc]
            load_settings(LEDGER_DATABASE_URL=url, LEDGER_POSTGRES_SCHEMA=s) for s in schemas
        )
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for s in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')


def _history() -> Iterator[list[LedgerAggregate]]:
    """The saves of one small story, each a list of aggregates with pending events, built
    the same way every time (so two stores receive identical events). A generator: each
    save is built after the previous one was saved."""
    fan = User.register("fan-1", "fan", AT)
    star = User.register("star-1", "celebrity", AT)
    star.verify(AT)
    wallet = Wallet.open(star.id, "NGN", AT)
    request = Request.create(RID, fan.id, star.id, Money(500_000, "NGN"), AT)
    yield [fan, star, wallet, request]
    wallet.credit(Money(400_000, "NGN"), RID, AT)
    wallet.debit(Money(100_000, "NGN"), "payout-1", AT)
    yield [wallet]
    request.mark_paid(UUID(int=7), AT)
    star.verify(AT)  # already verified: no event
    yield [request, star]


def _rows(ledger: Ledger) -> dict[str, Any]:
    notifications = ledger.recorder.select_notifications(start=1, limit=1000)
    snapshots: list[Any] = []
    if ledger.snapshots is not None:
        for n in notifications:
            snapshots += [
                (s.originator_id, s.originator_version, s.topic, _without_taken_at(s.state))
                for s in ledger.snapshots.recorder.select_events(n.originator_id)
            ]
    return {
        "notifications": [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications
        ],
        "snapshots": sorted(set(snapshots), key=repr),
    }


def _without_taken_at(state: bytes) -> Any:
    """A snapshot's state without its own timestamp (the wall time it was taken)."""
    decoded = json.loads(state)
    decoded.pop("timestamp", None)
    return json.dumps(decoded, sort_keys=True)


class Spy:
    """Records the save path's steps (and what each was given), then does them."""

    def __init__(self, ledger: Ledger) -> None:
        self.calls: list[tuple[str, Any]] = []
        for step in ("_record", "_take_snapshots", "_notify", "notify"):
            original = getattr(ledger, step)
            setattr(ledger, step, self._spy(step, original))

    def _spy(self, step: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def spied(arg: Any) -> Any:
            if step in ("_record", "_take_snapshots"):
                seen: Any = (list(arg.events), sorted(arg.aggregates), dict(arg.saved_kwargs))
            elif step == "_notify":
                seen = [(r.domain_event, r.notification.id) for r in arg]
            else:
                seen = list(arg)
            self.calls.append((step, seen))
            return original(arg)

        return spied


@pytest.mark.parametrize("cls", [Ledger, SnapshottingLedger], ids=["plain", "snapshots"])
def test_the_save_override_writes_what_the_library_save_writes(
    two_stores: tuple[Settings, Settings], cls: type[Ledger]
) -> None:
    ours, libs = (cls.from_settings(s) for s in two_stores)
    try:
        our_spy, lib_spy = Spy(ours), Spy(libs)
        for our_save, lib_save in zip(_history(), _history(), strict=True):
            our_recordings = ours.save(*our_save)
            lib_recordings = Application.save(libs, *lib_save)  # the library's own save
            assert [(r.domain_event, r.notification.id) for r in our_recordings] == [
                (r.domain_event, r.notification.id) for r in lib_recordings
            ]
            assert all(a.collect_events() == [] for a in our_save)
        assert our_spy.calls == lib_spy.calls
        assert [step for step, _ in our_spy.calls][:4] == [
            "_record",
            "_take_snapshots",
            "_notify",
            "notify",
        ]
        assert _rows(ours) == _rows(libs)
        if cls is SnapshottingLedger:
            assert _rows(ours)["snapshots"], "snapshots were taken"
    finally:
        ours.close()
        libs.close()


def test_the_save_override_passes_keyword_arguments_to_the_recorder(
    make_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = make_ledger()
    seen: list[dict[str, Any]] = []
    insert = ledger.recorder.insert_events

    def recording(stored: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return insert(stored, **kwargs)

    monkeypatch.setattr(ledger.recorder, "insert_events", recording)
    ledger.save(User.register("fan-1", "fan", AT), marker="x")
    assert seen[-1].get("marker") == "x"


def test_anything_but_our_aggregates_goes_to_the_library_save(
    make_ledger: Callable[..., Ledger],
) -> None:
    ledger = make_ledger()
    user = User.register("fan-1", "fan", AT)
    events = user.collect_events()
    ledger.save(*events)  # events, not aggregates: the library's own path
    assert ledger.get_user("fan-1").role.value == "fan"
    ledger.save(None)  # the library accepts None: so does ours
    assert ledger.recorder.max_notification_id() == 1


# -- the retry loop -----------------------------------------------------------------------


@pytest.fixture
def pair(make_ledger: Callable[..., Ledger]) -> tuple[Ledger, Ledger]:
    """Two ledgers (two processes, say) on one store, each with its own cache."""
    return make_ledger(), make_ledger()


def _paid_request(ledger: Ledger) -> tuple[UUID, UUID]:
    ledger.register_user("fan-1", "fan")
    ledger.register_user("star-1", "celebrity", verified=True)
    ledger.create_wallet("star-1", "NGN")
    rid = ledger.create_request("fan-1", "star-1", 500_000, "NGN").id
    tid = ledger.record_payment(rid, "ref-1").id
    return rid, tid


def _count(ledger: Ledger, topic_suffix: str) -> int:
    notifications = ledger.recorder.select_notifications(start=1, limit=10_000)
    return sum(1 for n in notifications if n.topic.endswith(topic_suffix))


def test_a_refusal_decided_on_a_stale_cached_copy_is_rechecked_on_fresh_state(
    pair: tuple[Ledger, Ledger],
) -> None:
    a, b = pair
    rid, tid = _paid_request(a)
    assert a.get_request(rid).status.value == "PENDING"  # and a caches it
    b.confirm_payment(tid, amount=500_000, currency="NGN")  # IN_PROGRESS, behind a's cache
    result = a.complete_request(rid)  # stale copy says PENDING: re-checked fresh, completes
    assert result.changed is True
    assert _count(a, "RequestCompleted") == 1


def test_a_write_decided_on_a_stale_cached_copy_collides_and_is_decided_again(
    pair: tuple[Ledger, Ledger],
) -> None:
    a, b = pair
    a.register_user("star-1", "celebrity")
    a.get_user("star-1")
    assert b.verify_user("star-1").changed is True
    again = a.verify_user("star-1")  # a's cached copy is unverified: its write collides
    assert again.changed is False
    assert "already verified" in again.message
    assert _count(a, "UserVerified") == 1


def test_a_no_op_decided_on_a_cached_copy_is_rechecked_on_fresh_state(
    pair: tuple[Ledger, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = pair
    a.register_user("star-1", "celebrity", verified=True)
    fresh_reads: list[bool] = []
    get = a._get

    def tracking(cls: Any, aggregate_id: UUID, *, fresh: bool = False) -> Any:
        fresh_reads.append(fresh)
        return get(cls, aggregate_id, fresh=fresh)

    monkeypatch.setattr(a, "_get", tracking)
    assert a.verify_user("star-1").changed is False
    assert fresh_reads == [False, True]  # the cached "already verified" was re-read fresh


def test_the_provider_is_never_called_on_a_decision_taken_from_cached_state(
    make_ledger: Callable[..., Ledger], provider: FakeProvider
) -> None:
    a, b = make_ledger(), make_ledger()
    rid, tid = _paid_request(a)
    a.confirm_payment(tid, amount=500_000, currency="NGN")
    a.get_request(rid)  # a caches the request IN_PROGRESS
    assert b.decline_request(rid).changed is True  # refunded through the provider once
    again = a.decline_request(rid)  # a's cached copy says IN_PROGRESS: would refund again
    assert again.changed is False
    assert len(provider.refunds) == 1
    assert _count(a, "EscrowRefunded") == 1


def test_conflicts_beyond_the_retries_end_in_conflict_and_write_nothing(
    make_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = make_ledger(LEDGER_CONFLICT_RETRIES=2)
    attempts: list[int] = []

    def always_collides(*objs: Any, **kwargs: Any) -> Any:
        attempts.append(1)
        raise IntegrityError("another writer won")

    monkeypatch.setattr(ledger, "save", always_collides)
    with pytest.raises(Conflict):
        ledger.register_user("fan-1", "fan")
    assert len(attempts) == 3  # the first try and two retries
    assert ledger.recorder.max_notification_id() in (None, 0)


def test_a_refusal_on_fresh_state_is_raised_and_nothing_is_saved(
    make_ledger: Callable[..., Ledger],
) -> None:
    ledger = make_ledger()
    rid, _ = _paid_request(ledger)
    head = ledger.recorder.max_notification_id()
    with pytest.raises(DomainError, match="PENDING"):
        ledger.complete_request(rid)
    assert ledger.recorder.max_notification_id() == head
