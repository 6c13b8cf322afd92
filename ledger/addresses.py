"""Where notifications go: email addresses, webhook URLs and the SMTP server's URL.

Checked where they enter (settings at start-up, ``ledger users contact``, the HTTP API), so the
delivery job never meets a malformed one. An address is one line of printable text (no CR or
LF, so it cannot inject a mail header). ``LEDGER_SMTP_URL`` is
``smtp://[user[:password]@]host[:port][?starttls=opportunistic|required|never]`` (port 25;
STARTTLS when the server offers it, by default) or ``smtps://...`` (TLS from the start, port
465). User and password are percent-decoded. The password never appears in ``repr``, in a
message or in a log line.

What it deliberately does not do: check that an address or a host exists (delivery finds out).
"""

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from ledger.errors import InvalidInput

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")
StartTls = Literal["opportunistic", "required", "never"]
_STARTTLS: tuple[StartTls, ...] = ("opportunistic", "required", "never")


def check_email(address: object) -> str:
    """``address`` if it looks like ``local@domain`` (at most 254 characters, one line)."""
    if not isinstance(address, str) or len(address) > 254 or not _EMAIL.fullmatch(address):
        raise InvalidInput(f"invalid email address {str(address)[:80]!r}: expected local@domain")
    return address


def check_webhook_url(url: object) -> str:
    """``url`` if it is an absolute http(s) URL with a host (https outside tests, by policy)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        parts is None
        or parts.scheme not in ("https", "http")
        or not parts.hostname
        or any(c.isspace() for c in str(url))
    ):
        raise InvalidInput("invalid webhook URL: expected https://host/path")
    if parts.password is not None:
        raise InvalidInput("invalid webhook URL: credentials do not belong in it")
    return str(url)


@dataclass(frozen=True)
class SmtpServer:
    """A parsed ``LEDGER_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool  # smtps://
    starttls: StartTls
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """For logs and errors: scheme, host and port only."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpServer:
    """Parse ``LEDGER_SMTP_URL``; a ``ValueError`` names what is wrong, never the URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("expected smtp://[user:password@]host[:port] or smtps://...")
    if not parts.hostname:
        raise ValueError("the SMTP URL has no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the SMTP URL's port is not a number from 1 to 65535") from None
    options = parse_qs(parts.query)
    unknown = set(options) - {"starttls"}
    if unknown:
        raise ValueError(f"unknown SMTP URL option {sorted(unknown)[0]!r}: expected starttls")
    mode = options.get("starttls", ["opportunistic"])[-1]
    if mode not in _STARTTLS:
        raise ValueError("starttls must be opportunistic, required or never")
    implicit = parts.scheme == "smtps"  # TLS from the first byte: no STARTTLS
    starttls: StartTls = "never" if implicit else _STARTTLS[_STARTTLS.index(mode)]
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit else 25),
        implicit_tls=implicit,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


__all__ = ["SmtpServer", "StartTls", "check_email", "check_webhook_url", "parse_smtp_url"]
