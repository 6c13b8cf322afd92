"""Typed, parametrised queries over the read tables: the reports and the jobs' work lists.

Every function takes a ``ReadDB`` and its filters (the reports: one
``projections.report_filter.ReportFilter``, validated when built; the jobs' lists: keywords),
refuses bad ones (an unknown currency or status, a naive or inverted time window, a malformed
celebrity id, a filter the report does not take: ``InvalidInput``), and returns frozen
dataclasses. Amounts are ``int`` minor units (SUMs are cast to BIGINT, so PostgreSQL returns
``int``, not ``Decimal``); ids are ``UUID``; times are aware UTC datetimes.

Access paths: each query is driven by an index of ``projections.ledger_tables`` (bench/explain.py
checks it on 1,000,000 rows). Lists are keyset-paginated on ``(createdAt, id)`` and never load a
whole table: reports are newest first (``oldest_first=True`` for the other way; the index is
read backwards) and take the last row's ``cursor`` as ``after`` (``each`` walks every page);
the jobs' work lists are oldest first (the longest-waiting work first) and take the last row's
id as ``after_id`` (users without a wallet: in id order). The cursor is an index condition,
not an OFFSET: a page costs the same at any depth, and rows changed or added behind the cursor
during a run wait for the next run.

Time: PostgreSQL stores ``timestamptz``; SQLite stores ISO 8601 text with the offset the ledger
stamped, which is always UTC (``+00:00``), so text order is time order. Parameters are therefore
normalised to UTC before they are bound (``10:00+01:00`` is compared as ``09:00+00:00``), and
times read back are returned in UTC on both backends.

What these functions deliberately do not do: catch the projections up (callers do that first,
see ``projections.wiring.read_side(catch_up=True)``), or decide anything: a job re-checks the
aggregate before acting, so a stale row costs a no-op, never a wrong transition.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from types import UnionType
from typing import Any, Final, Protocol, TypeVar, get_args, get_type_hints
from uuid import UUID

from ledger.domain import ids
from ledger.domain.money import CURRENCIES, check_currency
from ledger.domain.request import RequestStatus
from ledger.domain.transaction import EscrowStatus, TxStatus
from ledger.errors import InvalidInput
from projections.db import ReadDB
from projections.report_filter import NO_FILTER, ReportFilter, utc

PAYMENT_STATUSES: Final = tuple(s.value for s in TxStatus)
ESCROW_STATUSES: Final = tuple(s.value for s in EscrowStatus)
REQUEST_STATUSES: Final = tuple(s.value for s in RequestStatus)
MAX_LIMIT: Final = 10_000
DEFAULT_LIMIT: Final = 500

Cursor = tuple[datetime, UUID]
T = TypeVar("T")

# -- validation ----------------------------------------------------------------------------


def _status(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidInput(f"unknown {what} {value!r}: expected one of {', '.join(allowed)}")
    return value


def _limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


def _read_time(value: Any) -> datetime:
    """A time column as an aware UTC datetime (SQLite gives ISO text, PostgreSQL datetimes)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(at, datetime), f"bad stored time {value!r}"
    assert at.tzinfo is not None, f"stored time without offset {value!r}"
    return at.astimezone(UTC)


def _age(now: datetime, then: datetime) -> int:
    return max(0, int((now - then).total_seconds()))


# A row's columns are aliased to the dataclass's field names; each is converted by its type.
_CONVERTERS: Final[Mapping[Any, Callable[[Any], Any]]] = {
    UUID: lambda value: UUID(str(value)),
    datetime: _read_time,
    int: int,  # SQLite and PostgreSQL both give int for BIGINT; this also guards the type
    bool: bool,  # SQLite gives 0/1
    str: str,
}


_PLANS: dict[type, tuple[tuple[str, Callable[[Any], Any]], ...]] = {}


