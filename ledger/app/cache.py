"""The in-process aggregate cache, and the fast copy it hands out.

``AggregateCache`` keeps the most recently used aggregates of this process
(``LEDGER_AGGREGATE_CACHE_SIZE``; 0 turns it off), safe to share between threads. It holds
*saved* state only: an aggregate goes in after it was read from the store or saved, and every
reader gets its own copy (``fast_copy``), so a command's unsaved events never leak into another
command. It never causes a wrong decision on its own; ``ledger.app.unit_of_work`` says why
(stale writes collide and are retried; refusals and no-ops are re-checked fresh).

``fast_copy`` is ``copy.deepcopy`` for an aggregate at a fraction of its cost: immutable
attribute values (nearly all an aggregate holds) are shared, anything else (a set, the
pending-events list) is deep-copied; unusual classes fall back to ``deepcopy`` itself.
``tests/unit/test_app_cache.py`` holds it equal to ``deepcopy`` for every aggregate type.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterator
from copy import deepcopy
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from ledger.domain.base import LedgerAggregate

A = TypeVar("A", bound=LedgerAggregate)

# Attribute values that are immutable: a copy of an aggregate may share them.
IMMUTABLE: frozenset[type] = frozenset(
    {str, int, bool, float, bytes, type(None), UUID, datetime, date, timedelta}
)
_PLAIN_CLASSES: dict[type, bool] = {}


def is_plain(cls: type) -> bool:
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


def fast_copy(aggregate: A) -> A:
    """A copy as independent as ``deepcopy(aggregate)`` (see the module docstring)."""
    cls = type(aggregate)
    if not is_plain(cls):
        return deepcopy(aggregate)
    clone: A = cls.__new__(cls)
    memo: dict[int, Any] = {}  # as in deepcopy: values shared inside the aggregate stay shared
    clone.__dict__.update(
        {
            name: value
            if type(value) in IMMUTABLE or isinstance(value, Enum)
            else deepcopy(value, memo)
            for name, value in aggregate.__dict__.items()
        }
    )
    return clone


class AggregateCache:
    """Least recently used aggregates by id, at most ``size`` of them; thread-safe.

    It stores what it is given (callers give it a copy they will not touch again) and returns
    the stored object: callers copy it (``fast_copy``) before changing anything."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[UUID, LedgerAggregate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, aggregate_id: UUID) -> LedgerAggregate | None:
        """The cached aggregate (now the most recently used), or None."""
        with self._lock:
            aggregate = self._items.get(aggregate_id)
            if aggregate is not None:
                self._items.move_to_end(aggregate_id)
            return aggregate

    def put(self, aggregate: LedgerAggregate) -> None:
        """Remember ``aggregate`` (saved state), evicting the least recently used."""
        if self.size <= 0:
            return
        with self._lock:
            self._items[aggregate.id] = aggregate
            self._items.move_to_end(aggregate.id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, *aggregate_ids: UUID) -> None:
        with self._lock:
            for aggregate_id in aggregate_ids:
                self._items.pop(aggregate_id, None)

    def __contains__(self, aggregate_id: object) -> bool:
        with self._lock:
            return aggregate_id in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def items(self) -> Iterator[tuple[UUID, LedgerAggregate]]:
        """A snapshot of the cached (id, aggregate) pairs, least recently used first."""
        with self._lock:
            snapshot = list(self._items.items())
        return iter(snapshot)


__all__ = ["IMMUTABLE", "AggregateCache", "fast_copy", "is_plain"]
