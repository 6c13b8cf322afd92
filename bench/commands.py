"""Ledger commands per second on PostgreSQL, beside two baselines measured in the same run.

What is measured, in ONE process against ONE database (a fresh schema, dropped at the end):

- ``raw``: one-row INSERT transactions by psycopg (autocommit: one INSERT, one commit each)
  into a table shaped like the event store's (uuid, bigint, text, ~300-byte bytea, bigserial
  with a unique index), on the same connection parameters. This is the floor set by the
  database and the machine (round trip + WAL flush per commit).
- ``ledger``: for each request, the six commands of a paid request's life: register a fan,
  create the request (with a celebrity from a small pool registered, verified and given a
  wallet in setup, not timed), record the payment, confirm it with the exact amount, complete
  the request, release the escrow. Every command is one ``Ledger`` call with all its
  guarantees (idempotency, optimistic concurrency, fresh reads where the design needs them,
  the per-payment lock that ``complete`` and ``release`` take).
- ``library``: eventsourcing alone with library defaults: a plain ``Application`` saving a
  trivial ``Aggregate`` (create, then one ``@event`` update), two saves per item.

The three alternate (raw, ledger, library, raw, ...) in short slices, ``--slices`` per round,
so a burst of load from elsewhere on the machine hits all of them alike; each figure is the
median over ``--repeat`` rounds (the best is printed too, and the ratios of every round).
The last line printed is one JSON object with every figure.

Run: ``.venv/bin/python bench/commands.py [--requests 1500] [--raw 3000] [--repeat 3]``
"""

import argparse
import json
import os
import platform
import secrets
import statistics
import time
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from ledger.application import Ledger
from ledger.config import load_settings

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
COMMANDS_PER_REQUEST = 6
CELEBRITIES = 8
PAYLOAD_BYTES = 300
AMOUNT = 500_000  # NGN 5,000.00 in kobo


# -- the library baseline -------------------------------------------------------------------


class Counter(Aggregate):
    """A trivial aggregate: created, then incremented."""

    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Incremented")
    def increment(self, by: int) -> None:
        self.count += by


class BenchLibrary(Application[uuid.UUID]):
    """A plain eventsourcing application with library defaults."""

    name = "BenchLibrary"


def library_env(url: str, schema: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
    }


# -- the three workloads --------------------------------------------------------------------


class RawInserts:
    def __init__(self, url: str, schema: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        table = sql.Identifier(schema, "raw_events")
        self.conn.execute(
            sql.SQL(
                "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
                " topic text, state bytea, notification_id bigserial,"
                " PRIMARY KEY (originator_id, originator_version))"
            ).format(table)
        )
        self.conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} (notification_id)").format(table))
        self.insert = sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s)"
        ).format(table)
        self.topic = "ledger.domain.transaction:Transaction.PaymentVerified"
        self.payload = secrets.token_bytes(PAYLOAD_BYTES)

    unit = 1  # operations per item

    def run(self, n: int) -> float:
        """Insert ``n`` rows; return the seconds taken."""
        ids = [uuid.uuid4() for _ in range(n)]
        execute = self.conn.execute
        started = time.perf_counter()
        for originator_id in ids:
            execute(self.insert, (originator_id, 1, self.topic, self.payload))
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


class LedgerCommands:
    def __init__(self, url: str, schema: str) -> None:
        settings = load_settings(LEDGER_DATABASE_URL=url, LEDGER_POSTGRES_SCHEMA=schema)
        self.ledger = Ledger.from_settings(settings)
        self.celebrities = [f"bench-celeb-{i}" for i in range(CELEBRITIES)]
        for celebrity in self.celebrities:
            self.ledger.register_user(celebrity, "celebrity", verified=True)
            self.ledger.create_wallet(celebrity, "NGN")
        self.run_tag = secrets.token_hex(4)
        self.counter = 0

    unit = COMMANDS_PER_REQUEST

    def run(self, n: int) -> float:
        """Take ``n`` requests through their six commands; return the seconds taken."""
        ledger = self.ledger
        tag, base = self.run_tag, self.counter
        self.counter += n
        fans = [f"bench-fan-{tag}-{base + i}" for i in range(n)]
        started = time.perf_counter()
        for i, fan in enumerate(fans):
            ledger.register_user(fan, "fan")
            rid = ledger.create_request(fan, self.celebrities[i % CELEBRITIES], AMOUNT, "NGN").id
            tid = ledger.record_payment(rid, f"ref_{rid.hex}").id
            ledger.confirm_payment(tid, amount=AMOUNT, currency="NGN")
            ledger.complete_request(rid)
            ledger.release_escrow(tid)
        return time.perf_counter() - started

    def check(self) -> dict[str, Any]:
        """After the runs: the celebrities' wallets hold exactly what was released, and the
        events' stored size (to compare with the raw payload)."""
        total = sum(self.ledger.get_wallet(c, "NGN").balance for c in self.celebrities)
        expected = self.counter * AMOUNT
        if total != expected:
            raise SystemExit(f"ledger check failed: wallets hold {total}, expected {expected}")
        recorder: Any = self.ledger.recorder
        with recorder.datastore.get_connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*) AS n, avg(octet_length(state))::int AS avg_state FROM {}.{}"
                ).format(
                    sql.Identifier(recorder.datastore.schema),
                    sql.Identifier(recorder.events_table_name),
                )
            ).fetchone()
        return {"ledger_events": row["n"], "ledger_avg_state_bytes": row["avg_state"]}

    def close(self) -> None:
        self.ledger.close()


