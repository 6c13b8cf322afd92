"""The four services as real processes (``ledger serve``, ``ledger jobs run``, the notification
sender ``ledger jobs run --only send_notifications``, ``ledger projections run``): started
with the environment of a store, their output in a file, their metrics scraped, stopped with
SIGTERM. Used by the end-to-end tests of logs, outages and metrics."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from ledger.application import Ledger
from ledger.domain import escrow
from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.money import Money
from ledger.domain.reference import PaymentReference
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.domain.user import User
from ledger.domain.wallet import Wallet
from ledger.logs import parse_logfmt
from tests.e2e.cli_support import LEDGER_SCRIPT, Store
from tests.e2e.sim_support import wait_until
from tests.ops_support import Samples, samples

TOKEN = "tok_e2e_ops_0123456789abcdef"
SECRET = "sk_test_e2e_ops_simulator_31"
NOTIFY_SECRET = "whsec_e2e_ops_0123456789"
PRICE = 250_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(store: Store, **extra: str) -> dict[str, str]:
    """The process environment: this one without the developer's ledger settings, plus the
    store's and ``extra``."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PAYSTACK_", "FLUT"))
    }
    return {**clean, **store.env, "LEDGER_API_TOKENS": TOKEN, **extra}


@dataclass
class Service:
    name: str
    process: "subprocess.Popen[bytes]"
    log: Path
    metrics_port: int | None = None
    terminated: bool = False

    def running(self) -> bool:
        return self.process.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def records(self) -> list[dict[str, Any]]:
        """Its log lines read back (logfmt or JSON); lines of neither kind are left out."""
        found: list[dict[str, Any]] = []
        for line in self.text().splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(line) if line.startswith("{") else parse_logfmt(line))
        return found

    def lines(self, event: str) -> list[dict[str, Any]]:
        """The records of ``event``."""
        return [record for record in self.records() if record.get("event") == event]

    def metrics(self) -> Samples:
        assert self.metrics_port is not None
        response = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5)
        return samples(response.text)

    def terminate(self) -> None:
        """SIGTERM, once (a second one could land after the process restored the default
        handler on its way out, and kill it)."""
        if not self.terminated and self.running():
            self.process.send_signal(signal.SIGTERM)
        self.terminated = True

    def stop(self) -> int:
        self.terminate()
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start(
    name: str, args: list[str], env: Mapping[str, str], folder: Path, *, metrics: bool = False
) -> Service:
    """``ledger ARGS`` in its own process; stdout and stderr go to ``folder/NAME.log``."""
    port = free_port() if metrics else None
    extra = ["--metrics-port", str(port)] if port is not None else []
    log = folder / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(LEDGER_SCRIPT), *args, *extra],
            env=dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Service(name, process, log, port)


def start_api(env: Mapping[str, str], folder: Path, *, workers: int = 1) -> tuple[Service, str]:
    port = free_port()
    args = ["serve", "--port", str(port), "--graceful-timeout", "5", "--workers", str(workers)]
    service = start("api", args, env, folder)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert service.running(), service.text()
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, what="ledger serve to answer", within=60)
    return service, url


@dataclass(frozen=True)
class Made:
    request_id: UUID
    transaction_id: UUID
    reference: str


class Seeder:
    """Users and payments built with the domain and saved in one ``save`` (fast), at ``at``."""

    def __init__(self, store: Store, at: datetime) -> None:
        self.at = Stamp(business=at, recorded=at)
        self.ledger = Ledger.from_settings(store.settings())
        self.fan = User.register("fan-ops", "fan", self.at)
        self.star = User.register("star-ops", "celebrity", self.at)
        self.star.verify(self.at)
        self.wallet = Wallet.open(self.star.id, "NGN", self.at)
        self.pending: list[LedgerAggregate] = [self.fan, self.star, self.wallet]

    def payment(self, *, held: bool = False) -> Made:
        """A PENDING payment, or with ``held`` a verified one of a COMPLETED request."""
        price = Money(PRICE, "NGN")
        request = Request.create(uuid.uuid4(), self.fan.id, self.star.id, price, self.at)
        reference = f"ops-{uuid.uuid4().hex[:12]}"
        txn = Transaction.initiate(request.id, reference, price, self.at)
        if held:
            escrow.apply_success(
                txn,
                request,
                received=price,
                provider_status="success",
                provider_transaction_id=None,
                paid_at=self.at.business,
                at=self.at,
            )
            request.complete(self.at)
        self.pending += [request, txn, PaymentReference.claim(reference, txn.id, self.at)]
        return Made(request.id, txn.id, reference)

    def save(self) -> None:
        self.ledger.save(*self.pending)
        self.ledger.close()


def stop_all(services: list[Service]) -> dict[str, int]:
    """SIGTERM to every service at once, then their exit codes."""
    for service in services:
        service.terminate()
    return {service.name: service.stop() for service in services}


def settle(seconds: float) -> None:
    """Let the processes run a little (a load loop's pause, not a measurement)."""
    time.sleep(seconds)


__all__ = [
    "NOTIFY_SECRET",
    "PRICE",
    "SECRET",
    "TOKEN",
    "Made",
    "Seeder",
    "Service",
    "free_port",
    "service_env",
    "settle",
    "start",
    "start_api",
    "stop_all",
]
