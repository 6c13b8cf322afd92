"""The application service: ``Ledger``, an eventsourcing ``Application``.

One method per command. Each loads the aggregates it needs, lets the domain decide, and saves
every changed aggregate in one ``save(...)`` (one database transaction). Guarantees:

- *Idempotent*: a command that already took effect returns ``Result(changed=False, ...)``
  ("already done"), writes no event and raises nothing.
- *Optimistic concurrency*: two writers of one aggregate collide on its next version; the loser
  reloads and retries, at most ``LEDGER_CONFLICT_RETRIES`` times, then ``Conflict``.
- *Cache without stale decisions*: aggregates are cached in process
  (``LEDGER_AGGREGATE_CACHE_SIZE``) to save reads. A write decided on a stale copy cannot
  land (its version collides, and the command is retried on fresh state); a no-op or a
  refusal decided on a cached copy is re-checked on fresh state before it is reported.
  Aggregates a command reads but does not write are read fresh, unless the fact used can
  only move forward (a user exists; a request is COMPLETED).
- *Provider first*: refunds and payment initialisation call the provider before anything is
  recorded; if it refuses or is down the command fails and nothing is written.

What it deliberately does not do: find work (jobs read the read tables for that), or keep
personal data (emails pass through to the provider only).
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import EnvType

from ledger.app.store import open_store
from ledger.clock import Clock, system_clock
from ledger.config import Settings, load_settings
from ledger.domain import escrow, ids
from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.fees import check_fee_bps
from ledger.domain.money import Money, check_amount, check_currency
from ledger.domain.reference import PaymentReference
from ledger.domain.request import DeclineReason, Request, RequestStatus
from ledger.domain.transaction import (
    EscrowStatus,
    ReleaseTrigger,
    TimeoutReason,
    Transaction,
    TxStatus,
)
from ledger.domain.user import Role, User, check_role
from ledger.domain.wallet import Wallet
from ledger.errors import ConfigError, Conflict, DomainError, InvalidInput, NotFound
from ledger.locks import LocalLocks, PaymentLocks, PostgresLocks
from ledger.providers.port import Outcome, PaymentProvider, Verification

A = TypeVar("A", bound=LedgerAggregate)


@dataclass(frozen=True)
class Result:
    """What a command did. ``changed`` is False when it had already taken effect."""

    changed: bool
    message: str
    id: UUID
    data: Mapping[str, Any] | None = None


def _check_text(value: str | None, what: str, *, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{what} is required")
        return None
    if len(value) > 1000:
        raise InvalidInput(f"{what} is too long (at most 1000 characters)")
    return value.strip()


# Attribute values that are immutable: a copy of an aggregate may share them.
_IMMUTABLE: frozenset[type] = frozenset(
    {str, int, bool, float, bytes, type(None), UUID, datetime, date, timedelta}
)
_PLAIN_CLASSES: dict[type, bool] = {}


def _is_plain(cls: type) -> bool:
    """Whether ``deepcopy`` of a ``cls`` instance is ``__new__`` plus a copy of ``__dict__``."""
    plain = _PLAIN_CLASSES.get(cls)
    if plain is None:
        plain = (
            not hasattr(cls, "__deepcopy__")
            and not hasattr(cls, "__setstate__")
            and cls.__reduce_ex__ is object.__reduce_ex__  # type: ignore[comparison-overlap]
            and cls.__reduce__ is object.__reduce__  # type: ignore[comparison-overlap]
            and getattr(cls, "__getstate__", None) is getattr(object, "__getstate__", None)
            and not any(getattr(k, "__dict__", {}).get("__slots__") for k in cls.__mro__)
        )
        _PLAIN_CLASSES[cls] = plain
    return plain


def _copy(aggregate: A) -> A:
    """A copy as independent as ``deepcopy(aggregate)``, at a fraction of its cost: immutable
    attribute values (nearly all an aggregate holds) are shared, anything else (a set, the
    pending-events list) is deep-copied. Falls back to ``deepcopy`` for unusual classes."""
    cls = type(aggregate)
    if not _is_plain(cls):
        return deepcopy(aggregate)
    clone: A = cls.__new__(cls)
    memo: dict[int, Any] = {}  # as in deepcopy: values shared inside the aggregate stay shared
    clone.__dict__.update(
        {
            name: value
            if type(value) in _IMMUTABLE or isinstance(value, Enum)
            else deepcopy(value, memo)
            for name, value in aggregate.__dict__.items()
        }
    )
    return clone


class _Retry(Exception):
    """Internal: the decision rested on cached state; decide again on fresh state."""


class Ledger(Application[UUID]):
    """The escrow ledger. Construct with ``Ledger.from_settings(...)``; close when done."""

    name = "Ledger"

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock = system_clock,
        wall_clock: Clock = system_clock,
        provider: PaymentProvider | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.clock = clock
        self.wall_clock = wall_clock
        self.provider = provider
        self.fee_bps = check_fee_bps(self.settings.platform_fee_bps)
        self._cache: OrderedDict[UUID, LedgerAggregate] = OrderedDict()
        self._cache_size = self.settings.aggregate_cache_size
        self._cache_lock = threading.Lock()  # commands may run in several threads at once
        self._local = threading.local()  # per-thread: did this decision use the cache?
        super().__init__(env)
        self._locks = self._construct_locks()

    def _construct_locks(self) -> PaymentLocks:
        timeout = self.settings.payment_lock_timeout.total_seconds()
        datastore = getattr(self.recorder, "datastore", None)
        if isinstance(datastore, PostgresDatastore):
            return PostgresLocks(datastore.get_connection, timeout)
        scope = self.env.get("SQLITE_DBNAME") or f"ledger-{id(self)}"
        return LocalLocks(str(Path(scope).resolve()) if scope != ":memory:" else scope, timeout)

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        create: bool = True,
        clock: Clock = system_clock,
        wall_clock: Clock = system_clock,
        provider: PaymentProvider | None = None,
    ) -> "Ledger":
        """A ledger on the store named by ``LEDGER_DATABASE_URL`` (checked first). With
        ``create=False`` the store must already hold a ledger (``ledger.app.store``)."""
        settings = settings if settings is not None else load_settings()
        return open_store(
            lambda env: cls(
                env, settings=settings, clock=clock, wall_clock=wall_clock, provider=provider
            ),
            settings,
            create=create,
        )

    def construct_env(self, name: str, env: EnvType | None = None) -> Any:
        # Unlike the library default, never read os.environ: the store is configured only
        # through LEDGER_DATABASE_URL, so a stray POSTGRES_* variable cannot redirect it.
        from eventsourcing.utils import Environment

        return Environment(name, dict(env or {}))

    # -- plumbing --------------------------------------------------------------------------

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """``Application.save``, minus its runtime-Protocol checks for our own aggregates.

        The library tells aggregates from events with ``isinstance`` against
        ``typing.Protocol`` classes, which Python 3.11 re-derives on every call: ~20 us per
        aggregate saved, 3-4% of a command. For ``LedgerAggregate`` objects (what ``_run``
        saves) this does what the library's save does for them, in the same order; anything
        else (events, ``None``, keyword arguments) goes to the library's own ``save``.
        """
        if not all(isinstance(obj, LedgerAggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        processing_event.saved_kwargs.update(kwargs)
        for aggregate in objs:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # a deprecated no-op hook; the library calls it
        return recordings

    def now(self) -> Stamp:
        """The current business time and recording time."""
        return Stamp(business=self.clock(), recorded=self.wall_clock())

    def _get(self, cls: type[A], aggregate_id: UUID, *, fresh: bool = False) -> A:
        """Load an aggregate; a copy from the cache unless ``fresh``. Raises ``NotFound``."""
        cached = None if fresh else self._cached(aggregate_id)
        if cached is not None:
            self._used_cache = True
            aggregate = _copy(cached)
        else:
            try:
                aggregate = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                raise NotFound(f"no {cls.__name__.lower()} with id {aggregate_id}") from None
            self._remember(_copy(aggregate))
        if not isinstance(aggregate, cls):
            raise NotFound(f"no {cls.__name__.lower()} with id {aggregate_id}")
        return aggregate

    def _find(self, cls: type[A], aggregate_id: UUID, *, fresh: bool = False) -> A | None:
        try:
            return self._get(cls, aggregate_id, fresh=fresh)
        except NotFound:
            return None

    @property
    def _used_cache(self) -> bool:
        return bool(getattr(self._local, "used_cache", False))

    @_used_cache.setter
    def _used_cache(self, value: bool) -> None:
        self._local.used_cache = value

    def _cached(self, aggregate_id: UUID) -> LedgerAggregate | None:
        with self._cache_lock:
            aggregate = self._cache.get(aggregate_id)
            if aggregate is not None:
                self._cache.move_to_end(aggregate_id)
            return aggregate

    def _remember(self, aggregate: LedgerAggregate) -> None:
        if self._cache_size <= 0:
            return
        with self._cache_lock:
            self._cache[aggregate.id] = aggregate
            self._cache.move_to_end(aggregate.id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _forget(self, *aggregate_ids: UUID) -> None:
        with self._cache_lock:
            for aggregate_id in aggregate_ids:
                self._cache.pop(aggregate_id, None)

    def _run(
        self,
        decide: Callable[[bool], tuple[list[LedgerAggregate], Result]],
        *,
        guard: Sequence[UUID] = (),
    ) -> Result:
        """Decide (on cached state first), save what changed, retry on conflict.

        ``decide(fresh)`` loads what it needs (fresh from the store when ``fresh``), applies
        the domain and returns the changed aggregates and the result. Nothing is saved when it
        raises. The save fails with ``PaymentBusy`` if another command holds a payment in
        ``guard`` (see ``ledger.locks``)."""
        attempts = self.settings.conflict_retries + 1
        fresh = False
        for _ in range(attempts):
            self._used_cache = False
            self._local.reads = []
            try:
                changed, result = decide(fresh)
            except (DomainError, NotFound):
                # Re-check a refusal on fresh state: it may rest on a cached copy, or on two
                # aggregates read either side of another writer's save (a torn read).
                if not fresh:
                    fresh = True
                    continue
                raise
            except _Retry:
                fresh = True
                continue
            if not changed:
                if self._used_cache and not fresh:
                    fresh = True
                    continue
                return result
            try:
                with self._locks.guard(guard):
                    self.save(*changed, **self._locks.save_kwargs(guard, self._local.reads))
            except IntegrityError:
                self._forget(*(a.id for a in changed))
                fresh = True
                continue
            for aggregate in changed:
                self._remember(aggregate)
            return result
        raise Conflict("the ledger was changed concurrently too many times; try again")

    def _create_once(
        self,
        new: Callable[[], tuple[list[LedgerAggregate], Result]],
        existing: Callable[[bool], tuple[list[LedgerAggregate], Result]],
        key: UUID,
    ) -> Result:
        """Create aggregates optimistically; if ``key`` exists already, ``existing`` decides
        whether that is the same thing (already done, or a small catch-up) or a clash."""

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            if fresh or key in self._cache:
                try:
                    return existing(fresh)
                except NotFound:
                    pass
            return new()

        return self._run(decide)

    def _depends_on(self, aggregate_id: UUID, version: int) -> None:
        """The decision rests on ``aggregate_id`` at ``version`` (0: it did not exist) without
        writing it: the save fails, and the command is decided again, if it moved meanwhile
        (checked inside the save on PostgreSQL; on SQLite the command holds the lock)."""
        self._local.reads.append((aggregate_id, version))

    def _before_side_effect(self, fresh: bool) -> None:
        """Never call the provider on a decision taken from cached state."""
        if not fresh and self._used_cache:
            raise _Retry

    # -- users -----------------------------------------------------------------------------

    def register_user(
        self, external_id: str, role: Role | str, *, verified: bool = False
    ) -> Result:
        """Register a user of the host application (``--verified`` verifies at once)."""
        ids.check_external_id(external_id)
        role = check_role(role)
        uid = ids.user_id(external_id)

        def new() -> tuple[list[LedgerAggregate], Result]:
            user = User.register(external_id, role, self.now())
            if verified:
                user.verify(self.now())
            return [user], Result(True, f"registered {role.value} {external_id}", uid)

        def existing(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            user = self._get(User, uid, fresh=fresh)
            user.check_same_registration(role)
            if verified and user.verify(self.now()):
                return [user], Result(True, f"verified user {external_id}", uid)
            return [], Result(False, f"user {external_id} is already registered", uid)

        return self._create_once(new, existing, uid)

    def verify_user(self, external_id: str) -> Result:
        uid = ids.user_id(external_id)

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            user = self._get(User, uid, fresh=fresh)
            if not user.verify(self.now()):
                return [], Result(False, f"user {external_id} is already verified", uid)
            return [user], Result(True, f"verified user {external_id}", uid)

        return self._run(decide)

    # -- requests --------------------------------------------------------------------------

    def create_request(
        self,
        fan: str,
        celebrity: str,
        amount: int,
        currency: str,
        request_id: UUID | None = None,
    ) -> Result:
        """A PENDING request from fan to celebrity. With ``request_id`` a repeat is a no-op."""
        price = Money(check_amount(amount), check_currency(currency))
        fan_id, celebrity_id = ids.user_id(fan), ids.user_id(celebrity)
        rid = request_id or uuid4()

        def new() -> tuple[list[LedgerAggregate], Result]:
            fan_user = self._get(User, fan_id)
            celebrity_user = self._get(User, celebrity_id)
            if fan_user.role is not Role.FAN:
                raise DomainError(f"user {fan} is a {fan_user.role.value}, not a fan")
            if celebrity_user.role is not Role.CELEBRITY:
                raise DomainError(
                    f"user {celebrity} is a {celebrity_user.role.value}, not a celebrity"
                )
            request = Request.create(rid, fan_id, celebrity_id, price, self.now())
            return [request], Result(True, f"created request {rid} for {price.format()}", rid)

        def existing(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            request = self._get(Request, rid, fresh=fresh)
            if not request.same_as(fan_id, celebrity_id, price):
                raise DomainError(f"request {rid} already exists with other details")
            return [], Result(False, f"request {rid} already exists", rid)

        return self._create_once(new, existing, rid)

    def complete_request(self, request_id: UUID) -> Result:
        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            request = self._get(Request, request_id, fresh=fresh)
            if not request.complete(self.now()):
                return [], Result(False, f"request {request_id} is already completed", request_id)
            return [request], Result(True, f"completed request {request_id}", request_id)

        return self._run(decide, guard=[ids.transaction_id(request_id)])

    def decline_request(
        self,
        request_id: UUID,
        *,
        reason: DeclineReason | str = DeclineReason.CELEBRITY_DECLINED,
        note: str | None = None,
    ) -> Result:
        """Decline a request. A pending payment fails with it; a held payment is refunded
        through the provider first (if the provider refuses, nothing is recorded)."""
        note = _check_text(note, "note")
        reason = DeclineReason(reason)
        refund_reference: list[str] = []

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            request = self._get(Request, request_id, fresh=fresh)
            txn = self._find(Transaction, ids.transaction_id(request_id), fresh=True)
            # A payment recorded after this read must not be left PENDING on a declined request.
            self._depends_on(ids.transaction_id(request_id), txn.version if txn else 0)
            if request.status is RequestStatus.IN_PROGRESS and not refund_reference:
                assert txn is not None
                self._before_side_effect(fresh)
                refund_reference.append(self._provider_refund(txn, txn.refundable_amount()))
            changed = escrow.decline(
                request,
                txn,
                reason=reason,
                at=self.now(),
                note=note,
                refund_reference=refund_reference[0] if refund_reference else None,
            )
            if not changed:
                return [], Result(False, f"request {request_id} is already declined", request_id)
            return changed, Result(True, f"declined request {request_id}", request_id)

        with self._locks.hold(ids.transaction_id(request_id)):
            return self._run(decide)

    def time_out_request(self, request_id: UUID) -> Result:
        """Decline a request PENDING too long (the job checks the age): its pending payment
        times out, or a failed transaction is recorded when it never had one."""

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            request = self._get(Request, request_id, fresh=fresh)
            txn = self._find(Transaction, ids.transaction_id(request_id), fresh=fresh)
            changed = escrow.time_out_request(request, txn, self.now())
            if not changed:
                return [], Result(False, f"request {request_id} is already declined", request_id)
            return changed, Result(True, f"timed out request {request_id}", request_id)

        return self._run(decide)

    # -- payments --------------------------------------------------------------------------

    def record_payment(self, request_id: UUID, reference: str | None) -> Result:
        """Record a payment attempt the host initialised with the provider itself."""
        if reference is not None:
            ids.check_reference(reference)
        tid = ids.transaction_id(request_id)
        attempted: list[bool] = []

        def new() -> tuple[list[LedgerAggregate], Result]:
            request = self._get(Request, request_id, fresh=True)
            self._depends_on(request.id, request.version)
            if request.status is not RequestStatus.PENDING:
                raise DomainError(
                    f"request {request_id} is {request.status.value}: only a PENDING request "
                    "takes a payment"
                )
            at = self.now()
            txn = Transaction.initiate(request_id, reference, request.price, at)
            done = Result(True, f"recorded payment {reference} for request {request_id}", tid)
            if reference is None:
                return [txn], done
            # A claim never changes, so a cached one is as good as a fresh one. An unknown
            # reference is not read on the first attempt: a claim by another transaction makes
            # this one collide on version 1 (nothing is written), and the retry reads the claim
            # and reports the clash here (without it, it would end as a misleading Conflict).
            ref_id = ids.reference_id(reference)
            if attempted or ref_id in self._cache:
                claimed = self._find(PaymentReference, ref_id)
                if claimed is not None and claimed.transaction_id != tid:
                    raise DomainError(
                        f"payment reference {reference} already belongs to transaction "
                        f"{claimed.transaction_id}"
                    )
            attempted.append(True)
            return [txn, PaymentReference.claim(reference, tid, at)], done

        def existing(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn = self._get(Transaction, tid, fresh=fresh)
            if txn.reference != reference:
                raise DomainError(
                    f"request {request_id} already has a payment"
                    + (f" with reference {txn.reference}" if txn.reference else "")
                )
            return [], Result(False, f"payment {reference} is already recorded", tid)

        # The two save no aggregate in common with a decline of the same request, so without a
        # check a decline landing between new()'s read and the save left a PENDING payment on a
        # DECLINED request, and the money, when it arrived, could be neither applied nor
        # flagged. The save validates the request's version read (PostgreSQL), or the command
        # holds the payment's lock like decline_request does (SQLite).
        if self._locks.validates_reads:
            return self._create_once(new, existing, tid)
        with self._locks.hold(tid):
            return self._create_once(new, existing, tid)

    def initiate_payment(
        self,
        request_id: UUID,
        *,
        email: str,
        callback_url: str | None = None,
    ) -> Result:
        """Initialise a payment with the provider, then record it. The email goes to the
        provider only. ``data`` holds ``authorization_url``, ``access_code``, ``reference``."""
        if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
            raise InvalidInput(f"invalid email address {email!r}")
        provider = self._require_provider()
        request = self._get(Request, request_id, fresh=True)
        tid = ids.transaction_id(request_id)
        existing = self._find(Transaction, tid, fresh=True)
        if existing is not None:
            raise DomainError(
                f"request {request_id} already has a payment"
                + (f" with reference {existing.reference}" if existing.reference else "")
            )
        if request.status is not RequestStatus.PENDING:
            raise DomainError(f"request {request_id} is {request.status.value}, not PENDING")
        reference = f"esc_{request_id.hex}"
        init = provider.initialize(
            reference=reference,
            amount=request.amount,
            currency=request.currency,
            email=email,
            callback_url=callback_url,
            metadata={"request_id": str(request_id)},
        )
        result = self.record_payment(request_id, init.reference)
        data = {
            "authorization_url": init.authorization_url,
            "access_code": init.access_code,
            "reference": init.reference,
            "transaction_id": str(tid),
        }
        return Result(result.changed, result.message, tid, data)

    def find_transaction_id(self, reference: str) -> UUID:
        """The transaction a provider reference belongs to. Raises ``NotFound``."""
        ids.check_reference(reference)
        index = self._get(PaymentReference, ids.reference_id(reference))
        return index.transaction_id

    def _txn_and_request(self, tid: UUID, fresh: bool) -> tuple[Transaction, Request]:
        txn = self._get(Transaction, tid, fresh=fresh)
        return txn, self._get(Request, txn.request_id, fresh=fresh)

    def confirm_payment(
        self,
        transaction_id: UUID,
        *,
        amount: int,
        currency: str,
        provider_status: str = "success",
        provider_transaction_id: str | None = None,
        paid_at: datetime | None = None,
    ) -> Result:
        """The provider says the money arrived (webhook or verify). Expected amount and
        currency: verified and held. Otherwise flagged; after a failure: late success."""
        received = Money(check_amount(amount), check_currency(currency))

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn, request = self._txn_and_request(transaction_id, fresh)
            at = self.now()
            changed = escrow.apply_success(
                txn,
                request,
                received=received,
                provider_status=provider_status,
                provider_transaction_id=provider_transaction_id,
                paid_at=paid_at or at.business,
                at=at,
            )
            return changed, self._payment_result(txn, bool(changed))

        return self._run(decide)

    def fail_payment(
        self, transaction_id: UUID, *, reason: str, provider_status: str | None
    ) -> Result:
        """The provider says the payment failed: FAILED, escrow CANCELLED, request DECLINED."""

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn, request = self._txn_and_request(transaction_id, fresh)
            changed = escrow.apply_failure(
                txn, request, reason=reason, provider_status=provider_status, at=self.now()
            )
            return changed, self._payment_result(txn, bool(changed))

        return self._run(decide)

    def time_out_payment(self, transaction_id: UUID, reason: TimeoutReason) -> Result:
        """Give up on a pending payment: FAILED, escrow CANCELLED, request DECLINED."""

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn, request = self._txn_and_request(transaction_id, fresh)
            changed = escrow.apply_timeout(txn, request, reason=reason, at=self.now())
            return changed, self._payment_result(txn, bool(changed))

        return self._run(decide)

    def give_up_due(self, transaction_id: UUID) -> bool:
        """Whether a pending payment is past ``LEDGER_PAYMENT_GIVE_UP_AFTER`` from creation."""
        txn = self._get(Transaction, transaction_id)
        return self.clock() >= txn.created_on + self.settings.payment_give_up_after

    def apply_verification(self, transaction_id: UUID, verification: Verification) -> Result:
        """Apply a provider verification to a payment, as DESIGN.md's outcome table says."""
        v = verification
        if v.outcome is Outcome.SUCCESS:
            if v.amount is None or v.currency is None:
                raise InvalidInput("a successful verification needs amount and currency")
            return self.confirm_payment(
                transaction_id,
                amount=v.amount,
                currency=v.currency,
                provider_status=v.provider_status,
                provider_transaction_id=v.provider_transaction_id,
                paid_at=v.paid_at,
            )
        if v.outcome is Outcome.FAILED:
            reason = v.gateway_response or v.provider_status
            return self.fail_payment(
                transaction_id, reason=reason, provider_status=v.provider_status
            )
        if v.outcome is Outcome.NOT_FOUND:
            return self.time_out_payment(transaction_id, TimeoutReason.NO_REFERENCE)
        if self.give_up_due(transaction_id):
            return self.time_out_payment(transaction_id, TimeoutReason.UNRESOLVED)
        return Result(
            False, f"payment still {v.provider_status}; checked again later", transaction_id
        )

    def provider_unreachable(self, transaction_id: UUID) -> Result:
        """The provider could not be asked: leave the payment PENDING until the give-up
        deadline, then time it out (``provider_unreachable``)."""
        if self.give_up_due(transaction_id):
            return self.time_out_payment(transaction_id, TimeoutReason.PROVIDER_UNREACHABLE)
        return Result(False, "provider unreachable; left pending for the next run", transaction_id)

    def _payment_result(self, txn: Transaction, changed: bool) -> Result:
        if changed:
            return Result(True, f"{txn.describe()}", txn.id)
        return Result(False, f"nothing to do: {txn.describe()}", txn.id)

    # -- escrow ----------------------------------------------------------------------------

    def release_escrow(
        self,
        transaction_id: UUID,
        *,
        trigger: ReleaseTrigger = ReleaseTrigger.JOB,
        run_id: str | None = None,
        operator: str | None = None,
        note: str | None = None,
    ) -> Result:
        """Release held money to the celebrity's wallet (less the fee), atomically.
        Raises ``NotFound`` when the celebrity has no wallet in that currency yet."""

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn, request = self._txn_and_request(transaction_id, fresh)
            if txn.escrow_status is EscrowStatus.RELEASED:
                return [], Result(False, f"{txn.describe()} was already released", txn.id)
            wid = ids.wallet_id(request.celebrity_id, txn.currency)
            wallet = self._find(Wallet, wid, fresh=fresh)
            if wallet is None:
                raise NotFound(
                    f"celebrity of request {request.id} has no {txn.currency} wallet yet "
                    "(create it with `ledger wallets create`)"
                )
            changed = escrow.release(
                txn,
                request,
                wallet,
                fee_bps=self.fee_bps,
                trigger=trigger,
                run_id=run_id,
                at=self.now(),
                operator=operator,
                note=note,
            )
            fee = txn.fee or 0
            return changed, Result(
                True,
                f"released {Money(txn.amount, txn.currency).format()} (fee {fee}) to wallet {wid}",
                txn.id,
            )

        return self._run(decide, guard=[transaction_id])

    def refund_escrow(
        self,
        transaction_id: UUID,
        *,
        reason: str,
        operator: str | None = None,
        note: str | None = None,
    ) -> Result:
        """Refund held or flagged money through the provider, then record it. A flagged
        pending payment is closed and its request declined (``payment_failed``)."""
        refund_reference: list[str] = []

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn, request = self._txn_and_request(transaction_id, fresh)
            if txn.escrow_status is EscrowStatus.REFUNDED:
                return [], Result(False, f"{txn.describe()} was already refunded", txn.id)
            amount = txn.refundable_amount()
            if txn.is_held and request.status is RequestStatus.IN_PROGRESS:
                raise DomainError(
                    f"request {request.id} is IN_PROGRESS: decline it (`ledger requests "
                    "decline`), which refunds its payment"
                )
            closes_request = txn.needs_review and txn.status is TxStatus.PENDING
            if not refund_reference:
                self._before_side_effect(fresh)
                refund_reference.append(self._provider_refund(txn, amount))
            at = self.now()
            txn.refund(
                reason=reason,
                refund_reference=refund_reference[0],
                at=at,
                operator=operator,
                note=note,
            )
            changed: list[LedgerAggregate] = [txn]
            if closes_request and request.decline(DeclineReason.PAYMENT_FAILED, at, note=note):
                changed.append(request)
            return changed, Result(
                True, f"refunded {Money(amount, txn.currency).format()} of {txn.id}", txn.id
            )

        with self._locks.hold(transaction_id):
            return self._run(decide)

    def confirm_refund(self, reference: str) -> Result:
        """The provider processed the refund of the payment with ``reference``."""
        tid = self.find_transaction_id(reference)

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn = self._get(Transaction, tid, fresh=fresh)
            if txn.refund_reference is None:
                raise DomainError(f"{txn.describe()} has no refund to confirm")
            if not txn.confirm_refund(txn.refund_reference, self.now()):
                return [], Result(False, f"refund of {tid} was already confirmed", tid)
            return [txn], Result(True, f"refund of {tid} confirmed", tid)

        return self._run(decide)

    def _require_provider(self) -> PaymentProvider:
        if self.provider is None:
            raise ConfigError("no payment provider configured: set PAYSTACK_SECRET_KEY")
        return self.provider

    def _provider_refund(self, txn: Transaction, amount: int) -> str:
        if txn.reference is None:
            raise DomainError(f"{txn.describe()} has no provider reference to refund against")
        accepted = self._require_provider().refund(reference=txn.reference, amount=amount)
        return accepted.refund_reference

    # -- admin -----------------------------------------------------------------------------

    def admin_mark_paid(self, transaction_id: UUID, *, operator: str, reason: str) -> Result:
        """An operator confirms a pending payment was received in full (replaces the old
        runbook's ``UPDATE ... SET status='COMPLETED'``)."""
        operator, reason = _operator(operator), _reason(reason)

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn, request = self._txn_and_request(transaction_id, fresh)
            if txn.status is TxStatus.COMPLETED:
                return [], Result(False, f"{txn.describe()} is already paid", txn.id)
            if txn.status is TxStatus.FAILED:
                raise DomainError(f"{txn.describe()} has failed and cannot be marked paid")
            if txn.needs_review:
                raise DomainError(
                    f"{txn.describe()} is flagged ({txn.flag_reason}): refund or resolve it"
                )
            at = self.now()
            changed = escrow.apply_success(
                txn,
                request,
                received=txn.price,
                provider_status="manual",
                provider_transaction_id=None,
                paid_at=at.business,
                at=at,
                operator=operator,
                note=reason,
            )
            return changed, Result(True, f"marked {txn.id} paid", txn.id)

        return self._run(decide)

    def admin_release(self, transaction_id: UUID, *, operator: str, reason: str) -> Result:
        return self.release_escrow(
            transaction_id,
            trigger=ReleaseTrigger.ADMIN,
            operator=_operator(operator),
            note=_reason(reason),
        )

    def admin_refund(self, transaction_id: UUID, *, operator: str, reason: str) -> Result:
        return self.refund_escrow(
            transaction_id, reason="admin", operator=_operator(operator), note=_reason(reason)
        )

    def admin_resolve(self, transaction_id: UUID, *, operator: str, reason: str) -> Result:
        """Close a flagged payment settled outside the ledger (with a note). A pending one
        is closed and its request declined (``payment_failed``)."""
        operator, reason = _operator(operator), _reason(reason)

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            txn, request = self._txn_and_request(transaction_id, fresh)
            was_pending = txn.status is TxStatus.PENDING
            at = self.now()
            if not txn.resolve(operator=operator, note=reason, at=at):
                return [], Result(False, f"{txn.describe()} was already resolved", txn.id)
            changed: list[LedgerAggregate] = [txn]
            if was_pending and request.decline(DeclineReason.PAYMENT_FAILED, at, note=reason):
                changed.append(request)
            return changed, Result(True, f"resolved {txn.id}", txn.id)

        with self._locks.hold(transaction_id):
            return self._run(decide)

    # -- wallets ---------------------------------------------------------------------------

    def create_wallet(self, external_id: str, currency: str = "NGN") -> Result:
        """Open a verified user's wallet in ``currency``. A repeat is a no-op."""
        check_currency(currency)
        uid = ids.user_id(external_id)
        wid = ids.wallet_id(uid, currency)

        def new() -> tuple[list[LedgerAggregate], Result]:
            user = self._get(User, uid)
            if not user.verified:  # a cached "not verified" may be stale: re-check fresh
                user = self._get(User, uid, fresh=True)
            if not user.verified:
                raise DomainError(f"user {external_id} is not verified; verify before a wallet")
            wallet = Wallet.open(uid, currency, self.now())
            return [wallet], Result(True, f"created {currency} wallet for {external_id}", wid)

        def existing(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            self._get(Wallet, wid, fresh=fresh)
            return [], Result(False, f"{currency} wallet of {external_id} already exists", wid)

        return self._create_once(new, existing, wid)

    def debit_wallet(self, external_id: str, currency: str, amount: int, reference: str) -> Result:
        """Take money out of a wallet (a payout). A repeated reference is a no-op."""
        money = Money(check_amount(amount), check_currency(currency))
        ids.check_reference(reference)
        wid = ids.wallet_id(ids.user_id(external_id), currency)

        def decide(fresh: bool) -> tuple[list[LedgerAggregate], Result]:
            wallet = self._get(Wallet, wid, fresh=fresh)
            if not wallet.debit(money, reference, self.now()):
                return [], Result(False, f"debit {reference} was already applied", wid)
            return [wallet], Result(True, f"debited {money.format()}", wid)

        return self._run(decide)

    # -- queries ---------------------------------------------------------------------------

    def get_user(self, external_id: str) -> User:
        return self._get(User, ids.user_id(external_id), fresh=True)

    def get_request(self, request_id: UUID) -> Request:
        return self._get(Request, request_id, fresh=True)

    def get_transaction(self, transaction_id: UUID) -> Transaction:
        return self._get(Transaction, transaction_id, fresh=True)

    def get_wallet(self, external_id: str, currency: str = "NGN") -> Wallet:
        check_currency(currency)
        return self._get(Wallet, ids.wallet_id(ids.user_id(external_id), currency), fresh=True)

    def wallet_id_if_open(self, user_id: UUID, currency: str) -> UUID:
        """The id of ``user_id``'s wallet in ``currency``; ``NotFound`` when it is not open
        yet. (Wallets are never closed, so a cached answer is a true one.)"""
        wid = ids.wallet_id(user_id, check_currency(currency))
        if self._find(Wallet, wid) is None:
            raise NotFound(f"user {user_id} has no {currency} wallet yet")
        return wid

    def find_request_transaction(self, request_id: UUID) -> Transaction | None:
        return self._find(Transaction, ids.transaction_id(request_id), fresh=True)


def _operator(operator: str | None) -> str:
    value = _check_text(operator, "operator", required=True)
    assert value is not None
    return value


def _reason(reason: str | None) -> str:
    value = _check_text(reason, "--reason", required=True)
    assert value is not None
    return value


__all__ = ["Ledger", "Result"]
