"""The Flutterwave transfers client over real loopback sockets against the simulator, with the
real token manager on SQLite: a payout from account resolution to the signed webhook, every
answer class from a scripted fault, a lost answer that still makes one transfer only, and the
per-attempt deadline cutting off an answer that arrives one byte at a time (where no single
read would ever time out).

Nothing asserts how long anything took; the drip would take minutes if the deadline failed,
and the simulator stops dripping when the client hangs up.
"""

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import ProviderAnswerInvalid, ProviderMisconfigured, ProviderUnavailable
from ledger.persistence import store_config
from ledger.providers.flutterwave import FlutterwaveTokenManager, SqlTokenStore
from ledger.providers.flutterwave_transfers import FlutterwaveTransfers
from ledger.providers.flutterwave_webhooks import verify_transfer_event
from ledger.providers.http import RetryPolicy
from ledger.providers.payout_port import (
    TransferOutcome,
)
from ledger.sidetables import SideTables
from ledger.simulator.flutterwave import FlutterwaveSimulator

CLIENT_ID = "fw_socket_client"
CLIENT_SECRET = "fw_socket_secret_never_print"
WEBHOOK_SECRET = "fw_socket_webhook_secret_hash"


def token_store(db_path: object, seconds: int) -> SqlTokenStore:
    """The operational tables' token store on a SQLite file."""
    tables = SideTables(store_config(f"sqlite:///{db_path}"))
    return SqlTokenStore(tables, lock_timeout=timedelta(seconds=seconds))


@pytest.fixture
def sim() -> Iterator[FlutterwaveSimulator]:
    with FlutterwaveSimulator(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, webhook_secret=WEBHOOK_SECRET
    ) as simulator:
        yield simulator


@pytest.fixture
def make_client(
    sim: FlutterwaveSimulator, tmp_path: Path
) -> Iterator[Callable[..., FlutterwaveTransfers]]:
    made: list[Any] = []

    def make(**options: Any) -> FlutterwaveTransfers:
        tokens = FlutterwaveTokenManager(
            store=token_store(tmp_path / "ledger.db", 5),
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            token_url=sim.token_url,
        )
        settings: dict[str, Any] = {
            "tokens": tokens,
            "base_url": sim.url,
            "retry": RetryPolicy(max_retries=2),
            "sleep": lambda _seconds: None,
            **options,
        }
        client = FlutterwaveTransfers(**settings)
        made.extend([client, tokens])
        return client

    yield make
    for thing in made:
        thing.close()


def payout(client: FlutterwaveTransfers, reference: str = "vyb_pay_sock1") -> Any:
    account = client.resolve_account("044", "0690000040")
    recipient = client.create_recipient(
        bank_code="044", account_number="0690000040", account_name=account.account_name
    )
    return client.create_transfer(
        reference=reference,
        amount=300000,
        currency="NGN",
        recipient_id=recipient.id,
        narration=f"payout {reference}",
        idempotency_key=f"key-{reference}",
    )


def test_a_payout_runs_from_resolution_to_its_signed_webhook(
    sim: FlutterwaveSimulator, make_client: Callable[..., FlutterwaveTransfers]
) -> None:
    delivered = threading.Event()
    events: list[Any] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            events.append(
                verify_transfer_event(
                    body, self.headers.get("flutterwave-signature"), WEBHOOK_SECRET
                )
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            delivered.set()

        def log_message(self, format: str, *args: object) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, args=(0.05,), daemon=True).start()
    try:
        sim.script({"webhook_url": f"http://127.0.0.1:{hook.server_address[1]}/hook"})
        client = make_client()
        created = payout(client)
        assert (created.status, created.amount) == ("NEW", 300000)
        assert delivered.wait(10)
        (event,) = events
        assert (event.transfer.id, event.transfer.outcome) == (
            created.id,
            TransferOutcome.SUCCEEDED,
        )
        fetched = client.get_transfer(created.id)
        assert fetched is not None
        assert fetched.outcome is TransferOutcome.SUCCEEDED
        assert client.find_transfer("vyb_pay_sock1") == fetched
    finally:
        hook.shutdown()
        hook.server_close()


def test_a_lost_answer_is_retried_with_its_key_and_makes_one_transfer(
    sim: FlutterwaveSimulator, make_client: Callable[..., FlutterwaveTransfers]
) -> None:
    sim.script({"references": {"vyb_pay_lost": {"faults": [{"lost_answer": True}]}}})
    transfer = payout(make_client(), "vyb_pay_lost")
    assert transfer.id == sim.transfer("vyb_pay_lost")["id"]
    assert len(sim.snapshot()["transfers"]) == 1


def test_revoked_tokens_are_replaced_once_through_the_row(
    sim: FlutterwaveSimulator, make_client: Callable[..., FlutterwaveTransfers]
) -> None:
    client = make_client()
    ident = sim.plant_transfer("vyb_pay_planted", "10.00")
    assert client.get_transfer(ident) is not None
    sim.script({"revoke_tokens": True})
    assert client.get_transfer(ident) is not None
    issued = [c for c in sim.snapshot()["calls"] if c["route"] == "token"]
    assert len(issued) == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"http": 403}, ProviderMisconfigured),
        ({"html": True, "http": 200}, ProviderMisconfigured),
        ({"malformed": True}, ProviderMisconfigured),
        ({"invalid": "unknown_status"}, ProviderAnswerInvalid),
        ({"invalid": "missing_field"}, ProviderAnswerInvalid),
        ({"http": 503}, None),  # retried, then answered
    ],
)
def test_scripted_faults_reach_the_client_as_their_answer_class(
    sim: FlutterwaveSimulator,
    make_client: Callable[..., FlutterwaveTransfers],
    fault: dict[str, Any],
    error: type[Exception] | None,
) -> None:
    ident = sim.plant_transfer("vyb_pay_fault", "10.00")
    sim.script({"faults": [{"route": "get_transfer", **fault}]})
    client = make_client()
    if error is None:
        assert client.get_transfer(ident) is not None
        return
    with pytest.raises(error):
        client.get_transfer(ident)


def test_an_answer_dripping_one_byte_at_a_time_is_cut_off_at_the_deadline(
    sim: FlutterwaveSimulator, make_client: Callable[..., FlutterwaveTransfers]
) -> None:
    ident = sim.plant_transfer("vyb_pay_drip", "10.00")
    sim.script({"faults": [{"route": "get_transfer", "drip": 0.05}] * 2})
    client = make_client(timeout=0.5, retry=RetryPolicy(max_retries=1))
    with pytest.raises(ProviderUnavailable, match="failed 2 times, the last with ReadTimeout"):
        client.get_transfer(ident)
    drips = [c for c in sim.snapshot()["calls"] if c["route"] == "get_transfer"]
    assert len(drips) == 2
    assert client.get_transfer(ident) is not None  # no fault left: answered in full
