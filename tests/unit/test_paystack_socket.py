"""The Paystack client once over a real loopback socket (no mocked transport): the bearer key
reaches the server, a verify answer is mapped, and the read timeout really fires and ends in
``ProviderUnavailable`` after the retries."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledger.errors import ProviderUnavailable
from ledger.providers.http import RetryPolicy
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import Outcome
from tests.fixtures import fixture_bytes

SECRET = "sk_test_socket_0123456789"
REF = "vyb_req_7f3a9c21"


def verify_success() -> bytes:
    return fixture_bytes("paystack", "verify_success.json")


class FakePaystack(BaseHTTPRequestHandler):
    seen_auth: list[str | None] = []  # reset by the fixture: one server per test
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).seen_auth.append(self.headers.get("Authorization"))
        type(self).hits.append(self.path)
        if self.path.endswith("/slow"):
            time.sleep(0.5)
        body = verify_success()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test): nothing to answer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def server() -> Iterator[str]:
    FakePaystack.seen_auth = []
    FakePaystack.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakePaystack)
    # Join the handler threads at server_close, so a slow handler cannot outlive its test and
    # write to another test's captured stderr.
    httpd.daemon_threads = False
    httpd.block_on_close = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_verify_over_a_real_socket_sends_the_bearer_key_and_maps_the_answer(server: str) -> None:
    with PaystackClient(SECRET, base_url=server) as client:
        verification = client.verify(REF)

    assert verification.outcome is Outcome.SUCCESS
    assert verification.amount == 500000
    assert FakePaystack.seen_auth == [f"Bearer {SECRET}"]
    assert FakePaystack.hits == [f"/transaction/verify/{REF}"]


def test_a_server_slower_than_the_timeout_ends_in_provider_unavailable(server: str) -> None:
    sleeps: list[float] = []
    client = PaystackClient(
        SECRET,
        base_url=server,
        timeout=0.1,
        retry=RetryPolicy(max_retries=1),
        sleep=sleeps.append,
    )
    started = time.monotonic()

    with client, pytest.raises(ProviderUnavailable, match="ReadTimeout"):
        client.verify("slow")

    assert time.monotonic() - started < 2
    assert len(FakePaystack.hits) == 2
    assert len(sleeps) == 1
