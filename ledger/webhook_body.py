"""Reading a Paystack webhook body: the event name and the ``data`` fields the ledger uses.

Everything here runs after the signature has been checked. A body the ledger cannot read
raises ``Malformed`` (its message says why, in one line, and never quotes the body), which
the handler records as ``malformed`` and answers 400.

Text the ledger keeps must be storable as text on both stores: PostgreSQL's ``text`` holds no
NUL character, and neither store can encode an unpaired surrogate (``"\\ud800"`` is valid JSON,
not valid UTF-8). ``check_storable`` refuses a body whose event name or any field the ledger
reads from ``data`` (``READ_FIELDS``) holds one, before anything is applied; ``storable``
escapes them (``\\x00``, ``\\ud800``) in what is recorded about such a delivery, so the record
itself can always be written. Fields the ledger does not read (``customer``, ``metadata``...)
are not looked at.
"""

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

# The fields of ``data`` the ledger reads (and may keep, in an event or a delivery record).
READ_FIELDS = (
    "reference",
    "transaction_reference",
    "amount",
    "currency",
    "status",
    "id",
    "paid_at",
    "paidAt",
)


class Malformed(Exception):
    """The body is not a webhook the ledger can read (the message says why; no body text)."""


def parse(raw: bytes) -> tuple[str, Mapping[str, Any]]:
    """The event name and ``data`` of a body: a JSON object with a non-empty string ``event``
    and an object ``data``."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("body is not JSON") from None
    if not isinstance(body, dict):
        raise Malformed("body is not a JSON object")
    event, data = body.get("event"), body.get("data")
    if not isinstance(event, str) or not event:
        raise Malformed("no event")
    if not isinstance(data, dict):
        raise Malformed("no data object")
    return event, data


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storable(text: str) -> str:
    """``text`` with NUL characters and unpaired surrogates backslash-escaped (``\\x00``,
    ``\\ud800``), so that both stores can keep it; any other text is returned as is."""
    if not _unstorable(text):
        return text
    escaped = text.replace("\x00", "\\x00")
    return escaped.encode("utf-8", "backslashreplace").decode("utf-8")


def check_storable(event: str, data: Mapping[str, Any]) -> None:
    """``Malformed`` if the event name or a field in ``READ_FIELDS`` is text neither store
    can keep (see the module docstring)."""
    if _unstorable(event):
        raise Malformed("event contains a NUL character or an unpaired surrogate")
    for name in READ_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and _unstorable(value):
            raise Malformed(f"data.{name} contains a NUL character or an unpaired surrogate")


def text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"data.{name} is missing or not a string")
    return value.strip()


def minor_units(data: Mapping[str, Any], name: str) -> int:
    """An amount: an integer, or (as Paystack sends in refund events) a string of digits."""
    value = data.get(name)
    if isinstance(value, bool):
        raise Malformed(f"data.{name} is not an amount")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise Malformed(f"data.{name} is not an amount")


def instant(value: object) -> datetime | None:
    """An ISO 8601 time with its offset (``Z`` allowed); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def reference_hint(data: Mapping[str, Any]) -> str | None:
    """The payment reference a delivery is about, for its record (at most 200 characters)."""
    for name in ("reference", "transaction_reference"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


__all__ = [
    "READ_FIELDS",
    "Malformed",
    "check_storable",
    "instant",
    "minor_units",
    "parse",
    "reference_hint",
    "storable",
    "text",
]
