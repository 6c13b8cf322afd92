"""Load, decide, save, retry: the base every command group of ``Ledger`` builds on.

A command is a ``decide(fresh)`` function (``ledger.app.result``) run by ``_run``: it loads
what it needs (``_get``: from the aggregate cache, or fresh from the store), lets the domain
decide, and the changed aggregates are saved together in one ``save`` (one transaction).
Guarantees:

- *Optimistic concurrency*: two writers of one aggregate collide on its next version; the
  loser reloads and decides again, at most ``LEDGER_CONFLICT_RETRIES`` times, then
  ``Conflict``. Nothing is saved when ``decide`` raises.
- *Cache without stale decisions*: a write decided on a stale cached copy cannot land (its
  version collides, and it is decided again on fresh state); a no-op or a refusal decided
  with a cached copy is re-checked on fresh state before it is reported; the provider is
  never called on a decision taken from cached state (``_before_side_effect``).
- *Per-payment locks*: ``guard`` payments make the save fail with ``PaymentBusy`` while
  another command holds them (``ledger.locks``); a decision resting on an aggregate it does
  not write declares it (``_depends_on``) and the save checks it did not move.

``save`` is the library's ``Application.save`` minus its runtime-Protocol checks, for our own
aggregates; ``tests/integration/test_unit_of_work.py`` holds it, the retry loop and the cache
against the library's behaviour.
"""

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import Environment, EnvType

from ledger.app.cache import AggregateCache, fast_copy
from ledger.app.result import Create, Decide, Decision, Result
from ledger.clock import Clock, system_clock
from ledger.config import Settings, load_settings
from ledger.domain.base import LedgerAggregate, Stamp
from ledger.domain.fees import check_fee_bps
from ledger.domain.request import Request
from ledger.domain.transaction import Transaction
from ledger.errors import ConfigError, Conflict, DomainError, NotFound
from ledger.locks import LocalLocks, PaymentLocks, PostgresLocks
from ledger.providers.port import PaymentProvider

A = TypeVar("A", bound=LedgerAggregate)


class _Retry(Exception):
    """Internal: the decision rested on cached state; decide again on fresh state."""


class UnitOfWork(Application[UUID]):
    """The ledger's plumbing: settings, clocks, provider, cache, locks; load-decide-save."""

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
        self._cache = AggregateCache(self.settings.aggregate_cache_size)
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

    def construct_env(self, name: str, env: EnvType | None = None) -> Any:
        """The library's environment, except that it never reads ``os.environ``: the store
        is configured only through LEDGER_DATABASE_URL, so a stray POSTGRES_* variable
        cannot redirect it."""
        values = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            values["IS_SNAPSHOTTING_ENABLED"] = "y"
        values.update(env or {})
        return Environment(name, values)

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

    # -- loading ---------------------------------------------------------------------------

    def _get(self, cls: type[A], aggregate_id: UUID, *, fresh: bool = False) -> A:
        """Load an aggregate; a copy from the cache unless ``fresh``. Raises ``NotFound``."""
        cached = None if fresh else self._cache.get(aggregate_id)
        if cached is not None:
            self._used_cache = True
            aggregate = fast_copy(cached)
        else:
            try:
                aggregate = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                raise NotFound(f"no {cls.__name__.lower()} with id {aggregate_id}") from None
            self._cache.put(fast_copy(aggregate))
        if not isinstance(aggregate, cls):
            raise NotFound(f"no {cls.__name__.lower()} with id {aggregate_id}")
        return aggregate

    def _find(self, cls: type[A], aggregate_id: UUID, *, fresh: bool = False) -> A | None:
        try:
            return self._get(cls, aggregate_id, fresh=fresh)
        except NotFound:
            return None

    def _txn_and_request(self, tid: UUID, fresh: bool) -> tuple[Transaction, Request]:
        txn = self._get(Transaction, tid, fresh=fresh)
        return txn, self._get(Request, txn.request_id, fresh=fresh)

    def _require_provider(self) -> PaymentProvider:
        if self.provider is None:
            raise ConfigError("no payment provider configured: set PAYSTACK_SECRET_KEY")
        return self.provider

    @property
    def _used_cache(self) -> bool:
        return bool(getattr(self._local, "used_cache", False))

    @_used_cache.setter
    def _used_cache(self, value: bool) -> None:
        self._local.used_cache = value

    # -- deciding and saving ---------------------------------------------------------------

    def _run(self, decide: Decide, *, guard: Sequence[UUID] = ()) -> Result:
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
                self._cache.forget(*(a.id for a in changed))
                fresh = True
                continue
            for aggregate in changed:
                self._cache.put(aggregate)
            return result
        raise Conflict("the ledger was changed concurrently too many times; try again")

    def _create_once(self, new: Create, existing: Decide, key: UUID) -> Result:
        """Create aggregates optimistically; if ``key`` exists already, ``existing`` decides
        whether that is the same thing (already done, or a small catch-up) or a clash."""

        def decide(fresh: bool) -> Decision:
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


__all__ = ["UnitOfWork"]
