"""The overall deadline of a provider call, over real loopback sockets: a server that drips its
answer one byte at a time (so that no single read ever times out) is cut off at the deadline,
from the status line or from the body, and the call ends ``ProviderUnavailable`` after its
retries. The server side records that the client closed each connection before the answer
was complete. A well-behaved server is unaffected.

No timed assertion decides these tests; one generous bound (5x the call's budget) is a sanity
check only. The drip server gives up by itself after a while, so a broken deadline fails the
test instead of hanging it.
"""

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import ProviderUnavailable
from ledger.providers.flutterwave import FlutterwaveTokenManager, StoredToken
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import Outcome

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "paystack"
SECRET = "sk_test_deadline_0123456789"
REF = "esc_5d0c3b1e9a7f4e2c8b6a1d3f5e7c9b2a"
DEADLINE = 0.5  # seconds per attempt
DRIP = 0.05  # seconds between two bytes: every read returns long before any read timeout
GIVE_UP = 20.0  # the server stops dripping after this long (a broken deadline fails, not hangs)


def http_answer(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    return head + body


VERIFY_ANSWER = http_answer((FIXTURES / "verify_answer_success.json").read_bytes())
TOKEN_ANSWER = http_answer(json.dumps({"access_token": "tok", "expires_in": 600}).encode())


@dataclass
class Connection:
    sent: int = 0
    closed_by_client: bool = False
    complete: bool = False
    gave_up: bool = False


class DripServer:
    """Answers every request with ``answer``: the first ``burst`` bytes at once, then one byte
    every ``DRIP`` seconds, until the answer is complete, the client hangs up, or
    ``GIVE_UP`` seconds have passed. Records what happened to each connection."""

    def __init__(self, answer: bytes, *, burst: int = 0, drip: float = DRIP) -> None:
        self.answer, self.burst, self.drip = answer, burst, drip
        self.connections: list[Connection] = []
        self.stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            record = Connection()
            self.connections.append(record)
            thread = threading.Thread(target=self._serve, args=(conn, record), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, record: Connection) -> None:
        with conn:
            self._read_request(conn)
            started = time.monotonic()
            conn.sendall(self.answer[: self.burst])
            record.sent = self.burst
            for offset in range(self.burst, len(self.answer)):
                if self._hung_up(conn):
                    record.closed_by_client = True
                    return
                if self.stop.is_set() or time.monotonic() - started > GIVE_UP:
                    record.gave_up = True
                    return
                try:
                    conn.sendall(self.answer[offset : offset + 1])
                except OSError:  # EPIPE / ECONNRESET: the client is gone
                    record.closed_by_client = True
                    return
                record.sent += 1
                self.stop.wait(self.drip)
            record.complete = True

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                missing = int(value) - len(rest)
                while missing > 0:
                    missing -= len(conn.recv(missing))

    @staticmethod
    def _hung_up(conn: socket.socket) -> bool:
        readable, _, _ = select.select([conn], [], [], 0)
        if not readable:
            return False
        try:
            return conn.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def settled(self, count: int) -> list[Connection]:
        """The connections once ``count`` of them have ended one way or another."""
        until = time.monotonic() + GIVE_UP + 5
        while time.monotonic() < until:
            done = [c for c in self.connections if c.closed_by_client or c.complete or c.gave_up]
            if len(done) >= count:
                return list(self.connections)
            time.sleep(0.02)
        return list(self.connections)

    def close(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()


@pytest.fixture
def drip_server() -> Iterator[type[DripServer]]:
    made: list[DripServer] = []

    class Made(DripServer):
        def __init__(self, answer: bytes, **kwargs: Any) -> None:
            super().__init__(answer, **kwargs)
            made.append(self)

    yield Made
    for server in made:
        server.close()


def paystack(url: str, sleeps: list[float]) -> PaystackClient:
    return PaystackClient(
        SECRET,
        base_url=url,
        timeout=DEADLINE,
        retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.01),
        sleep=sleeps.append,
    )


@pytest.mark.parametrize("where", ["status line", "body"])
def test_a_dripping_paystack_is_cut_off_at_the_deadline_and_is_unreachable(
    drip_server: type[DripServer], where: str
) -> None:
    burst = 0 if where == "status line" else VERIFY_ANSWER.index(b"\r\n\r\n") + 4 + 10
    server = drip_server(VERIFY_ANSWER, burst=burst)
    sleeps: list[float] = []
    started = time.monotonic()

    with paystack(server.url, sleeps) as client, pytest.raises(ProviderUnavailable) as raised:
        client.verify(REF)

    elapsed = time.monotonic() - started
    assert "failed 2 times, the last with ReadTimeout" in str(raised.value)
    assert len(sleeps) == 1
    connections = server.settled(2)
    assert len(connections) == 2
    assert all(c.closed_by_client and not c.complete for c in connections), connections
    assert all(c.sent < len(VERIFY_ANSWER) for c in connections)
    assert elapsed < 5 * client.call_budget  # sanity only: the assertions above decide


def test_the_call_budget_bounds_the_attempts_and_their_waits() -> None:
    policy = RetryPolicy(max_retries=3, base_delay=0.5, max_delay=8.0)

    assert policy.call_budget(3.0) == 4 * 3.0 + 0.5 + 1.0 + 2.0


def test_a_server_within_the_deadline_is_answered_normally(
    drip_server: type[DripServer],
) -> None:
    # The whole head and all but the last bytes at once, then a few drips: well inside.
    server = drip_server(VERIFY_ANSWER, burst=len(VERIFY_ANSWER) - 3, drip=0.01)

    with paystack(server.url, []) as client:
        verification = client.verify(REF)

    assert verification.outcome is Outcome.SUCCESS
    assert [c.complete for c in server.settled(1)] == [True]


class _MemoryTokens:
    """A ``TokenStore`` in memory: no database needed to reach the token call."""

    def __init__(self) -> None:
        self.row = StoredToken()

    def peek(self, provider: str) -> StoredToken:
        return self.row

    def under_lock(self, provider: str, update: object) -> tuple[StoredToken, bool]:
        assert callable(update)
        new = update(self.row)
        if new is None:
            return self.row, False
        self.row = new
        return new, True


def test_a_dripping_flutterwave_token_endpoint_is_cut_off_at_the_deadline(
    drip_server: type[DripServer],
) -> None:
    server = drip_server(TOKEN_ANSWER)
    store = _MemoryTokens()
    manager = FlutterwaveTokenManager(
        store=store,
        client_id="fw_client",
        client_secret="fw_secret_never_print",
        token_url=f"{server.url}/token",
        timeout=DEADLINE,
        margin=timedelta(seconds=120),
    )

    with manager, pytest.raises(ProviderUnavailable, match="ReadTimeout"):
        manager.refresh_if_needed()

    (connection,) = server.settled(1)
    assert connection.closed_by_client
    assert not connection.complete
    assert store.row == StoredToken()
