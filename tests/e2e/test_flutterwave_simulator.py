"""The Flutterwave simulator answers like Flutterwave v4 and does what its script says: tokens
for the right client only, one transfer per idempotency key (also under concurrent calls) and
per reference, newest-first paging, settlement to the scripted outcome with a signed
``transfer.disburse`` that ``verify_transfer_event`` accepts, reversal after success, planted
transfers, scripted faults, and the ``ledger simulator flutterwave`` command.

Waits for webhooks use events with generous limits; nothing asserts how long anything took.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.providers.flutterwave_amounts import dumps, loads
from ledger.providers.flutterwave_webhooks import TransferEvent, verify_transfer_event
from ledger.providers.payout_port import TransferOutcome
from ledger.simulator.flutterwave import FlutterwaveSimulator

CLIENT_ID = "fw_test_client"
CLIENT_SECRET = "fw_test_client_secret_never_print"
WEBHOOK_SECRET = "fw_test_webhook_secret_hash_42"
WAIT = 10.0  # the longest a test waits for a webhook before failing


class Receiver:
    """A webhook endpoint on loopback that verifies and parses every delivery."""

    def __init__(self) -> None:
        self.events: list[TransferEvent | None] = []
        self.raw: list[tuple[bytes, str | None]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signature = self.headers.get("flutterwave-signature")
                with receiver.arrived:
                    receiver.raw.append((body, signature))
                    try:
                        receiver.events.append(
                            verify_transfer_event(body, signature, WEBHOOK_SECRET)
                        )
                        status = 200
                    except Exception:
                        status = 401
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/flutterwave"

    def wait_for(self, count: int) -> list[TransferEvent | None]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.raw) >= count, timeout=WAIT)
            return list(self.events)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture
def sim(receiver: Receiver) -> Iterator[FlutterwaveSimulator]:
    with FlutterwaveSimulator(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url=receiver.url,
    ) as simulator:
        yield simulator


def token(sim: FlutterwaveSimulator, secret: str = CLIENT_SECRET) -> httpx.Response:
    form = {"client_id": CLIENT_ID, "client_secret": secret, "grant_type": "client_credentials"}
    return httpx.post(sim.token_url, data=form)


@pytest.fixture
def auth(sim: FlutterwaveSimulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sim).json()['access_token']}"}


def post(
    sim: FlutterwaveSimulator, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    return httpx.post(sim.url + path, content=dumps(body), headers=headers)


def recipient(sim: FlutterwaveSimulator, auth: dict[str, str]) -> str:
    body = {
        "type": "bank_ngn",
        "name": {"first": "Alex", "last": "James"},
        "bank": {"account_number": "0690000040", "code": "044"},
    }
    answer = post(sim, "/transfers/recipients", body, auth)
    assert answer.status_code == 201
    return str(answer.json()["data"]["id"])


def transfer_body(reference: str, recipient_id: str, value: str = "3000.00") -> dict[str, Any]:
    return {
        "action": "instant",
        "reference": reference,
        "narration": "payout",
        "payment_instruction": {
            "source_currency": "NGN",
            "amount": {"value": Decimal(value), "applies_to": "destination_currency"},
            "recipient_id": recipient_id,
        },
    }


def create(
    sim: FlutterwaveSimulator, auth: dict[str, str], reference: str, key: str, rcb: str
) -> httpx.Response:
    headers = {**auth, "X-Idempotency-Key": key}
    return post(sim, "/transfers", transfer_body(reference, rcb), headers)


# -- tokens and accounts ------------------------------------------------------------------


def test_tokens_go_to_the_configured_client_only_and_guard_every_call(
    sim: FlutterwaveSimulator,
) -> None:
    good = token(sim)
    assert good.status_code == 200
    assert set(good.json()) >= {"access_token", "expires_in", "token_type"}
    assert good.json()["expires_in"] == 600
    assert token(sim, "wrong").status_code == 401
    assert token(sim, "wrong").json()["error"] == "invalid_client"
    anonymous = httpx.get(sim.url + "/transfers")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "10401"


def test_accounts_resolve_as_scripted_and_unknown_ones_are_refused(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    sim.script({"accounts": {"058:1234567890": None, "058:0123456789": "Ada Obi"}})

    def resolve(code: str, number: str) -> httpx.Response:
        body = {"account": {"code": code, "number": number}, "currency": "NGN"}
        return post(sim, "/banks/account-resolve", body, auth)

    assert resolve("044", "0690000040").json()["data"]["account_name"] == "Alex James"
    assert resolve("058", "0123456789").json()["data"]["account_name"] == "Ada Obi"
    assert resolve("057", "9876543210").json()["data"]["account_name"] == "SIM HOLDER 3210"
    refused = resolve("058", "1234567890")
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "REQUEST_NOT_VALID"


# -- transfers ----------------------------------------------------------------------------


def test_the_same_key_gets_the_same_transfer_and_a_taken_reference_a_409(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    sim.script({"references": {"ref-1": {"outcome": "PENDING"}}})
    rcb = recipient(sim, auth)
    first = create(sim, auth, "ref-1", "key-1", rcb)
    again = create(sim, auth, "ref-1", "key-1", rcb)
    other_key = create(sim, auth, "ref-1", "key-2", rcb)
    assert first.status_code == again.status_code == 201
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    assert first.json()["data"]["status"] == "NEW"
    assert other_key.status_code == 409
    assert other_key.json()["error"]["type"] == "RESOURCE_CONFLICT"
    assert len(sim.snapshot()["transfers"]) == 1


def test_concurrent_creates_with_one_key_make_one_transfer(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    rcb = recipient(sim, auth)
    barrier = threading.Barrier(8)
    answers: list[httpx.Response] = []

    def send() -> None:
        barrier.wait()
        answers.append(create(sim, auth, "ref-race", "key-race", rcb))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.json()["data"]["id"] for a in answers} == {sim.transfer("ref-race")["id"]}
    assert len(sim.snapshot()["transfers"]) == 1


def test_amounts_keep_their_exact_decimals_and_bad_ones_are_refused(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    rcb = recipient(sim, auth)
    body = transfer_body("ref-dec", rcb, "1250.50")
    answer = loads(post(sim, "/transfers", body, auth).content)
    assert isinstance(answer, dict)
    assert answer["data"]["amount"]["value"] == Decimal("1250.50")
    refused = post(sim, "/transfers", transfer_body("ref-bad", rcb, "10.005"), auth)
    assert refused.status_code == 400
    unknown = post(sim, "/transfers", transfer_body("ref-who", "rcb_nobody"), auth)
    assert unknown.status_code == 404


def test_the_list_pages_newest_first_with_page_info(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    for i in range(5):
        sim.plant_transfer(f"ref-{i}", f"{i + 1}00.00")
    pages = [
        httpx.get(sim.url + f"/transfers?page={p}&size=2", headers=auth).json() for p in (1, 2, 3)
    ]
    assert [[t["reference"] for t in page["data"]] for page in pages] == [
        ["ref-4", "ref-3"],
        ["ref-2", "ref-1"],
        ["ref-0"],
    ]
    assert pages[2]["meta"]["page_info"] == {"total": 5, "current_page": 3, "total_pages": 3}
    bad = httpx.get(sim.url + "/transfers?page=0", headers=auth)
    assert bad.status_code == 400


def test_a_fetched_unknown_transfer_is_flutterwaves_not_found(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    answer = httpx.get(sim.url + "/transfers/trf_nothing", headers=auth)
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "RESOURCE_NOT_FOUND"


# -- settlement and webhooks --------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [("SUCCESSFUL", TransferOutcome.SUCCEEDED), ("FAILED", TransferOutcome.FAILED)],
)
def test_a_transfer_settles_as_scripted_with_a_signed_webhook(
    sim: FlutterwaveSimulator,
    auth: dict[str, str],
    receiver: Receiver,
    outcome: str,
    expected: TransferOutcome,
) -> None:
    sim.script({"references": {"ref-w": {"outcome": outcome, "settle_after_ms": 50}}})
    create(sim, auth, "ref-w", "key-w", recipient(sim, auth))
    (event,) = receiver.wait_for(1)
    assert event is not None
    assert (event.transfer.reference, event.transfer.outcome) == ("ref-w", expected)
    assert event.transfer.amount == 300000
    fetched = httpx.get(sim.url + f"/transfers/{event.transfer.id}", headers=auth).json()
    assert fetched["data"]["status"] == outcome


def test_a_success_reversed_later_sends_a_second_webhook(
    sim: FlutterwaveSimulator, auth: dict[str, str], receiver: Receiver
) -> None:
    sim.script({"references": {"ref-r": {"reverse_after_ms": 100}}})
    create(sim, auth, "ref-r", "key-r", recipient(sim, auth))
    first, second = receiver.wait_for(2)
    assert first is not None
    assert second is not None
    assert first.transfer.outcome is TransferOutcome.SUCCEEDED
    assert second.transfer.outcome is TransferOutcome.REVERSED
    assert second.transfer.reversed_at is not None


def test_a_pending_transfer_waits_for_settle_and_webhooks_can_be_turned_off(
    sim: FlutterwaveSimulator, auth: dict[str, str], receiver: Receiver
) -> None:
    sim.script({"references": {"ref-p": {"outcome": "PENDING"}, "ref-q": {"webhook": False}}})
    rcb = recipient(sim, auth)
    create(sim, auth, "ref-p", "key-p", rcb)
    create(sim, auth, "ref-q", "key-q", rcb)
    assert sim.transfer("ref-p")["status"] == "NEW"
    sim.settle("ref-p", "FAILED")
    (event,) = receiver.wait_for(1)
    assert event is not None
    assert event.transfer.reference == "ref-p"
    assert sim.transfer("ref-q")["status"] in ("NEW", "SUCCESSFUL")
    assert [d["reference"] for d in sim.snapshot()["deliveries"]] == ["ref-p"]


def test_forged_and_unsigned_deliveries_are_refused_by_the_verifier(
    sim: FlutterwaveSimulator, auth: dict[str, str], receiver: Receiver
) -> None:
    sim.script({"references": {"ref-f": {"outcome": "PENDING"}}})
    create(sim, auth, "ref-f", "key-f", recipient(sim, auth))
    assert sim.send_webhook("ref-f", signature="forged")[0] == 401
    assert sim.send_webhook("ref-f", unsigned=True)[0] == 401
    assert sim.send_webhook("ref-f")[0] == 200


def test_a_planted_transfer_is_listed_and_fetched_but_sends_nothing(
    sim: FlutterwaveSimulator, auth: dict[str, str], receiver: Receiver
) -> None:
    ident = sim.plant_transfer("ref-planted", "750.25", status="successful")
    fetched = httpx.get(sim.url + f"/transfers/{ident}", headers=auth).json()["data"]
    assert (fetched["reference"], fetched["status"]) == ("ref-planted", "SUCCESSFUL")
    assert fetched["recipient"] is None
    assert receiver.raw == []


# -- faults -------------------------------------------------------------------------------


def test_faults_are_served_by_route_then_the_real_answer(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    sim.script(
        {
            "faults": [
                {"route": "list_transfers", "http": 503},
                {"route": "list_transfers", "http": 429, "retry_after": 1},
                {"route": "list_transfers", "html": True},
                {"route": "list_transfers", "malformed": True},
                {"route": "get_transfer", "http": 403},
            ]
        }
    )
    answers = [httpx.get(sim.url + "/transfers", headers=auth) for _ in range(5)]
    assert [a.status_code for a in answers] == [503, 429, 502, 200, 200]
    assert answers[1].headers["Retry-After"] == "1"
    assert answers[2].headers["Content-Type"] == "text/html"
    with pytest.raises(json.JSONDecodeError):
        json.loads(answers[3].content)
    assert answers[4].json()["status"] == "success"


def test_revoked_tokens_are_answered_401_until_a_new_one_is_issued(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    sim.script({"revoke_tokens": True})
    assert httpx.get(sim.url + "/transfers", headers=auth).status_code == 401
    fresh = {"Authorization": f"Bearer {token(sim).json()['access_token']}"}
    assert httpx.get(sim.url + "/transfers", headers=fresh).status_code == 200


def test_a_lost_answer_still_created_the_transfer(
    sim: FlutterwaveSimulator, auth: dict[str, str]
) -> None:
    rcb = recipient(sim, auth)
    sim.script({"references": {"ref-l": {"faults": [{"lost_answer": True}]}}})
    lost = create(sim, auth, "ref-l", "key-l", rcb)
    assert lost.status_code == 504
    again = create(sim, auth, "ref-l", "key-l", rcb)
    assert again.status_code == 201
    assert again.json()["data"]["id"] == sim.transfer("ref-l")["id"]
    assert len(sim.snapshot()["transfers"]) == 1


@pytest.mark.parametrize(
    ("how", "check"),
    [
        ("unknown_status", lambda d: d["status"] == "SETTLED"),
        ("other_reference", lambda d: d["reference"] != "ref-i"),
        ("fractional_amount", lambda d: d["amount"]["value"] == Decimal("3000.001")),
        ("missing_field", lambda d: "id" not in d),
    ],
)
def test_invalid_answers_are_served_as_scripted(
    sim: FlutterwaveSimulator, auth: dict[str, str], how: str, check: Any
) -> None:
    sim.script({"references": {"ref-i": {"faults": [{"invalid": how}]}}})
    answer = loads(create(sim, auth, "ref-i", "key-i", recipient(sim, auth)).content)
    assert isinstance(answer, dict)
    assert check(answer["data"])


# -- the command --------------------------------------------------------------------------


def test_the_cli_serves_on_the_given_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"accounts": {"058:1111111111": "Script Holder"}}))
    env = {
        **os.environ,
        "FLUTTERWAVE_CLIENT_ID": CLIENT_ID,
        "FLUTTERWAVE_CLIENT_SECRET": CLIENT_SECRET,
        "FLUTTERWAVE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    ledger = Path(sys.executable).parent / "ledger"
    command = [
        str(ledger),
        "simulator",
        "flutterwave",
        "--port",
        str(port),
        "--script",
        str(script),
    ]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        token_url = base + "/realms/flutterwave/protocol/openid-connect/token"
        form = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials",
        }
        deadline = time.monotonic() + 15
        while True:
            try:
                issued = httpx.post(token_url, data=form)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        body = {"account": {"code": "058", "number": "1111111111"}, "currency": "NGN"}
        resolved = httpx.post(base + "/banks/account-resolve", json=body, headers=headers)
        assert resolved.json()["data"]["account_name"] == "Script Holder"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        stderr = process.stderr.read() if process.stderr else ""
        assert f"listening on {base}" in stderr
        assert CLIENT_SECRET not in stderr
        assert WEBHOOK_SECRET not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_cli_refuses_a_script_that_is_not_an_object(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text("[1, 2]")
    ledger = Path(sys.executable).parent / "ledger"
    done = subprocess.run(
        [str(ledger), "simulator", "flutterwave", "--port", "0", "--script", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid simulator script")
