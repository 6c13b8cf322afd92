"""`ledger jobs run` as real processes against PostgreSQL and the Paystack simulator (started
in this test on a free port and named by ``PAYSTACK_URL``).

- SIGTERM in the middle of a sweep (long-running, or ``--once``): the runner exits 0 within
  10 s, and nothing is half done: every payment is either untouched or fully applied, its
  request agreeing with it, and no release lacks its wallet credit (checked through a fresh
  ``Ledger``).
- Two runners at once release every held payment exactly once.

The payments are built with the domain and saved in one go, at business time ``T0``; the
runners run with ``--now`` 25 hours later, so every payment is due.
"""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from ledger.application import Ledger
from ledger.domain import escrow
from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.money import Money
from ledger.domain.reference import PaymentReference
from ledger.domain.request import Request, RequestStatus
from ledger.domain.transaction import EscrowStatus, Transaction, TxStatus
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.simulator.paystack import PaystackSimulator
from tests.conftest import T0
from tests.e2e.cli_support import LEDGER_SCRIPT, Store, isolated_env

__all__ = ["isolated_env"]  # an autouse fixture, used by being here

pytestmark = pytest.mark.postgres

SECRET = "sk_test_jobs_e2e_1618"
PRICE = 120_000
NOW = (T0 + timedelta(hours=25)).isoformat()


@dataclass(frozen=True)
class Made:
    request_id: UUID
    transaction_id: UUID
    reference: str


class Seeder:
    """Builds users and payments with the domain and saves them in one ``save``."""

    def __init__(self, store: Store) -> None:
        self.at = Stamp(business=T0, recorded=T0)
        self.ledger = Ledger.from_settings(store.settings())
        self.fan = User.register("fan-1", "fan", self.at)
        self.star = User.register("star-1", "celebrity", self.at)
        self.star.verify(self.at)
        self.wallet = Wallet.open(self.star.id, "NGN", self.at)
        self.pending: list[LedgerAggregate] = [self.fan, self.star, self.wallet]

    def payment(self, *, held: bool = False) -> Made:
        price = Money(PRICE, "NGN")
        request = Request.create(uuid4(), self.fan.id, self.star.id, price, self.at)
        reference = f"e2e-{uuid4().hex[:12]}"
        txn = Transaction.initiate(request.id, reference, price, self.at)
        if held:
            escrow.apply_success(
                txn,
                request,
                received=price,
                provider_status="success",
                provider_transaction_id=None,
                paid_at=T0,
                at=self.at,
            )
            request.complete(self.at)
        self.pending += [request, txn, PaymentReference.claim(reference, txn.id, self.at)]
        return Made(request.id, txn.id, reference)

    def save(self) -> None:
        self.ledger.save(*self.pending)
        self.ledger.close()


@pytest.fixture
def pg_store(pg_database_url: str, pg_schema: str) -> Store:
    return Store({"LEDGER_DATABASE_URL": pg_database_url, "LEDGER_POSTGRES_SCHEMA": pg_schema})


@pytest.fixture
def sim() -> Iterator[PaystackSimulator]:
    with PaystackSimulator(SECRET) as simulator:
        yield simulator


