"""The messages the outbox sends, rendered from the template files beside this module.

Each template is ``templates/<name>.txt`` (first line ``Subject: ...``, a blank line, then the
plain-text body) and ``templates/<name>.html`` (the HTML body's content, put into
``templates/layout.html``). Placeholders are ``$name`` (``string.Template``); every one must be
given, and values are HTML-escaped in the HTML body. Amounts arrive formatted for people
(``NGN 5,000.00``) and dates as ``5 January 2026, 09:00 UTC``.

What a message says is decided here and only here; what it deliberately leaves out: secrets,
addresses (looked up at delivery), and ids the reader cannot use (a fan sees the short form
of their request id and the payment reference on their receipt; operators get the full ids
the admin commands take).
"""

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from string import Template
from typing import Final

FAN: Final = "fan"
CELEBRITY: Final = "celebrity"
OPERATORS: Final = "operators"

# template -> who reads it
TEMPLATES: Final[dict[str, str]] = {
    "payment_received": FAN,
    "payment_failed": FAN,
    "payment_timed_out": FAN,
    "request_timed_out": FAN,
    "request_declined": FAN,
    "refund_issued": FAN,
    "refund_confirmed": FAN,
    "escrow_released": CELEBRITY,
    "wallet_created": CELEBRITY,
    "payment_flagged": OPERATORS,
}

FLAG_REASONS: Final[dict[str, str]] = {
    "amount_mismatch": "the amount paid is not the amount of the request",
    "currency_mismatch": "the payment arrived in another currency",
    "late_success": "the payment succeeded after its request was declined",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Message:
    """One message to one recipient: a user's aggregate id (``recipient_ref`` is the host's
    id for them) or ``operators``. ``data`` is its machine form for the webhook (amounts in
    minor units, full ids)."""

    template: str
    recipient: str
    recipient_ref: str | None
    rendered: Rendered
    data: dict[str, object]


@cache
def _read(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def render(template: str, fields: dict[str, str]) -> Rendered:
    """``template`` with ``fields``; a missing placeholder raises ``KeyError`` (a bug)."""
    if template not in TEMPLATES:
        raise KeyError(f"unknown notification template {template!r}")
    head, _, body = _read(f"{template}.txt").partition("\n\n")
    if not head.startswith("Subject: "):
        raise ValueError(f"templates/{template}.txt must start with 'Subject: '")
    subject = Template(head.removeprefix("Subject: ").strip()).substitute(fields)
    text = Template(body).substitute(fields).strip() + "\n"
    escaped = {key: html.escape(value) for key, value in fields.items()}
    content = Template(_read(f"{template}.html")).substitute(escaped).strip()
    page = Template(_read("layout.html")).substitute(subject=html.escape(subject), content=content)
    return Rendered(subject, text, page)


def when(at: datetime) -> str:
    """``5 January 2026, 09:00 UTC``: a time as people read it (always UTC)."""
    utc = at.astimezone(UTC)
    return f"{utc.day} {utc:%B %Y, %H:%M} UTC"


def short_id(value: object) -> str:
    """The first 8 characters of an id: enough for a person to recognise a request."""
    return str(value)[:8]


__all__ = [
    "CELEBRITY",
    "FAN",
    "FLAG_REASONS",
    "OPERATORS",
    "TEMPLATES",
    "Message",
    "Rendered",
    "render",
    "short_id",
    "when",
]
