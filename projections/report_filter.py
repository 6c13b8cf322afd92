"""The filters of the reports and lists: one type for the HTTP API, the CLI and the queries.

A ``ReportFilter`` is built once where a request comes in (``ledger report``'s and ``ledger
requests|payments list``'s options, the ``/reports`` and list routes' query parameters) and
handed whole to a query of ``projections.queries`` or ``projections.lists``. Building one
checks what means the same everywhere, and raises ``InvalidInput`` otherwise: ``currency`` a
supported ISO 4217 code (any case: ``ngn`` is NGN); ``status`` and ``escrow_status`` upper-
cased (their values are checked by the query that reads them: ``status`` is the request's
status in the escrow report and the requests list, the payment's elsewhere); ``since`` and
``until`` aware times (stored normalised to UTC, ``since`` before ``until``; a row matches when
created at or after ``since`` and before ``until``; ``--older-than 24h`` is ``until``);
``celebrity`` and ``fan`` well-formed external user ids; ``reference`` a well-formed payment
reference; ``flagged`` whether the payment waits for an operator (``needsReview``).

A query refuses a filter it does not take (``refuse_all_but``), so nothing is silently
ignored. The sort order is not a filter: every list and report is newest first, and takes
``oldest_first=True`` for the other way (docs/reports.md).
"""

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from ledger.domain import ids
from ledger.domain.money import check_currency
from ledger.errors import InvalidInput


def utc(value: object, what: str) -> datetime:
    """``value``, an aware datetime, in UTC; ``InvalidInput`` for anything else."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None:
        raise InvalidInput(f"{what} {value.isoformat()} has no UTC offset")
    return value.astimezone(UTC)


# The filters only some queries take (the others are taken by every one).
_OPTIONAL = ("status", "escrow_status", "fan", "reference", "flagged")


def _upper(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {value!r}")
    return value.strip().upper()


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which rows a report or list shows (every field optional; see the module docstring)."""

    currency: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    celebrity: str | None = None
    status: str | None = None
    escrow_status: str | None = None
    fan: str | None = None
    reference: str | None = None
    flagged: bool | None = None

    def __post_init__(self) -> None:
        currency = _upper(self.currency, "currency")
        if currency is not None:
            check_currency(currency)
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "status", _upper(self.status, "status"))
        object.__setattr__(self, "escrow_status", _upper(self.escrow_status, "escrow status"))
        since = None if self.since is None else utc(self.since, "since")
        until = None if self.until is None else utc(self.until, "until")
        if since is not None and until is not None and since >= until:
            raise InvalidInput(f"since ({since.isoformat()}) must be before until")
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "until", until)
        for user in (self.celebrity, self.fan):
            if user is not None:
                ids.user_id(user)  # InvalidInput for a malformed id
        if self.reference is not None:
            ids.check_reference(self.reference)
        if self.flagged is not None and not isinstance(self.flagged, bool):
            raise InvalidInput(f"flagged must be true or false, got {self.flagged!r}")

    @property
    def celebrity_id(self) -> str | None:
        """The celebrity's aggregate id as stored in the read tables."""
        return None if self.celebrity is None else str(ids.user_id(self.celebrity))

    @property
    def fan_id(self) -> str | None:
        """The fan's aggregate id as stored in the read tables."""
        return None if self.fan is None else str(ids.user_id(self.fan))

    def refuse_all_but(self, report: str, *taken: str) -> None:
        """``InvalidInput`` if a filter that only some queries take is set and ``report``
        does not take it (``taken``: the names of those it does)."""
        for f in fields(self):
            if f.name in _OPTIONAL and f.name not in taken and getattr(self, f.name) is not None:
                raise InvalidInput(f"the {report} report has no {f.name} filter")


NO_FILTER = ReportFilter()

__all__ = ["NO_FILTER", "ReportFilter", "utc"]
