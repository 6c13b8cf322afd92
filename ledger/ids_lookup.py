"""Turning what a person types into an aggregate id: one resolver for every CLI command and
API route that takes an id.

Every id argument accepts:

- the full id (a UUID, with or without hyphens): taken as it is, nothing is read;
- a unique prefix of at least ``MIN_PREFIX`` (8) characters of it (``8ce098db``, as the demo
  and the tables print): looked up in the read tables through a ``PrefixIndex``;
- for payments, the provider's reference (``ref-123``), looked up in the event store;
- for ``aggregate`` (``audit history``), any of the above of any kind, and a user's
  external id (``star-1``), as every other USER_ID argument takes.

Exactly one match is the answer. None is ``NotFound``; several are ``InvalidInput`` in one
line naming up to ``SHOWN`` of them (``id 8ce098db is ambiguous: request 8ce098db-..., payment
8ce098db-... (ref-7); give more characters``). Too short or malformed is ``InvalidInput``.

Dependency rule: the read tables are ``projections``', which ``ledger`` never imports. The
prefix search is therefore a port (``PrefixIndex``), provided by the package that owns the
tables under the ``ledger.id_index`` entry point (``projections.id_index:prefix_matches``)
and handed to the resolver by the composition root (``ledger.bootstrap.Components.ids``).
Without one installed, prefixes are refused with a message saying so; full ids and
references still work.

What this deliberately does not do: check that a full id exists (the command that loads it
says ``NotFound``), or guess between kinds: a prefix of a request id given to a payment
argument is not found, not silently mapped.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Final, Protocol
from uuid import UUID

from ledger.application import Ledger
from ledger.errors import InvalidInput, NotFound

MIN_PREFIX: Final = 8
SHOWN: Final = 5
ENTRY_POINT_GROUP: Final = "ledger.id_index"

_HEX_PREFIX = re.compile(r"[0-9a-f-]+")
_HYPHENS = (8, 12, 16, 20)  # where the canonical form has them


class IdKind(StrEnum):
    REQUEST = "request"
    PAYMENT = "payment"
    WALLET = "wallet"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Match:
    """One aggregate an argument may mean; ``label`` says which for people."""

    kind: IdKind
    id: UUID
    label: str


class PrefixIndex(Protocol):
    """Aggregates of ``kinds`` whose canonical id starts with ``prefix`` (lower case, hyphens
    where the canonical form has them), at most ``limit``, read after catching up."""

    def __call__(
        self, ledger: Ledger, kinds: Sequence[IdKind], prefix: str, limit: int
    ) -> list[Match]: ...


def load_prefix_index() -> PrefixIndex | None:
    """The ``ledger.id_index`` entry point's function (None when no package provides one)."""
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found: PrefixIndex = entry.load()
        if not callable(found):
            raise TypeError(f"entry point {entry.value} is not callable")
        return found
    return None


def full_id(text: str) -> UUID | None:
    """``text`` as a UUID when it is a whole one (32 hex digits, hyphens optional)."""
    compact = text.strip().lower().replace("-", "")
    if len(compact) != 32 or not _HEX_PREFIX.fullmatch(compact):
        return None
    return UUID(compact)


def id_prefix(text: str) -> str | None:
    """``text`` as a canonical id prefix (lower case, hyphens re-placed) when it is one of
    at least ``MIN_PREFIX`` hex digits; else None."""
    compact = text.strip().lower().replace("-", "")
    if len(compact) < MIN_PREFIX or len(compact) > 32 or not _HEX_PREFIX.fullmatch(compact):
        return None
    out = compact
    for at in reversed(_HYPHENS):
        if len(out) > at:
            out = out[:at] + "-" + out[at:]
    return out


def malformed(text: str, what: str) -> InvalidInput:
    """The error for ``text`` that is neither a full id nor a long enough prefix."""
    return InvalidInput(
        f"malformed {what} {_short(text)!r}: give the full id or at least {MIN_PREFIX} of "
        "its first characters"
    )


