"""What the Paystack client sends: each argument checked before anything goes out, and the query
of a list call.

Every bad argument is an ``InvalidInput`` with a one-line message, raised before a request is
built, so a caller's mistake never reaches Paystack (where a refund of a wrong amount would be
real money). Lists use Paystack's offset paging: ``page`` from 1 and ``perPage`` (1 to
``MAX_PER_PAGE``), and ``from``/``to`` as ISO 8601 instants in UTC with milliseconds, the form
Paystack's own answers use.
"""

import re
from datetime import UTC, datetime

from ledger.errors import InvalidInput

MAX_PER_PAGE = 100  # the page size the client asks for at most
MAX_NOTE = 500  # characters of a merchant or customer note
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def check_reference(reference: str) -> None:
    if not isinstance(reference, str) or not reference.strip():
        raise InvalidInput("a payment reference is required")


def check_amount(amount: int) -> int:
    """A refund's amount: an integer of minor units, at least 1."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise InvalidInput(f"a refund amount must be a positive integer of minor units: {amount!r}")
    return amount


def check_currency(currency: str) -> str:
    """A three-letter code, sent upper-cased."""
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise InvalidInput(f"a currency must be a three-letter code: {currency!r}")
    return currency.upper()


def check_note(note: str, name: str) -> str:
    """A refund note: one line of text, not empty, at most ``MAX_NOTE`` characters."""
    if not isinstance(note, str) or not note.strip():
        raise InvalidInput(f"a refund's {name} must not be empty")
    if len(note) > MAX_NOTE or "\n" in note or "\r" in note:
        raise InvalidInput(f"a refund's {name} must be one line of at most {MAX_NOTE} characters")
    return note


def check_refund_id(refund_id: str | int) -> str:
    """Paystack's refund id (digits), as text."""
    text = str(refund_id).strip() if isinstance(refund_id, str | int) else ""
    if isinstance(refund_id, bool) or not text.isdigit():
        raise InvalidInput(f"a Paystack refund id is a number: {refund_id!r}")
    return text


def list_params(
    *, from_: datetime | None, to: datetime | None, page: int, per_page: int
) -> dict[str, str]:
    """The paging and time window of a list call as query parameters."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidInput(f"a page number starts at 1: {page!r}")
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise InvalidInput(f"a page size is a number: {per_page!r}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"a page size is 1 to {MAX_PER_PAGE}: {per_page}")
    params = {"page": str(page), "perPage": str(per_page)}
    if from_ is not None:
        params["from"] = instant(from_, "from")
    if to is not None:
        params["to"] = instant(to, "to")
    if from_ is not None and to is not None and from_ > to:
        raise InvalidInput("the window of a list must not end before it starts (from > to)")
    return params


def instant(at: datetime, name: str) -> str:
    """``at`` in UTC as ``2026-11-28T10:00:00.000Z``; a time without a zone is refused (it
    would be read in Paystack's zone, not ours)."""
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InvalidInput(f"'{name}' must be a date and time with a time zone")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


__all__ = [
    "MAX_NOTE",
    "MAX_PER_PAGE",
    "check_amount",
    "check_currency",
    "check_note",
    "check_reference",
    "check_refund_id",
    "instant",
    "list_params",
]
