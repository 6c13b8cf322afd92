"""PaymentReference: a unique index from a provider reference to its transaction."""

import pytest

from ledger.domain import ids
from ledger.domain.reference import PaymentReference
from ledger.errors import InvalidInput
from tests.unit.helpers import AT, REFERENCE, TXN_ID, new_events


def test_claim_maps_the_reference_to_its_transaction_under_a_deterministic_id() -> None:
    claim = PaymentReference.claim(REFERENCE, TXN_ID, AT)

    [event] = new_events(claim)
    assert isinstance(event, PaymentReference.ReferenceClaimed)
    assert event.originator_id == ids.reference_id(REFERENCE) == claim.id
    assert (event.reference, event.transaction_id) == (REFERENCE, TXN_ID)
    assert (claim.reference, claim.transaction_id) == (REFERENCE, TXN_ID)


def test_two_claims_of_one_reference_collide_on_the_same_id() -> None:
    other_txn = ids.transaction_id(ids.user_id("someone-else"))
    first = PaymentReference.claim(REFERENCE, TXN_ID, AT)
    second = PaymentReference.claim(REFERENCE, other_txn, AT)
    assert (first.id, first.version) == (second.id, second.version)


@pytest.mark.parametrize("reference", ["", "has space", "-lead", "x" * 101, "ref/1", None])
def test_claim_of_a_malformed_reference_is_refused(reference: object) -> None:
    with pytest.raises(InvalidInput, match="reference"):
        PaymentReference.claim(reference, TXN_ID, AT)  # type: ignore[arg-type]
