"""The Flutterwave token on a real PostgreSQL: the ``provider_tokens`` table and its types,
and single flight (``SELECT ... FOR UPDATE`` on the row, expiry re-checked under the lock):
processes refreshing together make ONE call to Flutterwave and all see the same token.

Each "process" is a thread with a manager and connections of its own (row locks are per
connection, so for the database they are separate processes). Flutterwave is a respx router
behind an injected transport that counts calls and answers slowly.
"""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
import respx

from ledger.config import load_settings
from ledger.errors import ProviderUnavailable
from ledger.persistence import store_config
from ledger.providers.flutterwave import (
    FlutterwaveTokenManager,
    SqlTokenStore,
    StoredToken,
    TokenOutcome,
    TokenStore,
)
from ledger.sidetables import SideTables

pytestmark = pytest.mark.postgres

TOKEN_URL = "https://idp.flutterwave.test/token"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


class SlowFlutterwave:
    """A token endpoint that counts calls and takes ``delay`` seconds to answer."""

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()
        self.router = respx.Router(assert_all_called=False)
        self.router.post(TOKEN_URL).mock(side_effect=self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        return httpx.Response(200, json={"access_token": f"tok-{n}", "expires_in": 600})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.router.handler)


class PeekBarrier:
    """Holds every caller after its unlocked read until all have read: all have seen no
    usable token when they race for the row lock."""

    def __init__(self, inner: TokenStore, barrier: threading.Barrier) -> None:
        self.inner = inner
        self.barrier = barrier

    def peek(self, provider: str) -> StoredToken:
        row = self.inner.peek(provider)
        self.barrier.wait(timeout=20)
        return row

    def under_lock(
        self, provider: str, update: Callable[[StoredToken], StoredToken | None]
    ) -> tuple[StoredToken, bool]:
        return self.inner.under_lock(provider, update)


@pytest.fixture
def make_manager(
    pg_database_url: str, pg_schema: str
) -> Iterator[Callable[..., FlutterwaveTokenManager]]:
    made: list[FlutterwaveTokenManager] = []

    def make(
        flutterwave: SlowFlutterwave, barrier: threading.Barrier | None = None
    ) -> FlutterwaveTokenManager:
        tables = SideTables(store_config(pg_database_url, schema=pg_schema), pool_size=0)
        store: TokenStore = SqlTokenStore(tables, lock_timeout=timedelta(seconds=20))
        if barrier is not None:
            store = PeekBarrier(store, barrier)
        manager = FlutterwaveTokenManager(
            store=store,
            client_id="fw_client",
            client_secret="fw_secret",
            token_url=TOKEN_URL,
            transport=flutterwave.transport(),
        )
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


def run_together(managers: list[FlutterwaveTokenManager]) -> tuple[list[str], list[str]]:
    """Refresh in one thread per manager at once; the outcomes and the tokens each then sees."""
    outcomes: list[str] = []
    tokens: list[str] = []
    errors: list[BaseException] = []

    def refresh(manager: FlutterwaveTokenManager) -> None:
        try:
            outcomes.append(manager.refresh_if_needed(T0))
            tokens.append(manager.current_token(T0))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return sorted(outcomes), tokens


def test_two_processes_refreshing_together_make_one_call_and_see_the_same_token(
    make_manager: Callable[..., FlutterwaveTokenManager],
) -> None:
    flutterwave = SlowFlutterwave()
    barrier = threading.Barrier(2)
    managers = [make_manager(flutterwave, barrier) for _ in range(2)]

    outcomes, tokens = run_together(managers)

    assert outcomes == ["fresh", "refreshed"]
    assert flutterwave.calls == 1
    assert tokens == ["tok-1", "tok-1"]


def test_many_processes_on_an_expiring_token_make_one_call(
    make_manager: Callable[..., FlutterwaveTokenManager],
) -> None:
    flutterwave = SlowFlutterwave(delay=0.1)
    make_manager(flutterwave).refresh_if_needed(T0 - timedelta(seconds=500))  # 100 s left
    barrier = threading.Barrier(6)
    managers = [make_manager(flutterwave, barrier) for _ in range(6)]

    outcomes, tokens = run_together(managers)

    assert outcomes == ["fresh"] * 5 + ["refreshed"]
    assert flutterwave.calls == 2  # the first token, then one refresh
    assert tokens == ["tok-2"] * 6


def test_the_token_table_has_the_documented_columns(
    pg_database_url: str, pg_schema: str, make_manager: Callable[..., FlutterwaveTokenManager]
) -> None:
    make_manager(SlowFlutterwave(delay=0)).refresh_if_needed(T0)

    with psycopg.connect(pg_database_url) as conn:
        columns: dict[str, str] = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'provider_tokens'",
                (pg_schema,),
            ).fetchall()
        )
        row = conn.execute(
            f'SELECT provider, access_token, expires_at, refreshed_at FROM "{pg_schema}".'
            "provider_tokens"
        ).fetchall()

    assert columns == {
        "provider": "text",
        "access_token": "text",
        "expires_at": "timestamp with time zone",
        "refreshed_at": "timestamp with time zone",
    }
    assert row == [("flutterwave", "tok-1", T0 + timedelta(seconds=600), T0)]


def test_from_settings_keeps_the_token_in_the_ledgers_schema(
    pg_database_url: str, pg_schema: str
) -> None:
    flutterwave = SlowFlutterwave(delay=0)
    settings = load_settings(
        LEDGER_DATABASE_URL=pg_database_url,
        LEDGER_POSTGRES_SCHEMA=pg_schema,
        FLUTTERWAVE_CLIENT_ID="fw_client",
        FLUTTERWAVE_CLIENT_SECRET="fw_secret",
        FLUTTERWAVE_TOKEN_URL=TOKEN_URL,
    )

    with FlutterwaveTokenManager.from_settings(
        settings, transport=flutterwave.transport()
    ) as manager:
        assert manager.refresh_if_needed(T0) is TokenOutcome.REFRESHED
        assert manager.refresh_if_needed(T0 + timedelta(seconds=60)) is TokenOutcome.FRESH
        assert manager.current_token(T0 + timedelta(seconds=60)) == "tok-1"
    assert flutterwave.calls == 1


def test_a_failed_refresh_releases_the_lock_and_keeps_the_old_token(
    make_manager: Callable[..., FlutterwaveTokenManager],
) -> None:
    flutterwave = SlowFlutterwave(delay=0)
    manager = make_manager(flutterwave)
    manager.refresh_if_needed(T0)
    flutterwave.router.routes.clear()
    flutterwave.router.post(TOKEN_URL).mock(return_value=httpx.Response(503))

    with pytest.raises(ProviderUnavailable, match="HTTP 503"):
        manager.refresh_if_needed(T0 + timedelta(seconds=500))

    other = make_manager(flutterwave)
    assert other.current_token(T0 + timedelta(seconds=10)) == "tok-1"
