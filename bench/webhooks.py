"""Signed Paystack ``charge.success`` deliveries per second through ``ledger serve`` on
PostgreSQL, beside the same server's ``/healthz`` rate measured in the same run.

What is measured: a real ``ledger serve`` process (uvicorn, ``--workers W``) on loopback, in a
fresh PostgreSQL schema (dropped at the end), with ``--payments N`` pending payments recorded
beforehand (not timed). ``--concurrency C`` senders (asyncio tasks, each on its own keep-alive
HTTP/1.1 connection with a minimal client, in this process) then deliver:

- ``webhooks``: one signed ``charge.success`` per payment, each a first delivery: the server
  checks the HMAC-SHA512 signature, parses, finds the payment by reference, confirms it (amount
  and currency checked; one atomic save of the transaction and its request), reads it back and
  records the delivery in ``webhook_deliveries``. Every answer must be 200 ``applied``.
- ``duplicates``: the same deliveries again (Paystack's retries): 200 ``duplicate``, no event.
- ``healthz``: ``GET /healthz`` as many times: the framework's ceiling on this machine (routing,
  middleware, access log, JSON), with no database work.

The three alternate in ``--rounds`` slices so that load from elsewhere hits all alike; rates
are the medians of the slices, latencies (p50, p99) are over every request of a kind. The last
line printed is one JSON object with every figure and ratio.

Run: ``.venv/bin/python bench/webhooks.py [--payments 3000] [--concurrency 16] [--workers 1]``
(``LEDGER_BENCH_DATABASE_URL`` or ``--database-url``; default the local server's ``test``).
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from ledger.application import Ledger
from ledger.config import load_settings

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
LEDGER = Path(sys.executable).parent / "ledger"
SECRET = "sk_test_bench_webhooks_0123456789"
TOKEN = "tok_bench_webhooks_0123456789abcdef"
AMOUNT = 500_000


def sign(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest()


def body_for(reference: str, n: int) -> bytes:
    data = {
        "id": 4_099_260_000 + n,
        "status": "success",
        "reference": reference,
        "amount": AMOUNT,
        "currency": "NGN",
        "paid_at": "2026-01-05T09:12:44.000Z",
        "channel": "card",
        "customer": {"email": "fan@example.com"},
    }
    return json.dumps({"event": "charge.success", "data": data}, separators=(",", ":")).encode()


def seed(url: str, schema: str, payments: int) -> list[str]:
    """``payments`` pending payments (fans, one celebrity, requests, recorded references)."""
    settings = load_settings(LEDGER_DATABASE_URL=url, LEDGER_POSTGRES_SCHEMA=schema)
    ledger = Ledger.from_settings(settings)
    try:
        ledger.register_user("bench-star", "celebrity", verified=True)
        references = []
        for i in range(payments):
            fan = f"bench-fan-{i % 50}"
            if i < 50:
                ledger.register_user(fan, "fan")
            rid = ledger.create_request(fan, "bench-star", AMOUNT, "NGN", uuid.uuid4()).id
            reference = f"bench-{rid.hex}"
            ledger.record_payment(rid, reference)
            references.append(reference)
        return references
    finally:
        ledger.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    url: str, schema: str, workers: int, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PAYSTACK_"))},
        "LEDGER_DATABASE_URL": url,
        "LEDGER_POSTGRES_SCHEMA": schema,
        "LEDGER_API_TOKENS": TOKEN,
        "PAYSTACK_SECRET_KEY": SECRET,
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(LEDGER), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server exited: " + log.read_text()[-2000:])
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not become ready: " + log.read_text()[-2000:])


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for this benchmark, so
    the client costs little next to the server it measures (both share the machine)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def http_request(method: str, path: str, body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body is not None:
        lines += [
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            f"x-paystack-signature: {sign(body)}",
        ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def run_slice(
    connections: list[Connection], requests: list[bytes], expect: str | None
) -> tuple[float, list[float]]:
    """Send ``requests``, one sender per connection; (elapsed seconds, latencies in s)."""
    queue = iter(requests)
    latencies: list[float] = []
    wanted = f'"outcome":"{expect}"'.encode() if expect else None

    async def sender(conn: Connection) -> None:
        for raw in queue:
            started = time.perf_counter()
            status, answer = await conn.request(raw)
            latencies.append(time.perf_counter() - started)
            if status != 200 or (wanted is not None and wanted not in answer):
                raise SystemExit(f"unexpected answer: {status} {answer[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(sender(c) for c in connections))
    return time.perf_counter() - started, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def measure(port: int, references: list[str], args: argparse.Namespace) -> dict[str, Any]:
    kinds = ("webhooks", "duplicates", "healthz")
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    latencies: dict[str, list[float]] = {k: [] for k in kinds}
    deliveries = [
        http_request("POST", "/webhooks/paystack", body_for(ref, n))
        for n, ref in enumerate(references)
    ]
    healthz = http_request("GET", "/healthz")
    connections = [await Connection.open("127.0.0.1", port) for _ in range(args.concurrency)]
    try:
        await run_slice(connections, [healthz] * 200, None)  # warm-up
        size = len(deliveries) // args.rounds
        for r in range(args.rounds):
            chunk = deliveries[r * size : (r + 1) * size]
            work = {
                "webhooks": (chunk, "applied"),
                "duplicates": (chunk, "duplicate"),
                "healthz": ([healthz] * len(chunk), None),
            }
            for kind in kinds:
                requests, expect = work[kind]
                elapsed, lat = await run_slice(connections, requests, expect)
                rates[kind].append(len(requests) / elapsed)
                latencies[kind].extend(lat)
    finally:
        for conn in connections:
            conn.close()
    figures: dict[str, Any] = {}
    for kind in kinds:
        figures[f"{kind}_per_s"] = round(statistics.median(rates[kind]), 1)
        figures[f"{kind}_best_per_s"] = round(max(rates[kind]), 1)
        figures[f"{kind}_p50_ms"] = round(pct(latencies[kind], 0.50), 2)
        figures[f"{kind}_p99_ms"] = round(pct(latencies[kind], 0.99), 2)
        figures[f"{kind}_requests"] = len(latencies[kind])
    figures["webhooks_vs_healthz"] = round(figures["webhooks_per_s"] / figures["healthz_per_s"], 3)
    figures["duplicates_vs_healthz"] = round(
        figures["duplicates_per_s"] / figures["healthz_per_s"], 3
    )
    return figures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=3000, help="deliveries (one per payment)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent senders")
    parser.add_argument("--workers", type=int, default=1, help="ledger serve --workers")
    parser.add_argument("--rounds", type=int, default=5, help="slices of each kind")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL (env LEDGER_BENCH_DATABASE_URL; default %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url
    schema = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    process = None
    try:
        started = time.perf_counter()
        references = seed(url, schema, args.payments)
        print(f"seeded {len(references)} pending payments in {time.perf_counter() - started:.1f}s")
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "server.log"
            process, port = start_server(url, schema, args.workers, log)
            figures = asyncio.run(measure(port, references, args))
            process.terminate()
            process.wait(30)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    result = {
        "benchmark": "webhooks",
        "payments": args.payments,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        **figures,
    }
    for kind in ("webhooks", "duplicates", "healthz"):
        print(
            f"{kind:>10}: {figures[f'{kind}_per_s']:8.1f}/s (median of {args.rounds}), "
            f"p50 {figures[f'{kind}_p50_ms']:.2f} ms, p99 {figures[f'{kind}_p99_ms']:.2f} ms"
        )
    print(
        f"webhooks/healthz = {figures['webhooks_vs_healthz']}, "
        f"duplicates/healthz = {figures['duplicates_vs_healthz']}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
