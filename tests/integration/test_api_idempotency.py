"""``Idempotency-Key``: the first answer replayed, another request refused, concurrent claims
settled by the table's primary key, on SQLite and PostgreSQL."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ledger.api.idempotency import ClaimKind, Fingerprint, IdempotencyStore
from ledger.clock import FixedClock
from ledger.config import Settings
from tests.api_support import OTHER_TOKEN, Api, head
from tests.conftest import T0

USER = {"user_id": "fan-1", "role": "fan"}


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_the_same_key_and_body_replays_the_first_answer(api: Api) -> None:
    first = api.post("/users", json=USER, headers=keyed("k-1"))
    before = head(api)
    again = api.post("/users", json=USER, headers=keyed("k-1"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert head(api) == before
    without = api.post("/users", json=USER)  # no key: runs, and is "already done"
    assert without.status_code == 200
    assert without.json()["changed"] is False


def test_the_same_key_with_another_body_or_path_is_422(api: Api) -> None:
    api.post("/users", json=USER, headers=keyed("k-1"))
    other = api.post("/users", json={**USER, "user_id": "fan-2"}, headers=keyed("k-1"))
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    elsewhere = api.post("/users/fan-1/verify", headers=keyed("k-1"))
    assert elsewhere.status_code == 422


def test_errors_are_replayed_too_but_a_retryable_one_is_not(api: Api) -> None:
    refused = api.post("/users/nobody/verify", headers=keyed("k-404"))
    assert refused.status_code == 404
    api.post("/users", json={"user_id": "nobody", "role": "fan"})
    replay = api.post("/users/nobody/verify", headers=keyed("k-404"))
    assert replay.status_code == 404
    assert replay.headers["idempotent-replayed"] == "true"


def test_a_server_error_releases_the_key(api: Api, monkeypatch: Any) -> None:
    ledger = api.app.state.runtime.services().ledger
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "register_user", lambda *a, **k: 1 / 0)
        assert api.post("/users", json=USER, headers=keyed("k-5xx")).status_code == 500
    retry = api.post("/users", json=USER, headers=keyed("k-5xx"))
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers


def test_keys_belong_to_one_caller(api: Api) -> None:
    api.post("/users", json=USER, headers=keyed("shared"))
    theirs = api.post(
        "/users", json={**USER, "user_id": "fan-9"}, headers=keyed("shared"), token=OTHER_TOKEN
    )
    assert theirs.status_code == 201


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("key", [b"", b"has space", b"x" * 256, "caf\u00e9".encode()])
def test_a_malformed_key_is_422(api: Api, key: bytes) -> None:
    response = api.post("/users", json=USER, headers={"Idempotency-Key": key})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_unauthenticated_keyed_post_is_refused_as_usual(api: Api) -> None:
    assert api.post("/users", json=USER, headers=keyed("k"), token=None).status_code == 401
    assert api.post("/users", json=USER, headers=keyed("k"), token="x" * 20).status_code == 403


# -- the store ------------------------------------------------------------------------------

REQUEST = Fingerprint("POST", "/users", "a" * 64)


@pytest.fixture
def make_store(store_settings: Callable[..., Settings]) -> Any:
    made: list[IdempotencyStore] = []

    def make(clock: Any = None) -> IdempotencyStore:
        store = IdempotencyStore.from_settings(store_settings(), clock=clock or FixedClock(T0))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def test_of_concurrent_claims_exactly_one_runs(make_store: Any) -> None:
    stores = [make_store() for _ in range(4)]
    stores[0].claim("p", "warm-up", REQUEST)  # create the table first
    barrier = threading.Barrier(8)
    kinds: list[ClaimKind] = []
    lock = threading.Lock()

    def claim(store: IdempotencyStore) -> None:
        barrier.wait()
        kind = store.claim("p", "race", REQUEST).kind
        with lock:
            kinds.append(kind)

    threads = [threading.Thread(target=claim, args=(stores[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(k.value for k in kinds) == ["in_progress"] * 7 + ["new"]
    stores[0].complete("p", "race", 201, '{"ok": true}')
    replay = stores[1].claim("p", "race", REQUEST)
    assert (replay.kind, replay.status, replay.response) == (ClaimKind.REPLAY, 201, '{"ok": true}')


def test_a_claim_left_by_a_crash_is_taken_over_after_a_minute(make_store: Any) -> None:
    clock = FixedClock(T0)
    store = make_store(clock)
    assert store.claim("p", "k", REQUEST).kind is ClaimKind.NEW
    clock.advance(timedelta(seconds=30))
    assert store.claim("p", "k", REQUEST).kind is ClaimKind.IN_PROGRESS
    clock.advance(timedelta(seconds=31))
    assert store.claim("p", "k", REQUEST).kind is ClaimKind.NEW


def test_keys_are_forgotten_after_a_day(make_store: Any) -> None:
    clock = FixedClock(T0)
    store = make_store(clock)
    store.claim("p", "k", REQUEST)
    store.complete("p", "k", 200, "{}")
    assert store.claim("p", "k", Fingerprint("POST", "/other", "b" * 64)).kind is ClaimKind.MISMATCH
    clock.advance(timedelta(hours=24))
    assert store.claim("p", "k", Fingerprint("POST", "/other", "b" * 64)).kind is ClaimKind.NEW


def test_a_concurrent_request_with_the_same_key_gets_409_in_progress(
    api: Api, monkeypatch: Any
) -> None:
    """While the first request runs, a second with the same key is told to retry."""
    ledger = api.app.state.runtime.services().ledger
    started, release = threading.Event(), threading.Event()
    real = ledger.register_user

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "register_user", slow)
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(api.post("/users", json=USER, headers=keyed("same")))
    )
    first.start()
    assert started.wait(10)
    second = api.post("/users", json=USER, headers=keyed("same"))
    release.set()
    first.join()
    assert second.status_code == 409
    assert second.json()["error"] == "idempotency_in_progress"
    assert second.headers["retry-after"] == "1"
    assert answers[0].status_code == 201
    third = api.post("/users", json=USER, headers=keyed("same"))
    assert third.status_code == 201
    assert third.headers["idempotent-replayed"] == "true"
