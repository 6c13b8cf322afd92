"""``ledger simulator paystack|flutterwave``: run a provider simulator on loopback until
interrupted."""

import json
import signal
import threading
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import click

from ledger.config import load_settings
from ledger.errors import InvalidInput
from ledger.simulator.flutterwave import FlutterwaveSimulator
from ledger.simulator.paystack import PaystackSimulator

DEFAULT_SIM_SECRET = "sk_test_simulator"  # noqa: S105 - not a real key: the simulator default
# Not real credentials either: what the Flutterwave simulator accepts when the settings are unset.
DEFAULT_FW_CLIENT_ID = "fw_sim_client"
DEFAULT_FW_CLIENT_SECRET = "fw_sim_client_secret"  # noqa: S105
DEFAULT_FW_WEBHOOK_SECRET = "fw_sim_webhook_secret_hash"  # noqa: S105


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


@simulator.command("flutterwave")
@click.option("--port", type=click.IntRange(0, 65535), default=8098, show_default=True)
@click.option(
    "--script",
    "script_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file of per-reference outcomes, faults and accounts (see docs/simulator.md).",
)
@click.option("--webhook-url", help="Where to POST signed transfer webhooks.")
def flutterwave(port: int, script_path: Path | None, webhook_url: str | None) -> None:
    """Serve a Flutterwave v4-compatible payouts API on 127.0.0.1:PORT until SIGTERM/SIGINT.

    It issues tokens to FLUTTERWAVE_CLIENT_ID and FLUTTERWAVE_CLIENT_SECRET and signs webhooks
    with FLUTTERWAVE_WEBHOOK_SECRET (its own test values when unset). Point FLUTTERWAVE_URL and
    FLUTTERWAVE_TOKEN_URL at the printed addresses."""
    settings = load_settings()
    client_secret = settings.flutterwave_client_secret
    webhook_secret = settings.flutterwave_webhook_secret
    sim = FlutterwaveSimulator(
        client_id=settings.flutterwave_client_id or DEFAULT_FW_CLIENT_ID,
        client_secret=(
            client_secret.get_secret_value() if client_secret else DEFAULT_FW_CLIENT_SECRET
        ),
        webhook_secret=(
            webhook_secret.get_secret_value() if webhook_secret else DEFAULT_FW_WEBHOOK_SECRET
        ),
        webhook_url=webhook_url,
        port=port,
    )
    if script_path is not None:
        try:
            script = json.loads(script_path.read_text())
            if not isinstance(script, dict):
                raise TypeError("expected a JSON object")
            sim.script(script)
        except (ValueError, AttributeError, TypeError) as exc:
            raise InvalidInput(f"invalid simulator script {script_path}: {exc}") from None
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)
    sim.start()
    click.echo(
        f"flutterwave simulator listening on {sim.url} (token endpoint {sim.token_url})", err=True
    )
    try:
        stop.wait()
    finally:
        sim.stop()


__all__ = [
    "DEFAULT_FW_CLIENT_ID",
    "DEFAULT_FW_CLIENT_SECRET",
    "DEFAULT_FW_WEBHOOK_SECRET",
    "DEFAULT_SIM_SECRET",
    "simulator",
]
