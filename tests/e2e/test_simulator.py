"""The Paystack simulator answers like Paystack and does what its script says."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from ledger.cli.main import cli
from ledger.simulator.paystack import PaystackSimulator, sign

SECRET = "sk_test_sim_secret"
AUTH = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture
def sim() -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET) as simulator:
        yield simulator


def _init(sim: PaystackSimulator, reference: str, amount: int = 500_000) -> httpx.Response:
    return httpx.post(
        f"{sim.url}/transaction/initialize",
        json={
            "amount": amount,
            "email": "fan@example.com",
            "currency": "NGN",
            "reference": reference,
        },
        headers=AUTH,
    )


def _verify(sim: PaystackSimulator, reference: str, **kw: Any) -> httpx.Response:
    return httpx.get(f"{sim.url}/transaction/verify/{reference}", headers=AUTH, **kw)


def test_an_initialised_payment_verifies_as_success_with_its_amount(sim: PaystackSimulator) -> None:
    answer = _init(sim, "ref-1").json()
    assert answer["status"] is True
    assert answer["data"]["reference"] == "ref-1"
    assert answer["data"]["authorization_url"].startswith("https://")
    data = _verify(sim, "ref-1").json()["data"]
    assert (data["status"], data["amount"], data["currency"]) == ("success", 500_000, "NGN")


def test_a_wrong_secret_is_answered_401(sim: PaystackSimulator) -> None:
    response = httpx.get(
        f"{sim.url}/transaction/verify/ref-1", headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401


def test_a_duplicate_reference_is_refused_like_paystack(sim: PaystackSimulator) -> None:
    assert _init(sim, "ref-dup").status_code == 200
    assert _init(sim, "ref-dup").status_code == 400


@pytest.mark.parametrize(
    "status", ["failed", "abandoned", "reversed", "ongoing", "pending", "processing", "queued"]
)
def test_a_scripted_status_is_reported_in_data_status(sim: PaystackSimulator, status: str) -> None:
    _init(sim, "ref-s")
    sim.script({"references": {"ref-s": {"status": status}}})
    assert _verify(sim, "ref-s").json()["data"]["status"] == status


def test_scripted_amount_and_currency_replace_the_initialised_ones(sim: PaystackSimulator) -> None:
    _init(sim, "ref-m")
    sim.script({"references": {"ref-m": {"amount": 400_000, "currency": "GHS"}}})
    data = _verify(sim, "ref-m").json()["data"]
    assert (data["amount"], data["currency"], data["requested_amount"]) == (400_000, "GHS", 500_000)


def test_an_unknown_reference_is_answered_like_paystack(sim: PaystackSimulator) -> None:
    response = _verify(sim, "never-seen")
    assert response.status_code == 400
    assert response.json()["code"] == "transaction_not_found"
    _init(sim, "ref-u")
    sim.script({"references": {"ref-u": {"unknown": True}}})
    assert _verify(sim, "ref-u").status_code == 400


def test_faults_are_served_in_order_then_the_real_answer(sim: PaystackSimulator) -> None:
    _init(sim, "ref-f")
    sim.script(
        {
            "references": {
                "ref-f": {
                    "faults": [
                        {"http": 503},
                        {"http": 429, "retry_after": 2},
                        {"http": 500},
                        {"malformed": True},
                    ]
                }
            }
        }
    )
    assert _verify(sim, "ref-f").status_code == 503
    limited = _verify(sim, "ref-f")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert _verify(sim, "ref-f").status_code == 500
    with pytest.raises(json.JSONDecodeError):
        json.loads(_verify(sim, "ref-f").text)
    assert _verify(sim, "ref-f").json()["data"]["status"] == "success"


def test_a_timeout_fault_answers_late_and_latency_applies_to_every_call(
    sim: PaystackSimulator,
) -> None:
    _init(sim, "ref-t")
    sim.script({"references": {"ref-t": {"faults": [{"timeout": 1.0}]}}})
    with pytest.raises(httpx.ReadTimeout):
        _verify(sim, "ref-t", timeout=0.3)
    sim.script({"latency_ms": 200})
    started = time.monotonic()
    assert _verify(sim, "ref-t").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_a_refund_is_queued_and_listed_in_the_state(sim: PaystackSimulator) -> None:
    _init(sim, "ref-r")
    answer = httpx.post(
        f"{sim.url}/refund", json={"transaction": "ref-r", "amount": 500_000}, headers=AUTH
    ).json()
    assert answer["data"]["status"] == "pending"
    state = httpx.get(f"{sim.url}/_sim/state").json()
    assert state["refunds"][0]["transaction_reference"] == "ref-r"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str | None]] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((raw, self.headers.get("x-paystack-signature")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def test_webhooks_are_signed_with_the_secret_and_can_be_forged(sim: PaystackSimulator) -> None:
    _Receiver.received = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/webhooks/paystack"
    try:
        _init(sim, "ref-w")
        for extra in ({}, {"signature": "forged"}):
            answer = httpx.post(
                f"{sim.url}/_sim/webhook",
                json={"event": "charge.success", "reference": "ref-w", "url": url, **extra},
            ).json()
            assert answer["delivered_status"] == 200
    finally:
        receiver.shutdown()
        receiver.server_close()
    (raw, good), (_, forged) = _Receiver.received
    body = json.loads(raw)
    assert body["event"] == "charge.success"
    assert body["data"]["reference"] == "ref-w"
    assert good == sign(raw, SECRET)
    assert forged == "forged"


def test_the_cli_serves_on_the_given_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"references": {"ref-x": {"amount": 700, "status": "failed"}}}))
    env = {**os.environ, "PAYSTACK_SECRET_KEY": SECRET}
    ledger = Path(sys.executable).parent / "ledger"
    process = subprocess.Popen(
        [str(ledger), "simulator", "paystack", "--port", str(port), "--script", str(script)],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/transaction/verify/ref-x"
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(url, headers=AUTH)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        assert response.json()["data"]["status"] == "failed"
        assert response.json()["data"]["amount"] == 700
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert SECRET not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_cli_refuses_a_webhook_url_that_is_not_http_with_one_line() -> None:
    result = CliRunner().invoke(
        cli, ["simulator", "paystack", "--port", "0", "--webhook-url", "ftp://x.test/hook"]
    )

    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: --webhook-url must be an http(s) URL: 'ftp://x.test/hook'"
    ]
