"""What a command returns, and what a decision is.

A command decides (``decide(fresh)``, on cached state first, fresh from the store when asked)
and returns a ``Decision``: the aggregates it changed, to be saved together in one
transaction, and the ``Result`` to report. No changed aggregate means "already done".
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate


@dataclass(frozen=True)
class Result:
    """What a command did. ``changed`` is False when it had already taken effect."""

    changed: bool
    message: str
    id: UUID
    data: Mapping[str, Any] | None = None


Decision = tuple[list[LedgerAggregate], Result]
"""The aggregates a command changed (saved together) and what it reports."""

Decide = Callable[[bool], Decision]
"""``decide(fresh)``: load (fresh from the store when ``fresh``), apply the domain, return
the decision. Raises to refuse: nothing is saved."""

Create = Callable[[], Decision]
"""Decide to create an aggregate that (as far as this process knows) does not exist yet."""


__all__ = ["Create", "Decide", "Decision", "Result"]
