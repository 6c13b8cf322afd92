"""One resolver for every id argument: full ids, 8-character prefixes, payment references and
users' external ids, with one-line errors (``ledger.ids_lookup``), driven by a fake index and
a fake ledger (no database)."""

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from ledger.domain import ids
from ledger.errors import InvalidInput, NotFound
from ledger.ids_lookup import IdKind, IdResolver, Match, full_id, id_prefix

REQ_A = uuid.UUID("8ce098db-0000-4000-8000-000000000001")
REQ_B = uuid.UUID("8ce098db-1111-4000-8000-000000000002")
PAY = uuid.UUID("abcdef01-2222-4000-8000-000000000003")
STAR = ids.user_id("star-1")


class FakeIndex:
    """The read tables, as a list of (kind, id)."""

    def __init__(self, *rows: tuple[IdKind, uuid.UUID]) -> None:
        self.rows = rows
        self.asked: list[tuple[tuple[IdKind, ...], str]] = []

    def __call__(
        self, _ledger: Any, kinds: Sequence[IdKind], prefix: str, limit: int
    ) -> list[Match]:
        self.asked.append((tuple(kinds), prefix))
        found = [
            Match(kind, key, f"{kind.value} {key}")
            for kind, key in self.rows
            if kind in kinds and str(key).startswith(prefix)
        ]
        return found[:limit]


class FakeLedger:
    """What the resolver asks the ledger: references and users, and whether events exist."""

    def __init__(self) -> None:
        self.recorder = self

    def find_transaction_id(self, reference: str) -> uuid.UUID:
        if reference == "ref-1":
            return PAY
        raise NotFound(reference)

    def get_user(self, external_id: str) -> Any:
        if external_id == "star-1":
            return type("U", (), {"id": STAR})()
        ids.check_external_id(external_id)
        raise NotFound(external_id)

    def select_events(self, originator_id: uuid.UUID, limit: int) -> list[object]:
        return [object()] if originator_id in (REQ_A, REQ_B, PAY, STAR) else []


def resolver(index: FakeIndex | None = None) -> IdResolver:
    default = FakeIndex((IdKind.REQUEST, REQ_A), (IdKind.REQUEST, REQ_B), (IdKind.PAYMENT, PAY))
    return IdResolver(FakeLedger(), index or default)  # type: ignore[arg-type]


def test_a_full_id_is_taken_as_it_is_without_reading_anything() -> None:
    index = FakeIndex()
    found = resolver(index).request(str(REQ_A).replace("-", "").upper())
    assert found == REQ_A
    assert index.asked == []


def test_a_unique_prefix_of_8_characters_finds_its_aggregate() -> None:
    assert resolver().payment("ABCDEF01") == PAY
    assert resolver().request("8ce098db-1") == REQ_B
    assert resolver().request("8ce098db1111") == REQ_B  # hyphens optional


def test_an_ambiguous_prefix_names_the_matches_in_one_line() -> None:
    with pytest.raises(InvalidInput) as refused:
        resolver().request("8ce098db")
    message = str(refused.value)
    assert str(REQ_A) in message
    assert str(REQ_B) in message
    assert "give more characters" in message
    assert "\n" not in message


def test_many_matches_are_cut_to_five_and_said_to_be_more() -> None:
    many = [
        (IdKind.REQUEST, uuid.UUID(f"12345678-0000-4000-8000-00000000000{i}")) for i in range(8)
    ]
    with pytest.raises(InvalidInput, match="000000000004 and more; give more characters"):
        resolver(FakeIndex(*many)).request("12345678")


def test_a_payment_is_found_by_its_reference_and_a_prefix_of_another_kind_is_not() -> None:
    assert resolver().payment("ref-1") == PAY
    with pytest.raises(NotFound, match="no payment with id or id prefix"):
        resolver().payment("8ce098db-0")
    with pytest.raises(NotFound, match="or payment reference 'ref-2'"):
        resolver().payment("ref-2")


def test_too_short_or_malformed_ids_are_refused() -> None:
    for text in ("8ce098d", "not-an-id", ""):
        with pytest.raises(InvalidInput):
            resolver().request(text)


def test_an_aggregate_is_any_kind_a_reference_or_a_users_external_id() -> None:
    r = resolver()
    assert r.aggregate("star-1") == STAR
    assert r.aggregate("ref-1") == PAY
    assert r.aggregate("abcdef01") == PAY
    assert r.aggregate(str(REQ_A)) == REQ_A
    with pytest.raises(NotFound, match="or user id 'ghost'"):
        r.aggregate("ghost")


def test_without_a_prefix_index_prefixes_say_so_and_full_ids_still_work() -> None:
    bare = IdResolver(FakeLedger(), None)  # type: ignore[arg-type]
    assert bare.request(str(REQ_A)) == REQ_A
    assert bare.payment("ref-1") == PAY
    with pytest.raises(InvalidInput, match="need the read side"):
        bare.request("8ce098db")


def test_prefix_and_full_id_shapes() -> None:
    assert id_prefix("8CE098DB") == "8ce098db"
    assert id_prefix("8ce098db00004000") == "8ce098db-0000-4000"
    assert id_prefix("8ce098d") is None
    assert id_prefix("ref-1234") is None
    assert full_id(str(REQ_A)) == REQ_A
    assert full_id("8ce098db") is None