def _conversions(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """Each field of dataclass ``cls`` with the converter for its type (worked out once)."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = get_type_hints(cls)
        out = []
        for f in fields(cls):
            hint = hints[f.name]
            if isinstance(hint, UnionType):  # X | None
                (hint,) = (arg for arg in get_args(hint) if arg is not type(None))
            out.append((f.name, _CONVERTERS[hint]))
        plan = _PLANS[cls] = tuple(out)
    return plan


def _build(cls: type[T], row: Mapping[str, Any], **computed: Any) -> T:
    """``cls`` from a row whose columns are named like its fields (``computed`` besides)."""
    values = {
        name: None if row[name] is None else convert(row[name])
        for name, convert in _conversions(cls)
        if name not in computed
    }
    return cls(**values, **computed)


class _Where:
    """AND-ed conditions with their named parameters."""

    def __init__(self, *clauses: str) -> None:
        self.clauses = list(clauses)
        self.params: dict[str, Any] = {}

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def window(self, column: str, filters: ReportFilter) -> None:
        """``since <= column < until`` (either end optional; already in UTC)."""
        if filters.since is not None:
            self.add(f"{column} >= %(since)s", since=filters.since)
        if filters.until is not None:
            self.add(f"{column} < %(until)s", until=filters.until)

    def keyset(
        self, created: str, key: str, after: Cursor | None, *, descending: bool = False
    ) -> None:
        """Rows after the cursor ``after`` in ``(created, key)`` order (``descending``:
        newest first, so "after" is older)."""
        if after is not None:
            at, last = after
            # The row comparison is an index condition on (createdAt, id) on both backends;
            # the plain bound also narrows an index that leads with another column.
            bound, past = ("<=", "<") if descending else (">=", ">")
            self.add(
                f"{created} {bound} %(after_at)s "
                f"AND ({created}, {key}) {past} (%(after_at)s, %(after_id)s)",
                after_at=utc(at, "after"),
                after_id=str(ids.parse_uuid(last, "cursor id")),
            )

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1 = 1"


# -- report rows ---------------------------------------------------------------------------


class Keyed(Protocol):
    @property
    def cursor(self) -> Cursor: ...


@dataclass(frozen=True, slots=True)
class HeldPayment:
    """A payment whose money is in escrow now (status COMPLETED, escrowStatus PENDING)."""

    id: UUID
    request_id: UUID
    request_status: str
    reference: str | None
    amount: int
    currency: str
    fan: str | None
    celebrity: str | None
    celebrity_id: UUID
    created_at: datetime
    paid_at: datetime | None
    age_seconds: int

    @property
    def cursor(self) -> Cursor:
        return (self.created_at, self.id)


@dataclass(frozen=True, slots=True)
class WalletRow:
    id: UUID
    owner: str | None
    user_id: UUID
    role: str | None
    currency: str
    balance: int
    credited: int
    debited: int
    created_at: datetime
    updated_at: datetime

    @property
    def cursor(self) -> Cursor:
        return (self.created_at, self.id)


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: UUID
    request_id: UUID
    reference: str | None
    amount: int
    currency: str
    status: str
    escrow_status: str
    is_in_escrow: bool
    needs_review: bool
    fan: str | None
    celebrity: str | None
    fee: int | None
    payout: int | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    released_at: datetime | None
    refunded_at: datetime | None

    @property
    def cursor(self) -> Cursor:
        return (self.created_at, self.id)


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A flagged payment (money arrived but cannot be applied), waiting for an operator."""

    id: UUID
    request_id: UUID
    reference: str | None
    amount: int
    currency: str
    status: str
    escrow_status: str
    flag_reason: str | None
    flagged_amount: int | None
    flagged_currency: str | None
    provider_transaction_id: str | None
    fan: str | None
    celebrity: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def cursor(self) -> Cursor:
        return (self.created_at, self.id)


R = TypeVar("R", bound=Keyed)


def each(
    report: Callable[..., list[R]],
    db: ReadDB,
    filters: ReportFilter = NO_FILTER,
    *,
    limit: int = DEFAULT_LIMIT,
    after: Cursor | None = None,
    **extra: Any,
) -> Iterator[R]:
    """Every row of ``report`` (e.g. ``each(payments_report, db, ReportFilter(currency="NGN"))``;
    ``extra``: its other keywords, such as ``now``), fetched page by page with the keyset
    cursor, so memory does not grow with the table."""
    limit = _limit(limit)
    while True:
        rows = report(db, filters, limit=limit, after=after, **extra)
        yield from rows
        if len(rows) < limit:
            return
        after = rows[-1].cursor


# -- reports -------------------------------------------------------------------------------

_PEOPLE = "LEFT JOIN users f ON f.id = t.fanId LEFT JOIN users c ON c.id = t.celebrityId"  # by PK


def order_by(created: str, key: str, *, oldest_first: bool) -> str:
    """The one sort order of lists and reports: newest first, unless ``oldest_first``."""
    way = "" if oldest_first else " DESC"
    return f"ORDER BY {created}{way}, {key}{way}"


def _common(
    where: _Where,
    filters: ReportFilter,
    *,
    after: Cursor | None,
    limit: int,
    oldest_first: bool = False,
) -> str:
    """Filters every transaction report shares; returns the ORDER BY/LIMIT tail."""
    if filters.currency is not None:
        where.add("t.currency = %(currency)s", currency=filters.currency)
    where.window("t.createdAt", filters)
    if (celebrity := filters.celebrity_id) is not None:
        where.add("t.celebrityId = %(celebrity)s", celebrity=celebrity)
    where.keyset("t.createdAt", "t.id", after, descending=not oldest_first)
    where.params["limit"] = _limit(limit)
    return f"{order_by('t.createdAt', 't.id', oldest_first=oldest_first)} LIMIT %(limit)s"


def escrow_report(
    db: ReadDB,
    filters: ReportFilter = NO_FILTER,
    *,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    after: Cursor | None = None,
    oldest_first: bool = False,
) -> list[HeldPayment]:
    """Payments held in escrow (``isInEscrow = true AND escrowStatus = 'PENDING'``, the
    runbook's query), newest first, with their age at ``now``. ``status`` filters the
    *request's* status (IN_PROGRESS: work not done yet; COMPLETED: due for release)."""
    at = utc(now, "now")
    filters.refuse_all_but("escrow", "status")
    where = _Where("t.isInEscrow = true", "t.escrowStatus = 'PENDING'")
    if (status := _status(filters.status, REQUEST_STATUSES, "request status")) is not None:
        where.add("r.status = %(status)s", status=status)
    tail = _common(where, filters, after=after, limit=limit, oldest_first=oldest_first)
    rows = db.fetchall(
        "SELECT t.id AS id, t.requestId AS request_id, r.status AS request_status, "
        "t.reference AS reference, t.amount AS amount, t.currency AS currency, "
        "f.externalId AS fan, c.externalId AS celebrity, t.celebrityId AS celebrity_id, "
        "t.createdAt AS created_at, t.paidAt AS paid_at "
        f"FROM wallet_transactions t JOIN requests r ON r.id = t.requestId {_PEOPLE} "
        f"WHERE {where.sql()} {tail}",
        where.params,
    )
    return [
        _build(HeldPayment, row, age_seconds=_age(at, _read_time(row["created_at"])))
        for row in rows
    ]


def wallets_report(
    db: ReadDB,
    filters: ReportFilter = NO_FILTER,
    *,
    limit: int = DEFAULT_LIMIT,
    after: Cursor | None = None,
    oldest_first: bool = False,
) -> list[WalletRow]:
    """Wallets with balance, credits and debits and the owner's external id, newest first.
    ``since``/``until`` bound the wallet's creation; ``celebrity`` picks one owner."""
    filters.refuse_all_but("wallets")
    where = _Where()
    if filters.currency is not None:
        where.add("w.currency = %(currency)s", currency=filters.currency)
    where.window("w.createdAt", filters)
    if (owner := filters.celebrity_id) is not None:
        where.add("w.userId = %(owner)s", owner=owner)
    where.keyset("w.createdAt", "w.id", after, descending=not oldest_first)
    where.params["limit"] = _limit(limit)
    order = order_by("w.createdAt", "w.id", oldest_first=oldest_first)
    rows = db.fetchall(
        "SELECT w.id AS id, u.externalId AS owner, w.userId AS user_id, u.role AS role, "
        "w.currency AS currency, w.balance AS balance, w.credited AS credited, "
        "w.debited AS debited, w.createdAt AS created_at, w.updatedAt AS updated_at "
        "FROM wallets w LEFT JOIN users u ON u.id = w.userId "
        f"WHERE {where.sql()} {order} LIMIT %(limit)s",
        where.params,
    )
    return [_build(WalletRow, row) for row in rows]


def payments_report(
    db: ReadDB,
    filters: ReportFilter = NO_FILTER,
    *,
    limit: int = DEFAULT_LIMIT,
    after: Cursor | None = None,
    oldest_first: bool = False,
) -> list[PaymentRow]:
    """Payment transactions (``wallet_transactions``) created in the window, newest first
    (what ``ledger payments list`` and ``GET /transactions`` show); ``status`` is the payment
    status, ``escrow_status`` the escrow status, ``fan`` the paying fan, ``reference`` the
    provider's reference, ``flagged`` whether it waits for an operator."""
    where = _Where()
    if (status := _status(filters.status, PAYMENT_STATUSES, "payment status")) is not None:
        where.add("t.status = %(status)s", status=status)
    escrow = _status(filters.escrow_status, ESCROW_STATUSES, "escrow status")
    if escrow is not None:
        where.add("t.escrowStatus = %(escrow_status)s", escrow_status=escrow)
    if (fan := filters.fan_id) is not None:
        where.add("t.fanId = %(fan)s", fan=fan)
    if filters.reference is not None:
        where.add("t.reference = %(reference)s", reference=filters.reference)
    if filters.flagged is not None:
        where.add("t.needsReview = %(flagged)s", flagged=filters.flagged)
    tail = _common(where, filters, after=after, limit=limit, oldest_first=oldest_first)
    rows = db.fetchall(
        "SELECT t.id AS id, t.requestId AS request_id, t.reference AS reference, "
        "t.amount AS amount, t.currency AS currency, t.status AS status, "
        "t.escrowStatus AS escrow_status, t.isInEscrow AS is_in_escrow, "
        "t.needsReview AS needs_review, f.externalId AS fan, c.externalId AS celebrity, "
        "t.fee AS fee, t.payout AS payout, t.failureReason AS failure_reason, "
        "t.createdAt AS created_at, t.updatedAt AS updated_at, t.paidAt AS paid_at, "
        "t.releasedAt AS released_at, t.refundedAt AS refunded_at "
        f"FROM wallet_transactions t {_PEOPLE} WHERE {where.sql()} {tail}",
        where.params,
    )
    return [_build(PaymentRow, row) for row in rows]


def review_report(
    db: ReadDB,
    filters: ReportFilter = NO_FILTER,
    *,
    limit: int = DEFAULT_LIMIT,
    after: Cursor | None = None,
    oldest_first: bool = False,
) -> list[ReviewItem]:
    """Flagged payments waiting for an operator (``needsReview = true``), newest first.
    ``currency`` is the request's currency (``flagged_currency`` is what actually arrived);
    ``status`` the payment status (PENDING: amount/currency mismatch; FAILED: late success)."""
    filters.refuse_all_but("review", "status")
    where = _Where("t.needsReview = true")
    if (status := _status(filters.status, PAYMENT_STATUSES, "payment status")) is not None:
        where.add("t.status = %(status)s", status=status)
    tail = _common(where, filters, after=after, limit=limit, oldest_first=oldest_first)
    rows = db.fetchall(
        "SELECT t.id AS id, t.requestId AS request_id, t.reference AS reference, "
        "t.amount AS amount, t.currency AS currency, t.status AS status, "
        "t.escrowStatus AS escrow_status, t.flagReason AS flag_reason, "
        "t.flaggedAmount AS flagged_amount, t.flaggedCurrency AS flagged_currency, "
        "t.providerTransactionId AS provider_transaction_id, f.externalId AS fan, "
        "c.externalId AS celebrity, t.createdAt AS created_at, t.updatedAt AS updated_at "
        f"FROM wallet_transactions t {_PEOPLE} WHERE {where.sql()} {tail}",
        where.params,
    )
    return [_build(ReviewItem, row) for row in rows]


# -- summary -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrencySummary:
    """One currency's money and counts. ``verified = held + released + refunded`` (money of
    verified payments); ``released`` is gross (``platform_fees`` included); ``in_review_*``
    is flagged money (by the currency that arrived) awaiting an operator."""

    currency: str
    verified: int = 0
    held: int = 0
    released: int = 0
    platform_fees: int = 0
    refunded: int = 0
    in_review_count: int = 0
    in_review_amount: int = 0
    payments_by_status: Mapping[str, int] = field(default_factory=dict)
    escrow_by_status: Mapping[str, int] = field(default_factory=dict)
    requests_by_status: Mapping[str, int] = field(default_factory=dict)
    oldest_held_at: datetime | None = None
    oldest_held_age_seconds: int | None = None


def _money(value: Any) -> int:
    return int(value or 0)


def summary(
    db: ReadDB, filters: ReportFilter = NO_FILTER, *, now: datetime
) -> list[CurrencySummary]:
    """Per currency (sorted; just ``currency`` when given, even if empty): money held,
    released, refunded, platform fees, payments by status and escrow status, requests by
    status, and the oldest held payment with its age at ``now``. ``since``/``until`` bound
    the payments' and requests' creation; ``celebrity`` limits everything to one celebrity.
    Every status of the domain appears in the counts (zero when none)."""
    at = utc(now, "now")
    filters.refuse_all_but("summary")
    currency, celebrity = filters.currency, filters.celebrity_id
    codes = [currency] if currency is not None else sorted(CURRENCIES)
    slots = {f"cur_{i}": code for i, code in enumerate(codes)}

    def where(*clauses: str, currency_column: str | None = "currency") -> _Where:
        w = _Where(*clauses)
        if currency_column is not None:
            # Naming every currency (not "any") makes the leading column of the covering
            # indexes an index condition, so even "all currencies" is an index-only scan.
            w.add(f"{currency_column} IN ({', '.join(f'%({k})s' for k in slots)})", **slots)
        w.window("createdAt", filters)
        if celebrity is not None:
            w.add("celebrityId = %(celebrity)s", celebrity=celebrity)
        return w

    acc: dict[str, dict[str, Any]] = {}

    def slot(code: str) -> dict[str, Any]:
        return acc.setdefault(
            code,
            {
                "currency": code,
                "payments_by_status": dict.fromkeys(PAYMENT_STATUSES, 0),
                "escrow_by_status": dict.fromkeys(ESCROW_STATUSES, 0),
                "requests_by_status": dict.fromkeys(REQUEST_STATUSES, 0),
            },
        )

    w = where()
    for row in db.fetchall(
        "SELECT currency, status, escrowStatus AS escrow_status, COUNT(*) AS n, "
        "CAST(SUM(amount) AS BIGINT) AS amount, CAST(SUM(fee) AS BIGINT) AS fee "
        f"FROM wallet_transactions WHERE {w.sql()} GROUP BY currency, status, escrowStatus",
        w.params,
    ):
        s, n, amount = slot(row["currency"]), int(row["n"]), _money(row["amount"])
        status, escrow = row["status"], row["escrow_status"]
        s["payments_by_status"][status] = s["payments_by_status"].get(status, 0) + n
        s["escrow_by_status"][escrow] = s["escrow_by_status"].get(escrow, 0) + n
        if status == "COMPLETED":
            s["verified"] = s.get("verified", 0) + amount
            key = {"PENDING": "held", "RELEASED": "released", "REFUNDED": "refunded"}.get(escrow)
            if key is not None:
                s[key] = s.get(key, 0) + amount
            if escrow == "RELEASED":
                s["platform_fees"] = s.get("platform_fees", 0) + _money(row["fee"])
    w = where()
    for row in db.fetchall(
        "SELECT currency, status, COUNT(*) AS n FROM requests "
        f"WHERE {w.sql()} GROUP BY currency, status",
        w.params,
    ):
        s = slot(row["currency"])
        s["requests_by_status"][row["status"]] = int(row["n"])
    # The oldest held payment per currency: one MIN per currency, each the first entry of
    # the escrow index (isInEscrow, escrowStatus, createdAt) with that currency.
    w = where("isInEscrow = true", "escrowStatus = 'PENDING'", currency_column=None)
    oldest = db.fetchone(
        "SELECT "
        + ", ".join(
            f"(SELECT MIN(createdAt) FROM wallet_transactions WHERE {w.sql()} "
            f"AND currency = %({k})s) AS {k}"
            for k in slots
        ),
        {**w.params, **slots},
    )
    assert oldest is not None
    for k, code in slots.items():
        if oldest[k] is not None:
            first = _read_time(oldest[k])
            s = slot(code)
            s["oldest_held_at"] = first
            s["oldest_held_age_seconds"] = _age(at, first)
    flagged = "COALESCE(flaggedCurrency, currency)"
    w = where("needsReview = true", currency_column=flagged)
    for row in db.fetchall(
        f"SELECT {flagged} AS currency, COUNT(*) AS n, "
        "CAST(SUM(COALESCE(flaggedAmount, amount)) AS BIGINT) AS amount "
        f"FROM wallet_transactions WHERE {w.sql()} GROUP BY {flagged}",
        w.params,
    ):
        s = slot(row["currency"])
        s["in_review_count"] = int(row["n"])
        s["in_review_amount"] = _money(row["amount"])
    if currency is not None:
        slot(currency)
    return [CurrencySummary(**acc[code]) for code in sorted(acc)]


# -- the jobs' work lists ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingPayment:
    id: UUID
    request_id: UUID
    reference: str | None
    amount: int
    currency: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StaleRequest:
    """A PENDING request; its payment transaction (if any) and whether that is flagged."""

    id: UUID
    fan_id: UUID
    celebrity_id: UUID
    amount: int
    currency: str
    created_at: datetime
    transaction_id: UUID | None
    transaction_status: str | None
    needs_review: bool


@dataclass(frozen=True, slots=True)
class Releasable:
    """A held payment whose request is COMPLETED: due for release to ``wallet_id``."""

    id: UUID
    request_id: UUID
    celebrity_id: UUID
    wallet_id: UUID
    amount: int
    currency: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserWithoutWallet:
    id: UUID
    external_id: str
    role: str


def _resume(db: ReadDB, table: str, after_id: UUID | str | None) -> Cursor | None:
    """Where the page after row ``after_id`` starts: that row's ``(createdAt, id)``.
    Read-table rows are never deleted (a rebuild replays them all), so the row exists."""
    if after_id is None:
        return None
    key = ids.parse_uuid(after_id, "after_id")
    row = db.fetchone(f"SELECT createdAt AS created_at FROM {table} WHERE id = %s", [str(key)])
    if row is None:
        raise InvalidInput(f"after_id {key} is not a row of {table}")
    return (_read_time(row["created_at"]), key)


def list_pending_payments(
    db: ReadDB, *, older_than: datetime, limit: int = DEFAULT_LIMIT, after_id: UUID | None = None
) -> list[PendingPayment]:
    """Payments still to verify: status and escrow PENDING, not flagged, created at or before
    ``older_than`` (the caller passes ``now - LEDGER_PAYMENT_VERIFY_AFTER``). Oldest first;
    pass the last row's id as ``after_id`` for the next page."""
    where = _Where(
        "status = 'PENDING'",
        "escrowStatus = 'PENDING'",
        "needsReview = false",
        "createdAt <= %(cutoff)s",
    )
    where.params["cutoff"] = utc(older_than, "older_than")
    where.keyset("createdAt", "id", _resume(db, "wallet_transactions", after_id))
    where.params["limit"] = _limit(limit)
    rows = db.fetchall(
        "SELECT id, requestId AS request_id, reference, amount, currency, "
        f"createdAt AS created_at FROM wallet_transactions WHERE {where.sql()} "
        "ORDER BY createdAt, id LIMIT %(limit)s",
        where.params,
    )
    return [_build(PendingPayment, row) for row in rows]


def list_stale_requests(
    db: ReadDB, *, older_than: datetime, limit: int = DEFAULT_LIMIT, after_id: UUID | None = None
) -> list[StaleRequest]:
    """Requests still PENDING that were created strictly before ``older_than`` (the caller
    passes ``now - LEDGER_REQUEST_TIMEOUT``), with their payment transaction if one was
    recorded (a flagged one waits for the operator: the job skips it). Oldest first; pass the
    last row's id as ``after_id`` for the next page."""
    where = _Where("r.status = 'PENDING'", "r.createdAt < %(cutoff)s")
    where.params["cutoff"] = utc(older_than, "older_than")
    where.keyset("r.createdAt", "r.id", _resume(db, "requests", after_id))
    where.params["limit"] = _limit(limit)
    rows = db.fetchall(
        "SELECT r.id AS id, r.fanId AS fan_id, r.celebrityId AS celebrity_id, "
        "r.amount AS amount, r.currency AS currency, r.createdAt AS created_at, "
        "t.id AS transaction_id, t.status AS transaction_status, "
        "COALESCE(t.needsReview, false) AS needs_review "
        "FROM requests r LEFT JOIN wallet_transactions t ON t.requestId = r.id "
        f"WHERE {where.sql()} ORDER BY r.createdAt, r.id LIMIT %(limit)s",
        where.params,
    )
    return [_build(StaleRequest, row) for row in rows]


def list_releasable(
    db: ReadDB, *, limit: int = DEFAULT_LIMIT, after_id: UUID | None = None
) -> list[Releasable]:
    """Held payments (``isInEscrow`` and escrow PENDING), not flagged, whose request is
    COMPLETED. Oldest first; pass the last row's id as ``after_id`` for the next page.
    Whether the celebrity has a wallet is not checked: the release command says so, and the
    job logs and retries it next run."""
    where = _Where(
        "t.isInEscrow = true",
        "t.escrowStatus = 'PENDING'",
        "t.needsReview = false",
        "r.status = 'COMPLETED'",
    )
    where.keyset("t.createdAt", "t.id", _resume(db, "wallet_transactions", after_id))
    where.params["limit"] = _limit(limit)
    rows = db.fetchall(
        "SELECT t.id AS id, t.requestId AS request_id, t.celebrityId AS celebrity_id, "
        "t.amount AS amount, t.currency AS currency, t.createdAt AS created_at "
        "FROM wallet_transactions t JOIN requests r ON r.id = t.requestId "
        f"WHERE {where.sql()} ORDER BY t.createdAt, t.id LIMIT %(limit)s",
        where.params,
    )
    return [
        _build(Releasable, row, wallet_id=ids.wallet_id(UUID(row["celebrity_id"]), row["currency"]))
        for row in rows
    ]


def list_users_without_wallet(
    db: ReadDB, *, currency: str, limit: int = DEFAULT_LIMIT, after_id: UUID | None = None
) -> list[UserWithoutWallet]:
    """Verified users (any role) with no wallet in ``currency``, in id order: pass the last
    row's id as ``after_id`` for the next page."""
    rows = db.fetchall(
        "SELECT u.id AS id, u.externalId AS external_id, u.role AS role FROM users u "
        "WHERE u.verified = true AND u.id > %(after)s AND NOT EXISTS (SELECT 1 FROM wallets w "
        "WHERE w.userId = u.id AND w.currency = %(currency)s) ORDER BY u.id LIMIT %(limit)s",
        {
            "currency": check_currency(currency),
            # Every id is a UUID's text, and "" sorts before all of them.
            "after": "" if after_id is None else str(ids.parse_uuid(after_id, "after_id")),
            "limit": _limit(limit),
        },
    )
    return [_build(UserWithoutWallet, row) for row in rows]


# -- operations ----------------------------------------------------------------------------


def count_refunds_without_outcome(db: ReadDB) -> int:
    """Refunds asked of the provider whose outcome is not known yet: the read column of a
    payment's refund state equal to ``requested`` (a refund the provider neither accepted
    nor refused, e.g. its answer was lost). Those need a person: the refund must not be
    asked again before its outcome is found.

    This release records a refund only once the provider accepted it (``EscrowRefunded``),
    so no payment is ever in that state and the count is 0: the read table has no refund
    state column yet. It is the gauge ``ledger_refunds_unresolved`` reads; it will count
    ``WHERE refund state = 'requested'`` once the refund lifecycle records requests."""
    del db  # nothing to read yet (see above)
    return 0


__all__ = [
    "ESCROW_STATUSES",
    "PAYMENT_STATUSES",
    "REQUEST_STATUSES",
    "CurrencySummary",
    "Cursor",
    "HeldPayment",
    "PaymentRow",
    "PendingPayment",
    "Releasable",
    "ReviewItem",
    "StaleRequest",
    "UserWithoutWallet",
    "WalletRow",
    "count_refunds_without_outcome",
    "each",
    "escrow_report",
    "list_pending_payments",
    "list_releasable",
    "list_stale_requests",
    "list_users_without_wallet",
    "order_by",
    "payments_report",
    "review_report",
    "summary",
    "wallets_report",
]
