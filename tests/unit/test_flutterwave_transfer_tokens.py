"""The transfers client with the real token manager on SQLite: the token comes from the
``provider_tokens`` row, a 401 replaces it once through the row lock (single flight: threads
rejected together make one token call, and a row another process already replaced is used as
it is), and the call is sent once more with the new token.

Flutterwave and its IdP are respx routes behind injected transports.
"""

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx

from ledger.errors import ConfigError
from ledger.persistence import store_config
from ledger.providers.flutterwave import FlutterwaveTokenManager, SqlTokenStore
from ledger.providers.flutterwave_transfers import FlutterwaveTransfers
from ledger.providers.http import RetryPolicy
from ledger.sidetables import SideTables
from tests.fixtures import fixture_bytes, fixture_json

BASE = "https://flutterwave.test"
TOKEN_URL = "https://idp.flutterwave.test/realms/flutterwave/protocol/openid-connect/token"
TRF = "trf_8Qw2LzR4yVb1Ks"


def token_store(db_path: object, seconds: int) -> SqlTokenStore:
    """The operational tables' token store on a SQLite file."""
    tables = SideTables(store_config(f"sqlite:///{db_path}"))
    return SqlTokenStore(tables, lock_timeout=timedelta(seconds=seconds))


class Idp:
    """The token endpoint: each call hands out the next token, slowly enough for threads
    rejected together to overlap."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls += 1
            number = next(self.counter)
        time.sleep(0.05)
        answer = fixture_json("flutterwave", "token.json") | {"access_token": f"tok-{number}"}
        return httpx.Response(200, json=answer)


class Api:
    """GET /transfers/{id}: 401 for any token in ``revoked``, the fixture otherwise."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        with self.lock:
            self.seen.append(token)
        if token in self.revoked:
            return httpx.Response(
                401, content=fixture_bytes("flutterwave", "error_unauthorized.json")
            )
        return httpx.Response(200, content=fixture_bytes("flutterwave", "transfer_successful.json"))


@pytest.fixture
def idp() -> Idp:
    return Idp()


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return tmp_path / "ledger.db"


def manager(db_path: str, idp: Idp) -> FlutterwaveTokenManager:
    router = respx.Router(assert_all_called=False)
    router.post(TOKEN_URL).mock(side_effect=idp)
    return FlutterwaveTokenManager(
        store=token_store(db_path, 10),
        client_id="fw_client_id_123",
        client_secret="fw_client_secret_never_print_987",
        token_url=TOKEN_URL,
        transport=httpx.MockTransport(router.handler),
    )


@pytest.fixture
def clients() -> Iterator[list[FlutterwaveTransfers]]:
    made: list[FlutterwaveTransfers] = []
    yield made
    for client in made:
        client.close()


def transfers(
    db_path: str, idp: Idp, api: Api, made: list[FlutterwaveTransfers]
) -> FlutterwaveTransfers:
    router = respx.Router(base_url=BASE, assert_all_called=False)
    router.get(f"/transfers/{TRF}").mock(side_effect=api)
    client = FlutterwaveTransfers(
        tokens=manager(db_path, idp),
        base_url=BASE,
        retry=RetryPolicy(max_retries=0),
        transport=httpx.MockTransport(router.handler),
    )
    made.append(client)
    return client


def test_the_stored_token_is_used_and_a_401_replaces_it_once(
    db_path: str, idp: Idp, api: Api, clients: list[FlutterwaveTransfers]
) -> None:
    client = transfers(db_path, idp, api, clients)
    assert client.get_transfer(TRF) is not None
    assert (idp.calls, api.seen) == (1, ["tok-1"])
    api.revoked.add("tok-1")  # Flutterwave revoked it although it looks fresh
    assert client.get_transfer(TRF) is not None
    assert idp.calls == 2
    assert api.seen[1:] == ["tok-1", "tok-2"]
    assert token_store(db_path, 1).peek("flutterwave").access_token == "tok-2"


def test_a_token_another_process_already_replaced_is_used_without_a_token_call(
    db_path: str, idp: Idp, api: Api, clients: list[FlutterwaveTransfers]
) -> None:
    client = transfers(db_path, idp, api, clients)
    client.get_transfer(TRF)  # this process read tok-1
    api.revoked.add("tok-1")
    other = manager(db_path, idp)
    assert other.replace_rejected("tok-1") == "tok-2"  # another process got there first
    other.close()
    calls = idp.calls
    assert client.get_transfer(TRF) is not None
    assert idp.calls == calls  # the rejected token was already replaced: no second call
    assert api.seen[-1] == "tok-2"


def test_threads_rejected_together_make_one_token_call(
    db_path: str, idp: Idp, api: Api, clients: list[FlutterwaveTransfers]
) -> None:
    workers = [transfers(db_path, idp, api, clients) for _ in range(4)]
    workers[0].get_transfer(TRF)
    api.revoked.add("tok-1")
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(client: FlutterwaveTransfers) -> None:
        barrier.wait()
        try:
            client.get_transfer(TRF)
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert idp.calls == 2  # the first token, then one replacement for all four
    assert set(api.seen[1:]) == {"tok-1", "tok-2"}


def test_replacing_needs_flutterwave_configured(db_path: str) -> None:
    unconfigured = FlutterwaveTokenManager(
        store=token_store(db_path, 1),
        client_id=None,
        client_secret=None,
        token_url=None,
    )
    with pytest.raises(ConfigError, match="Flutterwave is not configured"):
        unconfigured.replace_rejected("tok-1")
    unconfigured.close()
