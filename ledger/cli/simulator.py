"""``ledger simulator paystack``: run the Paystack simulator on loopback until interrupted."""

import json
import signal
import threading
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import click

from ledger.config import load_settings
from ledger.errors import InvalidInput
from ledger.simulator.paystack import PaystackSimulator

DEFAULT_SIM_SECRET = "sk_test_simulator"  # noqa: S105 - not a real key: the simulator default


@click.group(name="simulator")
def simulator() -> None:
    """Provider simulators on loopback (for the demo and tests; never in production)."""


@simulator.command("paystack")
@click.option("--port", type=click.IntRange(0, 65535), default=8099, show_default=True)
@click.option(
    "--script",
    "script_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file of per-reference outcomes, faults and latency (see docs/simulator.md).",
)
@click.option(
    "--webhook-url",
    help="Where refund events are sent, e.g. http://127.0.0.1:8000/webhooks/paystack.",
)
def paystack(port: int, script_path: Path | None, webhook_url: str | None) -> None:
    """Serve a Paystack-compatible API on 127.0.0.1:PORT until SIGTERM/SIGINT.

    The bearer secret it accepts is PAYSTACK_SECRET_KEY (or the simulator's own test key when
    unset); point the ledger's PAYSTACK_URL at the printed address. Refunds move through
    their statuses and send signed refund.* webhooks to --webhook-url."""
    if webhook_url is not None and urlsplit(webhook_url).scheme not in ("http", "https"):
        raise InvalidInput(f"--webhook-url must be an http(s) URL: {webhook_url!r}")
    settings = load_settings()
    secret = (
        settings.paystack_secret_key.get_secret_value()
        if settings.paystack_secret_key is not None
        else DEFAULT_SIM_SECRET
    )
    sim = PaystackSimulator(secret, port=port, webhook_url=webhook_url)
    if script_path is not None:
        try:
            sim.script(json.loads(script_path.read_text()))
        except (ValueError, AttributeError, TypeError) as exc:
            raise InvalidInput(f"invalid simulator script {script_path}: {exc}") from None
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)
    sim.start()
    click.echo(f"paystack simulator listening on {sim.url}", err=True)
    try:
        stop.wait()
    finally:
        sim.stop()


__all__ = ["DEFAULT_SIM_SECRET", "simulator"]
