"""The email channel: one SMTP connection per run, opened on the first message.

``LEDGER_SMTP_URL`` (see ``ledger.addresses``): ``smtps://`` is TLS from the first byte;
``smtp://`` upgrades with STARTTLS when the server offers it (``?starttls=required`` refuses a
server that does not; ``?starttls=never`` does not try). Certificates are verified (against
``LEDGER_SMTP_CA_FILE`` when set). Credentials are sent only over TLS, or to a server on the
loopback interface (a local relay). Every network step has ``LEDGER_NOTIFY_TIMEOUT``.

Failures come in two kinds: ``ChannelDown`` (cannot connect, TLS or login failed, the server
hung up: the rest of the run's mail waits, the run moves on) and ``Rejected`` (the server
refused this message: only it is retried later). Error texts name the server by host and
port, never the password, and hide email addresses.

``Message-ID`` is ``<idempotency-key@sender-domain>``: a message delivered twice (at-least-once)
carries the same id both times, so mail systems and readers can tell it is a repeat.
"""

import ipaddress
import re
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from ledger.addresses import SmtpServer

_ADDRESS = re.compile(r"[^\s<>@]+@[^\s<>@]+")


class ChannelDown(Exception):
    """The channel cannot deliver anything now (its server is unreachable or refuses us)."""


class Rejected(Exception):
    """This message was refused; others may still go."""


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with addresses and ``secrets`` hidden, on one line, at most 300 characters."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return " ".join(_ADDRESS.sub("<address>", text).split())[:300]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_message(
    *, key: str, sender: str, to: Sequence[str], subject: str, text: str, html: str, at: datetime
) -> EmailMessage:
    """The email for one outbox row: plain text with an HTML alternative."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = f"<{key}@{sender.rpartition('@')[2]}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class Mailer:
    """Sends emails through one server; ``close()`` when the run ends."""

    def __init__(
        self, server: SmtpServer, sender: str, *, timeout: float, ca_file: str | None = None
    ) -> None:
        self.server = server
        self.sender = sender
        self.timeout = timeout
        self.ca_file = ca_file
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"Mailer({self.server.describe()})"

    def _fail(self, what: str, exc: BaseException) -> ChannelDown:
        self.close()
        detail = scrub(f"{type(exc).__name__}: {exc}", self.server.password)
        return ChannelDown(f"{what} {self.server.describe()}: {detail}")

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        context = ssl.create_default_context(cafile=self.ca_file)
        smtp: smtplib.SMTP
        if server.implicit_tls:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            secure = server.implicit_tls
            if not secure and server.starttls != "never" and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
                secure = True
            if not secure and server.starttls == "required":
                raise ChannelDown(f"{server.describe()} does not offer STARTTLS (required)")
            if server.username is not None:
                if not secure and not _loopback(server.host):
                    raise ChannelDown(
                        f"refusing to send SMTP credentials without TLS to {server.describe()}"
                    )
                smtp.login(server.username, server.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage, to: Sequence[str]) -> None:
        """Deliver ``msg`` to ``to``; raises ``ChannelDown`` or ``Rejected``."""
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except ChannelDown:
                raise
            except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError is an OSError
                raise self._fail("cannot use", exc) from None
        try:
            self._smtp.send_message(msg, from_addr=self.sender, to_addrs=list(to))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise Rejected(f"recipient refused ({', '.join(map(str, codes))})") from None
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise Rejected(scrub(f"refused ({exc.smtp_code}): {text}")) from None
        except (OSError, smtplib.SMTPException) as exc:  # hung up, timed out mid-message
            raise self._fail("lost", exc) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


__all__ = ["ChannelDown", "Mailer", "Rejected", "build_message", "scrub"]