def check_id_text(text: str, what: str) -> str:
    """``text`` if it can name an aggregate by id (a full id or a prefix of at least
    ``MIN_PREFIX`` hex digits), else ``InvalidInput``: a shape check that reads nothing."""
    if full_id(text) is None and id_prefix(text) is None:
        raise malformed(text, what)
    return text


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


class IdResolver:
    """Resolves id arguments against one ledger (see the module docstring)."""

    def __init__(self, ledger: Ledger, index: PrefixIndex | None) -> None:
        self.ledger = ledger
        self.index = index

    def request(self, text: str) -> UUID:
        """A request: its full id or a unique prefix."""
        return self.resolve(text, (IdKind.REQUEST,))

    def payment(self, text: str) -> UUID:
        """A payment transaction: its full id, a unique prefix, or its provider reference."""
        return self.resolve(text, (IdKind.PAYMENT,), references=True)

    def wallet(self, text: str) -> UUID:
        """A wallet: its full id or a unique prefix."""
        return self.resolve(text, (IdKind.WALLET,))

    def aggregate(self, text: str) -> UUID:
        """Any aggregate: a full id, a unique prefix of any kind's id, a payment reference,
        or a user's external id."""
        return self.resolve(text, tuple(IdKind), references=True, external_ids=True)

    def resolve(
        self,
        text: str,
        kinds: Sequence[IdKind],
        *,
        references: bool = False,
        external_ids: bool = False,
    ) -> UUID:
        what = " or ".join(k.value for k in kinds) if len(kinds) < len(IdKind) else "aggregate"
        raw = str(text).strip()
        if not raw:
            raise InvalidInput(f"empty {what} id")
        whole = full_id(raw)
        if whole is not None and not (external_ids and not self._exists(whole)):
            return whole
        found: dict[UUID, Match] = {}
        prefix = id_prefix(raw)
        if prefix is not None:
            for match in self._prefix_matches(kinds, prefix, raw):
                found.setdefault(match.id, match)
        if references:
            for match in self._by_reference(raw):
                found.setdefault(match.id, match)
        if external_ids:
            for match in self._by_external_id(raw):
                found.setdefault(match.id, match)
        if len(found) == 1:
            return next(iter(found))
        if found:
            listed = ", ".join(m.label for m in list(found.values())[:SHOWN])
            more = " and more" if len(found) > SHOWN else ""
            raise InvalidInput(
                f"{what} id {_short(raw)!r} is ambiguous: {listed}{more}; give more characters"
            )
        if prefix is None and not (references or external_ids):
            raise malformed(raw, f"{what} id")
        accepted = ["id", f"id prefix (at least {MIN_PREFIX} characters)"]
        if references:
            accepted.append("payment reference")
        if external_ids:
            accepted.append("user id")
        raise NotFound(f"no {what} with {' or '.join(accepted)} {_short(raw)!r}")

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.ledger.recorder.select_events(aggregate_id, limit=1))

    def _prefix_matches(self, kinds: Sequence[IdKind], prefix: str, raw: str) -> list[Match]:
        if self.index is None:
            raise InvalidInput(
                f"{_short(raw)!r}: id prefixes need the read side (projections) installed; "
                "give the full id"
            )
        matches = self.index(self.ledger, kinds, prefix, SHOWN + 1)
        return [m for m in matches if str(m.id).startswith(prefix)]

    def _by_reference(self, raw: str) -> list[Match]:
        try:
            tid = self.ledger.find_transaction_id(raw)
        except (InvalidInput, NotFound):
            return []
        return [Match(IdKind.PAYMENT, tid, f"payment {tid} (reference {raw})")]

    def _by_external_id(self, raw: str) -> list[Match]:
        try:
            user = self.ledger.get_user(raw)
        except (InvalidInput, NotFound):
            return []
        return [Match(IdKind.USER, user.id, f"user {raw} ({user.id})")]


__all__ = [
    "ENTRY_POINT_GROUP",
    "MIN_PREFIX",
    "SHOWN",
    "IdKind",
    "IdResolver",
    "Match",
    "PrefixIndex",
    "check_id_text",
    "full_id",
    "id_prefix",
    "load_prefix_index",
]
