"""The filters of the reports: one type for the HTTP API, the CLI and the queries.

A ``ReportFilter`` is built once where a request comes in (``ledger report``'s options, the
``/reports`` routes' query parameters) and handed whole to a report of
``projections.queries``. Building one checks what means the same in every report, and raises
``InvalidInput`` otherwise: ``currency`` a supported ISO 4217 code (as written: ``ngn`` is
refused); ``since`` and ``until`` aware times (stored normalised to UTC, ``since`` before
``until``; a row matches when created at or after ``since`` and before ``until``);
``celebrity`` a well-formed external user id.

``status`` and ``escrow_status`` are checked by the report that reads them: ``status`` is the
request's status in the escrow report and the payment's in the payments and review reports.
A report refuses a filter it does not take (``refuse_all_but``), so nothing is silently
ignored.
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


# The filters only some reports take (the others are taken by every report).
_OPTIONAL = ("status", "escrow_status")


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which rows a report shows (every field optional; see the module docstring)."""

    currency: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    celebrity: str | None = None
    status: str | None = None
    escrow_status: str | None = None

    def __post_init__(self) -> None:
        if self.currency is not None:
            check_currency(self.currency)
        since = None if self.since is None else utc(self.since, "since")
        until = None if self.until is None else utc(self.until, "until")
        if since is not None and until is not None and since >= until:
            raise InvalidInput(f"since ({since.isoformat()}) must be before until")
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "until", until)
        if self.celebrity is not None:
            ids.user_id(self.celebrity)  # InvalidInput for a malformed id

    @property
    def celebrity_id(self) -> str | None:
        """The celebrity's aggregate id as stored in the read tables."""
        return None if self.celebrity is None else str(ids.user_id(self.celebrity))

    def refuse_all_but(self, report: str, *taken: str) -> None:
        """``InvalidInput`` if a filter that only some reports take is set and ``report``
        does not take it (``taken``: the names of those it does)."""
        for f in fields(self):
            if f.name in _OPTIONAL and f.name not in taken and getattr(self, f.name) is not None:
                raise InvalidInput(f"the {report} report has no {f.name} filter")


NO_FILTER = ReportFilter()

__all__ = ["NO_FILTER", "ReportFilter", "utc"]
