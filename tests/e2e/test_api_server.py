"""The API over a real socket: ``ledger serve`` (uvicorn) in its own process, Paystack's
simulator delivering signed webhooks to it (valid, forged, unsigned, duplicated, malformed, and
one for the wrong amount), then SIGTERM. Forged, unsigned, duplicated and malformed deliveries
leave the event store's head where it was; the valid one confirms its payment."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.simulator.paystack import PaystackSimulator
from tests.e2e.cli_support import LEDGER_SCRIPT, Store, isolated_env, sqlite_store, store

__all__ = ["isolated_env", "sqlite_store", "store"]  # fixtures used here

TOKEN = "tok_e2e_backend_0123456789abcdef"
SECRET = "sk_test_e2e_simulator_secret_77"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()


@pytest.fixture
def simulator() -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET) as sim:
        yield sim


@pytest.fixture
def server(store: Store, simulator: PaystackSimulator, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PAYSTACK_"))},
        **store.env,
        "LEDGER_API_TOKENS": TOKEN,
        "PAYSTACK_SECRET_KEY": SECRET,
        "PAYSTACK_URL": simulator.url,
    }
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(LEDGER_SCRIPT), "serve", "--port", str(port), "--graceful-timeout", "5"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not start: " + log.read_text()
            time.sleep(0.1)
        running = Server(process, url, log)
        yield running
        running.http.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def deliver(sim: PaystackSimulator, server: Server, reference: str, **how: Any) -> Any:
    """Ask the simulator to deliver a webhook to the server; its status and answer."""
    request = {"event": "charge.success", "reference": reference, **how}
    request["url"] = f"{server.url}/webhooks/paystack"
    answer = httpx.post(f"{sim.url}/_sim/webhook", json=request, timeout=15).json()
    return answer["delivered_status"], answer["answer"]


def test_webhooks_over_a_real_socket_and_a_graceful_stop(
    server: Server, simulator: PaystackSimulator, store: Store
) -> None:
    server.ok("POST", "/users", json={"user_id": "fan-1", "role": "fan"})
    server.ok("POST", "/users", json={"user_id": "star-1", "role": "celebrity", "verified": True})
    refs = {}
    for name in ("paid", "short"):
        rid = server.ok(
            "POST",
            "/requests",
            json={"fan": "fan-1", "celebrity": "star-1", "amount": 500000, "currency": "NGN"},
        )["id"]
        payment = server.ok(
            "POST",
            f"/requests/{rid}/payments",
            json={"email": "fan@example.com"},
            headers={"Idempotency-Key": f"pay-{rid}"},
        )
        assert payment["authorization_url"].startswith("https://")
        refs[name] = payment
    simulator.script({"references": {refs["short"]["reference"]: {"amount": 400000}}})
    paid = refs["paid"]["reference"]

    before = store.head()
    forged = deliver(simulator, server, paid, signature="f" * 128)
    unsigned = deliver(simulator, server, paid, unsigned=True)
    malformed = deliver(simulator, server, paid, raw='{"event": "charge.success", "data": ')
    assert (forged[0], unsigned[0], malformed[0]) == (401, 401, 400)
    assert store.head() == before
    pending = server.ok("GET", f"/transactions/{refs['paid']['transaction_id']}")
    assert pending["status"] == "PENDING"

    status, answer = deliver(simulator, server, paid)
    assert status == 200, answer
    assert '"outcome":"applied"' in answer
    after = store.head()
    assert after > before
    confirmed = server.ok("GET", f"/transactions/{refs['paid']['transaction_id']}")
    assert confirmed["status"] == "COMPLETED"
    assert confirmed["held"] is True

    status, answer = deliver(simulator, server, paid)  # Paystack's retry
    assert status == 200
    assert '"outcome":"duplicate"' in answer
    assert store.head() == after

    status, answer = deliver(simulator, server, refs["short"]["reference"])
    assert status == 200
    assert '"outcome":"flagged"' in answer
    short = server.ok("GET", f"/transactions/{refs['short']['transaction_id']}")
    assert short["needs_review"] is True
    assert short["status"] == "PENDING"

    recorded = server.ok("GET", "/webhooks/deliveries")["items"]
    assert [d["outcome"] for d in recorded] == [
        "flagged",
        "duplicate",
        "applied",
        "malformed",
        "invalid_signature",
        "invalid_signature",
    ]
    assert server.http.get("/readyz").status_code == 200

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(15) == 0
    log = server.log.read_text()
    assert "event=http_request method=POST path=/webhooks/paystack" in log
    assert "Finished server process" in log
    for secret in (TOKEN, SECRET, "f" * 128):
        assert secret not in log


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_serve_refuses_a_bad_setting_before_starting(store: Store) -> None:
    env = {**os.environ, **store.env, "LEDGER_API_TOKENS": "short"}
    result = subprocess.run(
        [str(LEDGER_SCRIPT), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: invalid setting LEDGER_API_TOKENS")
    assert b"short" not in result.stderr
    assert sys.executable  # the script runs in this venv


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_ten_megabyte_body_is_413_over_a_real_socket(server: Server, store: Store) -> None:
    body = b'{"fan": "fan-1", "celebrity": "star-1", "amount": 5, "currency": "NGN", "pad": "'
    body += b"x" * (10 * 1000 * 1000) + b'"}'
    declared = server.http.post("/requests", content=body)
    assert declared.status_code == 413
    assert declared.json()["error"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    chunked = server.http.post("/requests", content=chunks())
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413
    assert chunked.json()["error"] == "payload_too_large"
    assert store.head() == 0
    assert server.ok("GET", "/healthz")
