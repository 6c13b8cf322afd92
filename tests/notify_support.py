"""What the notification tests share: a story that produces every message, a real SMTP server
on loopback (aiosmtpd) that can refuse, ask for a login or speak STARTTLS, a server that
never answers, and a port nobody listens on."""

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ledger.application import Ledger
from ledger.domain.transaction import TimeoutReason

# (template, recipient) of every message the story produces, each on both channels.
STORY_MESSAGES = {
    ("wallet_created", "celeb-1"),
    ("payment_received", "fan-1"),  # released
    ("escrow_released", "celeb-1"),
    ("payment_failed", "fan-1"),
    ("payment_timed_out", "fan-2"),
    ("request_timed_out", "fan-2"),
    ("payment_received", "fan-2"),  # declined by the celebrity, then refunded
    ("request_declined", "fan-2"),
    ("refund_issued", "fan-2"),
    ("refund_confirmed", "fan-2"),
    ("payment_flagged", "operators"),
}
STORY_COUNT = 11  # payment_received twice, for two requests


def story(ledger: Ledger) -> None:
    """Every kind of message: a release, a failure, two timeouts, a decline with its refund
    and confirmation, a flagged payment and a wallet."""
    ledger.register_user("fan-1", "fan")
    ledger.register_user("fan-2", "fan")
    ledger.register_user("celeb-1", "celebrity", verified=True)
    ledger.create_wallet("celeb-1", "NGN")

    def paid(fan: str, reference: str, amount: int = 500_000) -> tuple[Any, Any]:
        rid = ledger.create_request(fan, "celeb-1", 500_000, "NGN").id
        tid = ledger.record_payment(rid, reference).id
        ledger.confirm_payment(tid, amount=amount, currency="NGN")
        return rid, tid

    released, released_txn = paid("fan-1", "ref-released")
    ledger.complete_request(released)
    ledger.release_escrow(released_txn)
    failed = ledger.create_request("fan-1", "celeb-1", 300_000, "NGN").id
    ledger.fail_payment(
        ledger.record_payment(failed, "ref-failed").id, reason="declined", provider_status="failed"
    )
    slow = ledger.create_request("fan-2", "celeb-1", 300_000, "NGN").id
    ledger.time_out_payment(ledger.record_payment(slow, "ref-slow").id, TimeoutReason.UNRESOLVED)
    ledger.time_out_request(ledger.create_request("fan-2", "celeb-1", 200_000, "NGN").id)
    declined, _ = paid("fan-2", "ref-declined")
    ledger.decline_request(declined)
    ledger.confirm_refund("ref-declined")
    paid("fan-1", "ref-wrong", amount=100_000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    """What the loopback SMTP server received; ``refuse`` first messages with a 451."""

    port: int = 0
    refuse: int = 0
    received: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        self.received.append(message_from_bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.tls.append(session.ssl is not None)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"mailer",
            b"s3cret-pass",
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@contextmanager
def smtp_server(
    refuse: int = 0, *, auth: bool = False, tls_files: tuple[Path, Path] | None = None
) -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) in a thread, for the block."""
    sink = SmtpSink(port=free_port(), refuse=refuse)
    kwargs: dict[str, Any] = {}
    if auth:
        kwargs.update(authenticator=sink.authenticate, auth_required=True)
        kwargs["auth_require_tls"] = tls_files is not None
    if tls_files is not None:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*map(str, tls_files))
        kwargs.update(tls_context=context, require_starttls=True)
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **kwargs)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (an SMTP client waits for
    the greeting until its timeout)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def self_signed(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 and its key (None without openssl)."""
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
