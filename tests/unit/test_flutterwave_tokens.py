"""The Flutterwave token manager on SQLite: refresh when missing or inside the margin, not when
fresh; "disabled" when not configured; error answers keep the stored token; the token and the
client secret stay out of logs, errors and reprs; two processes refreshing together make one
call (``BEGIN IMMEDIATE``). The same single-flight on PostgreSQL is in
tests/integration/test_flutterwave_tokens.py.

Flutterwave is a respx router behind an injected transport serving the fixture
tests/fixtures/flutterwave/token.json.
"""

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from ledger.config import load_settings
from ledger.errors import ConfigError, ProviderError, ProviderUnavailable
from ledger.persistence import store_config
from ledger.providers.flutterwave import (
    FlutterwaveTokenManager,
    SqlTokenStore,
    StoredToken,
    TokenOutcome,
    TokenStore,
)
from ledger.sidetables import SideTables
from tests.fixtures import fixture_json

TOKEN_URL = "https://idp.flutterwave.test/realms/flutterwave/protocol/openid-connect/token"
CLIENT_ID = "fw_client_id_123"
CLIENT_SECRET = "fw_client_secret_never_print_987"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def token_answer() -> dict[str, Any]:
    answer: dict[str, Any] = fixture_json("flutterwave", "token.json")
    return answer


FIXTURE_TOKEN = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.fixture.signature"


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_called=False)


def sqlite_store(db_path: str) -> SqlTokenStore:
    tables = SideTables(store_config(f"sqlite:///{db_path}"))
    return SqlTokenStore(tables, lock_timeout=timedelta(seconds=10))


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.db")


@pytest.fixture
def make_manager(
    router: respx.Router, db_path: str
) -> Iterator[Callable[..., FlutterwaveTokenManager]]:
    made: list[FlutterwaveTokenManager] = []

    def make(store: TokenStore | None = None, **kwargs: Any) -> FlutterwaveTokenManager:
        options: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "token_url": TOKEN_URL,
            "transport": httpx.MockTransport(router.handler),
            **kwargs,
        }
        store = store or sqlite_store(db_path)
        manager = FlutterwaveTokenManager(store=store, **options)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


@pytest.fixture
def manager(make_manager: Callable[..., FlutterwaveTokenManager]) -> FlutterwaveTokenManager:
    return make_manager()


def stored(db_path: str) -> tuple[Any, ...] | None:
    with sqlite3.connect(db_path) as conn:
        row: tuple[Any, ...] | None = conn.execute(
            "SELECT access_token, expires_at, refreshed_at FROM provider_tokens "
            "WHERE provider = 'flutterwave'"
        ).fetchone()
    return row


def test_a_missing_token_is_fetched_with_client_credentials_and_stored(
    router: respx.Router, manager: FlutterwaveTokenManager, db_path: str
) -> None:
    route = router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_answer()))

    assert manager.refresh_if_needed(T0) is TokenOutcome.REFRESHED

    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(request.content.decode())) == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "client_credentials",
    }
    assert stored(db_path) == (
        FIXTURE_TOKEN,
        (T0 + timedelta(seconds=600)).isoformat(),
        T0.isoformat(),
    )


def test_a_token_with_more_than_the_margin_left_is_not_refreshed(
    router: respx.Router, manager: FlutterwaveTokenManager
) -> None:
    route = router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_answer()))
    manager.refresh_if_needed(T0)

    # 600 s lifetime, 120 s margin: fresh up to and including 480 s after the refresh
    assert manager.refresh_if_needed(T0 + timedelta(seconds=400)) is TokenOutcome.FRESH
    assert manager.refresh_if_needed(T0 + timedelta(seconds=480)) is TokenOutcome.FRESH
    assert route.call_count == 1


@pytest.mark.parametrize("later", [481, 599, 600, 3600], ids=lambda s: f"{s}s")
def test_a_token_with_less_than_the_margin_left_or_expired_is_refreshed(
    router: respx.Router, manager: FlutterwaveTokenManager, db_path: str, later: int
) -> None:
    route = router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_answer()))
    manager.refresh_if_needed(T0)
    now = T0 + timedelta(seconds=later)

    assert manager.refresh_if_needed(now) is TokenOutcome.REFRESHED
    assert route.call_count == 2
    row = stored(db_path)
    assert row is not None
    assert row[1] == (now + timedelta(seconds=600)).isoformat()