def spawn(store: Store, sim: PaystackSimulator, *args: str, **env: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [str(LEDGER_SCRIPT), "jobs", "run", "--now", NOW, *args],
        env={
            **os.environ,
            **store.env,
            "PAYSTACK_URL": sim.url,
            "PAYSTACK_SECRET_KEY": SECRET,
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def verify_calls(sim: PaystackSimulator) -> int:
    with sim.state.lock:
        return sum("/verify/" in call["path"] for call in sim.state.calls)


@pytest.mark.parametrize("mode", [(), ("--once",)], ids=["long-running", "once"])
def test_sigterm_mid_sweep_exits_0_within_10s_with_nothing_half_done(
    pg_store: Store, sim: PaystackSimulator, mode: tuple[str, ...]
) -> None:
    seeder = Seeder(pg_store)
    due = [seeder.payment() for _ in range(200)]
    held = [seeder.payment(held=True) for _ in range(20)]
    seeder.save()
    outcomes = ({"status": "success"}, {"status": "failed"}, {"status": "ongoing"})
    sim.script(
        {
            "latency_ms": 25,
            "references": {
                m.reference: {"amount": PRICE, "currency": "NGN", **outcomes[n % 3]}
                for n, m in enumerate(due)
            },
        }
    )
    process = spawn(pg_store, sim, *mode, LEDGER_PROVIDER_CONCURRENCY="2")
    try:
        deadline = time.monotonic() + 60
        while verify_calls(sim) < 30 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.01)
        assert verify_calls(sim) >= 30, "the sweep never started"
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=10)
        assert time.monotonic() - sent < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    if mode:
        assert "job=check_pending_payments" in stderr
        [sweep] = [
            line
            for line in stderr.splitlines()
            if "event=job_finished" in line and "job=check_pending_payments" in line
        ]
        assert "status=interrupted" in sweep
    else:
        assert "event=runner_stopped" in stderr
    assert verify_calls(sim) < len(due), "stopped mid-sweep, not after it"

    ledger = pg_store.open()
    try:
        applied = 0
        for made in due:
            txn = ledger.get_transaction(made.transaction_id)
            request = ledger.get_request(made.request_id)
            names = [type(e).__name__ for e in ledger.events.get(made.transaction_id)]
            if txn.status is TxStatus.PENDING:
                assert names == ["PaymentInitiated"]
                assert request.status is RequestStatus.PENDING
                continue
            applied += 1
            if txn.status is TxStatus.COMPLETED:
                assert txn.escrow_status is EscrowStatus.PENDING
                assert request.status is RequestStatus.IN_PROGRESS
            else:
                assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
                assert request.status is RequestStatus.DECLINED
        decidable = sum(1 for n in range(len(due)) if n % 3 != 2)  # not "ongoing"
        assert 0 < applied < decidable, "stopped part-way: some applied, not all"
        released = 0
        for made in held:
            txn = ledger.get_transaction(made.transaction_id)
            if txn.escrow_status is EscrowStatus.RELEASED:
                released += 1
            else:
                assert txn.is_held
        wallet = ledger.get_wallet("star-1")
        credits = [e for e in ledger.events.get(wallet.id) if type(e).__name__ == "WalletCredited"]
        assert len(credits) == released
        assert wallet.balance == released * PRICE
    finally:
        ledger.close()


def test_two_runners_at_once_release_every_held_payment_exactly_once(
    pg_store: Store, sim: PaystackSimulator
) -> None:
    seeder = Seeder(pg_store)
    held = [seeder.payment(held=True) for _ in range(300)]
    seeder.save()
    runners = [spawn(pg_store, sim, "--once") for _ in range(2)]
    outputs = [runner.communicate(timeout=120) for runner in runners]
    for runner, (_, stderr) in zip(runners, outputs, strict=True):
        assert runner.returncode == 0, stderr
    ledger = pg_store.open()
    try:
        for made in held:
            names = [type(e).__name__ for e in ledger.events.get(made.transaction_id)]
            assert names.count("EscrowReleased") == 1, names
        wallet = ledger.get_wallet("star-1")
        credits = [e for e in ledger.events.get(wallet.id) if type(e).__name__ == "WalletCredited"]
        assert sorted(e.transaction_id for e in credits) == sorted(m.transaction_id for m in held)
        assert wallet.balance == len(held) * PRICE
    finally:
        ledger.close()
    released = sum(
        int(line.split("succeeded=")[1].split()[0])
        for _, stderr in outputs
        for line in stderr.splitlines()
        if "event=job_finished" in line and "job=release_escrow_payments" in line
    )
    assert released == len(held)