class LibraryOps:
    def __init__(self, url: str, schema: str) -> None:
        self.app = BenchLibrary(env=library_env(url, schema))

    unit = 2

    def run(self, n: int) -> float:
        """Create and update ``n`` aggregates (two saves each); return the seconds taken."""
        save = self.app.save
        started = time.perf_counter()
        for i in range(n):
            counter = Counter(f"c{i}")
            save(counter)
            counter.increment(1)
            save(counter)
        return time.perf_counter() - started

    def close(self) -> None:
        self.app.close()


# -- driver ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=1500, help="requests per ledger round (6 commands each)"
    )
    parser.add_argument(
        "--raw", type=int, default=None, help="raw inserts per round (default: 2 x --requests)"
    )
    parser.add_argument(
        "--library",
        type=int,
        default=None,
        help="library items per round, 2 saves each (default: --requests)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL (env LEDGER_BENCH_DATABASE_URL; default %(default)s)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds (figures are medians)")
    parser.add_argument(
        "--slices",
        type=int,
        default=10,
        help="each round alternates raw, ledger, library this many times (default %(default)s)",
    )
    parser.add_argument(
        "--warmup", type=int, default=100, help="untimed requests/inserts before the rounds"
    )
    args = parser.parse_args(argv)
    if min(args.requests, args.repeat, args.slices) < 1:
        parser.error("--requests, --repeat and --slices must be positive")
    args.raw = args.raw if args.raw is not None else 2 * args.requests
    args.library = args.library if args.library is not None else args.requests
    return args


def load_average() -> float | None:
    """The machine's 1-minute load average, where the platform has one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def server_settings(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            name: str(conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0])
            for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url
    schema = f"bench_{secrets.token_hex(6)}"
    load_at_start = load_average()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    workloads: dict[str, Any] = {}
    try:
        workloads["raw"] = RawInserts(url, schema)
        workloads["ledger"] = LedgerCommands(url, schema)
        workloads["library"] = LibraryOps(url, schema)
        sizes = {"raw": args.raw, "ledger": args.requests, "library": args.library}
        for name, workload in workloads.items():  # warm up: connections, prepared statements
            workload.run(max(1, args.warmup if name != "ledger" else args.warmup // 2))
        rates: dict[str, list[float]] = {name: [] for name in workloads}
        for round_no in range(1, args.repeat + 1):
            # Each round interleaves the workloads in short slices, so a burst of load from
            # elsewhere on the machine slows all three alike instead of one of them.
            seconds = dict.fromkeys(workloads, 0.0)
            done = dict.fromkeys(workloads, 0)
            for part in range(args.slices):
                for name, workload in workloads.items():
                    n = sizes[name] * (part + 1) // args.slices - done[name]
                    if n > 0:
                        seconds[name] += workload.run(n)
                        done[name] += n
            for name, workload in workloads.items():
                rates[name].append(done[name] * workload.unit / seconds[name])
            print(
                f"round {round_no}: "
                + "  ".join(f"{name} {rates[name][-1]:.1f}/s" for name in workloads),
                flush=True,
            )
        extra = workloads["ledger"].check()
    finally:
        for workload in workloads.values():
            workload.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))

    median = {name: statistics.median(values) for name, values in rates.items()}
    best = {name: max(values) for name, values in rates.items()}

    def paired(name: str) -> list[float]:
        return [a / b for a, b in zip(rates[name], rates["raw"], strict=True)]

    result: dict[str, Any] = {
        "raw_inserts_per_s": round(median["raw"], 1),
        "ledger_commands_per_s": round(median["ledger"], 1),
        "library_ops_per_s": round(median["library"], 1),
        "ledger_vs_raw": round(median["ledger"] / median["raw"], 3),
        "library_vs_raw": round(median["library"] / median["raw"], 3),
        "ledger_vs_library": round(median["ledger"] / median["library"], 3),
        "ledger_vs_raw_target": 0.35,
        "ledger_vs_raw_per_round": [round(r, 3) for r in paired("ledger")],
        "library_vs_raw_per_round": [round(r, 3) for r in paired("library")],
        "best_raw_inserts_per_s": round(best["raw"], 1),
        "best_ledger_commands_per_s": round(best["ledger"], 1),
        "best_library_ops_per_s": round(best["library"], 1),
        "ledger_requests_per_s": round(median["ledger"] / COMMANDS_PER_REQUEST, 1),
        "requests": args.requests,
        "commands": args.requests * COMMANDS_PER_REQUEST,
        "raw_inserts": args.raw,
        "library_items": args.library,
        "library_ops": 2 * args.library,
        "repeat": args.repeat,
        "slices": args.slices,
        "statistic": "median",
        "raw_payload_bytes": PAYLOAD_BYTES,
        **extra,
        # Other processes on the machine move every figure; the ratio less, but not nothing.
        "load_average_start": load_at_start,
        "load_average_end": load_average(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **server_settings(url),
    }
    print(
        f"raw {result['raw_inserts_per_s']}/s  ledger {result['ledger_commands_per_s']}/s "
        f"(ratio {result['ledger_vs_raw']}, target >= 0.35)  "
        f"library {result['library_ops_per_s']}/s (ratio {result['library_vs_raw']})"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