def test_the_margin_comes_from_the_setting(
    router: respx.Router, make_manager: Callable[..., FlutterwaveTokenManager]
) -> None:
    manager = make_manager(margin=timedelta(seconds=300))
    router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_answer()))
    manager.refresh_if_needed(T0)

    assert manager.refresh_if_needed(T0 + timedelta(seconds=301)) is TokenOutcome.REFRESHED


def test_current_token_returns_the_stored_token_refreshing_only_when_needed(
    router: respx.Router, manager: FlutterwaveTokenManager
) -> None:
    route = router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_answer()))

    assert manager.current_token(T0) == FIXTURE_TOKEN
    assert manager.current_token(T0 + timedelta(seconds=60)) == FIXTURE_TOKEN
    assert route.call_count == 1


def test_processes_share_the_stored_token(
    router: respx.Router, make_manager: Callable[..., FlutterwaveTokenManager]
) -> None:
    route = router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_answer()))
    first, second = make_manager(), make_manager()

    assert first.refresh_if_needed(T0) is TokenOutcome.REFRESHED
    assert second.refresh_if_needed(T0 + timedelta(seconds=30)) is TokenOutcome.FRESH
    assert second.current_token(T0 + timedelta(seconds=30)) == FIXTURE_TOKEN
    assert route.call_count == 1


@pytest.mark.parametrize(
    "missing",
    [{"client_id": None}, {"client_secret": None}, {"token_url": None}, {"client_secret": " "}],
    ids=["client_id", "client_secret", "token_url", "blank-secret"],
)
def test_without_configuration_it_is_disabled_and_touches_nothing(
    router: respx.Router,
    make_manager: Callable[..., FlutterwaveTokenManager],
    db_path: str,
    missing: dict[str, Any],
) -> None:
    manager = make_manager(**missing)

    assert manager.refresh_if_needed(T0) is TokenOutcome.DISABLED
    assert not router.calls
    assert not Path(db_path).exists()
    with pytest.raises(ConfigError, match="FLUTTERWAVE_CLIENT_ID"):
        manager.current_token(T0)


def test_from_settings_is_disabled_by_default_and_uses_the_ledgers_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, router: respx.Router
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("FLUTTERWAVE_CLIENT_ID", "FLUTTERWAVE_CLIENT_SECRET", "FLUTTERWAVE_TOKEN_URL"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    transport = httpx.MockTransport(router.handler)
    router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_answer()))

    with FlutterwaveTokenManager.from_settings(
        load_settings(LEDGER_DATABASE_URL=url), transport=transport
    ) as disabled:
        assert disabled.refresh_if_needed(T0) is TokenOutcome.DISABLED
    settings = load_settings(
        LEDGER_DATABASE_URL=url,
        FLUTTERWAVE_CLIENT_ID=CLIENT_ID,
        FLUTTERWAVE_CLIENT_SECRET=CLIENT_SECRET,
        FLUTTERWAVE_TOKEN_URL=TOKEN_URL,
        FLUTTERWAVE_TOKEN_MARGIN="60s",
    )
    with FlutterwaveTokenManager.from_settings(settings, transport=transport) as enabled:
        assert enabled.margin == timedelta(seconds=60)
        assert enabled.refresh_if_needed(T0) is TokenOutcome.REFRESHED
    assert stored(str(tmp_path / "ledger.db")) is not None


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (
            httpx.Response(
                401,
                json={"error": "invalid_client", "error_description": "Invalid client secret"},
            ),
            ProviderError,
            r"HTTP 401\): Invalid client secret",
        ),
        (httpx.Response(400, json={"error": "unauthorized_client"}), ProviderError, "unauthorized"),
        (httpx.Response(500), ProviderUnavailable, "HTTP 500"),
        (httpx.Response(429, headers={"Retry-After": "5"}), ProviderUnavailable, "HTTP 429"),
        (httpx.ReadTimeout("slow"), ProviderUnavailable, "ReadTimeout"),
        (httpx.ConnectError("refused"), ProviderUnavailable, "ConnectError"),
        (httpx.Response(200, text="<html>"), ProviderError, "malformed JSON"),
        (
            httpx.Response(200, json={"expires_in": 600}),
            ProviderError,
            "access_token: Field required",
        ),
        (
            httpx.Response(200, json={"access_token": "t", "expires_in": 0}),
            ProviderError,
            "expires_in",
        ),
    ],
    ids=[
        "401",
        "400",
        "500",
        "429",
        "timeout",
        "connect",
        "malformed",
        "no-token",
        "no-lifetime",
    ],
)
def test_an_error_answer_raises_once_and_keeps_the_stored_token(
    router: respx.Router,
    manager: FlutterwaveTokenManager,
    db_path: str,
    response: Any,
    error: type[ProviderError],
    message: str,
) -> None:
    route = router.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(200, json=token_answer()), response]
    )
    manager.refresh_if_needed(T0)
    before = stored(db_path)

    with pytest.raises(error, match=message) as raised:
        manager.refresh_if_needed(T0 + timedelta(seconds=500))

    if error is ProviderError:
        assert not isinstance(raised.value, ProviderUnavailable)
    assert route.call_count == 2  # not retried: the next run (a minute later) tries again
    assert stored(db_path) == before


def test_the_token_and_client_secret_never_reach_logs_errors_or_reprs(
    router: respx.Router, manager: FlutterwaveTokenManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": "invalid_client", "error_description": f"bad secret {CLIENT_SECRET}"}
    router.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(200, json=token_answer()), httpx.Response(401, json=echo)]
    )
    manager.refresh_if_needed(T0)

    with pytest.raises(ProviderError) as raised:
        manager.refresh_if_needed(T0 + timedelta(seconds=500))

    assert "***" in str(raised.value)
    texts = [caplog.text, str(raised.value), repr(raised.value), repr(manager)]
    texts.append(repr(StoredToken(FIXTURE_TOKEN, T0, T0)))
    for text in texts:
        assert FIXTURE_TOKEN not in text
        assert CLIENT_SECRET not in text
    assert "token=refreshed" in caplog.text


class PeekBarrier:
    """A token store whose callers all finish their unlocked read before any goes on: both
    "processes" have seen no usable token when they race for the lock."""

    def __init__(self, inner: TokenStore, barrier: threading.Barrier) -> None:
        self.inner = inner
        self.barrier = barrier

    def peek(self, provider: str) -> StoredToken:
        row = self.inner.peek(provider)
        self.barrier.wait(timeout=10)
        return row

    def under_lock(
        self, provider: str, update: Callable[[StoredToken], StoredToken | None]
    ) -> tuple[StoredToken, bool]:
        return self.inner.under_lock(provider, update)


@pytest.mark.parametrize("stored_first", [False, True], ids=["missing", "expiring"])
def test_two_processes_refreshing_together_make_one_call_and_share_the_token(
    router: respx.Router,
    make_manager: Callable[..., FlutterwaveTokenManager],
    db_path: str,
    stored_first: bool,
) -> None:
    calls = []

    def slow_token(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        time.sleep(0.1)  # the other process reaches the lock meanwhile
        return httpx.Response(200, json={**token_answer(), "access_token": f"tok-{len(calls)}"})

    router.post(TOKEN_URL).mock(side_effect=slow_token)
    if stored_first:  # a token with 100 s left, under the 120 s margin
        make_manager().refresh_if_needed(T0 - timedelta(seconds=500))
    barrier = threading.Barrier(2)
    managers = [make_manager(store=PeekBarrier(sqlite_store(db_path), barrier)) for _ in range(2)]
    outcomes: list[TokenOutcome] = []
    tokens: list[str] = []

    def refresh(manager: FlutterwaveTokenManager) -> None:
        outcomes.append(manager.refresh_if_needed(T0))
        tokens.append(manager.current_token(T0))

    threads = [threading.Thread(target=refresh, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == [TokenOutcome.FRESH, TokenOutcome.REFRESHED]
    expected = f"tok-{len(calls)}"
    assert len(calls) == 1 + stored_first
    assert tokens == [expected, expected]
