"""Every command of the ``Ledger`` service, on SQLite and on a real PostgreSQL.

Each test states one behaviour. Refusals are checked to write nothing (the store's max
notification id does not move) and repeats of a command that already took effect to return
``changed=False`` and write nothing. The last section runs two ``Ledger`` instances on one
store, one of them holding stale cached copies, and checks they still decide correctly.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.application import Ledger, Result
from ledger.domain import ids
from ledger.domain.request import RequestStatus
from ledger.domain.transaction import EscrowStatus, FlagReason, TimeoutReason, TxStatus
from ledger.errors import (
    DomainError,
    InsufficientFunds,
    InvalidInput,
    NotFound,
    ProviderError,
    ProviderUnavailable,
)
from ledger.providers.port import Outcome, Verification
from tests.fakes import FakeProvider

FAN, STAR = "fan-1", "star-1"
PRICE = 500_000


# -- helpers ---------------------------------------------------------------------------------


def head(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


@contextmanager
def writes_nothing(ledger: Ledger) -> Iterator[None]:
    before = head(ledger)
    yield
    assert head(ledger) == before, "the command wrote events"


def refused(ledger: Ledger, error: type[Exception], command: Callable[..., Any], *a: Any, **k: Any):
    """Run a command that must raise ``error`` and write nothing; return the exception."""
    with writes_nothing(ledger), pytest.raises(error) as caught:
        command(*a, **k)
    return caught.value


def no_op(ledger: Ledger, command: Callable[..., Result], *a: Any, **k: Any) -> Result:
    """Run a command that already took effect: ``changed`` False and nothing written."""
    with writes_nothing(ledger):
        result = command(*a, **k)
    assert result.changed is False, result
    return result


def events(ledger: Ledger, aggregate_id: UUID) -> list[Any]:
    return list(ledger.events.get(aggregate_id))


def names(ledger: Ledger, aggregate_id: UUID) -> list[str]:
    return [type(e).__name__ for e in events(ledger, aggregate_id)]


def last_event(ledger: Ledger, aggregate_id: UUID) -> Any:
    return events(ledger, aggregate_id)[-1]


def with_users(ledger: Ledger, *, wallet: bool = False) -> None:
    ledger.register_user(FAN, "fan")
    ledger.register_user(STAR, "celebrity", verified=True)
    if wallet:
        ledger.create_wallet(STAR, "NGN")


def pending_payment(
    ledger: Ledger, reference: str = "ref-1", amount: int = PRICE
) -> tuple[UUID, UUID]:
    """A request with a recorded, unverified payment: (request id, transaction id)."""
    request_id = ledger.create_request(FAN, STAR, amount, "NGN").id
    txn_id = ledger.record_payment(request_id, reference).id
    return request_id, txn_id


def held_payment(
    ledger: Ledger, reference: str = "ref-1", amount: int = PRICE
) -> tuple[UUID, UUID]:
    """A request IN_PROGRESS whose payment is verified and held in escrow."""
    request_id, txn_id = pending_payment(ledger, reference, amount)
    ledger.confirm_payment(txn_id, amount=amount, currency="NGN")
    return request_id, txn_id


def completed_payment(
    ledger: Ledger, reference: str = "ref-1", amount: int = PRICE
) -> tuple[UUID, UUID]:
    request_id, txn_id = held_payment(ledger, reference, amount)
    ledger.complete_request(request_id)
    return request_id, txn_id


def flagged_payment(ledger: Ledger, reference: str = "ref-1") -> tuple[UUID, UUID]:
    """A pending payment for which the wrong amount arrived."""
    request_id, txn_id = pending_payment(ledger, reference)
    ledger.confirm_payment(txn_id, amount=PRICE - 1, currency="NGN")
    return request_id, txn_id


# -- users -----------------------------------------------------------------------------------


def test_registering_a_user_again_with_the_same_role_changes_nothing(ledger: Ledger) -> None:
    first = ledger.register_user(FAN, "fan")
    assert first.changed is True
    again = no_op(ledger, ledger.register_user, FAN, "fan")
    assert again.id == first.id == ids.user_id(FAN)
    assert names(ledger, first.id) == ["UserRegistered"]


def test_registering_an_existing_user_with_another_role_is_refused(ledger: Ledger) -> None:
    ledger.register_user(FAN, "fan")
    refused(ledger, DomainError, ledger.register_user, FAN, "celebrity")
    assert ledger.get_user(FAN).role.value == "fan"


def test_an_invalid_role_or_user_id_is_refused_before_anything_is_written(ledger: Ledger) -> None:
    refused(ledger, InvalidInput, ledger.register_user, FAN, "admin")
    refused(ledger, InvalidInput, ledger.register_user, "bad id with spaces", "fan")


def test_verifying_a_user_once_records_it_and_again_changes_nothing(ledger: Ledger) -> None:
    ledger.register_user(STAR, "celebrity")
    assert ledger.get_user(STAR).verified is False
    assert ledger.verify_user(STAR).changed is True
    no_op(ledger, ledger.verify_user, STAR)
    assert names(ledger, ids.user_id(STAR)) == ["UserRegistered", "UserVerified"]


def test_registering_an_unverified_user_again_as_verified_verifies_it(ledger: Ledger) -> None:
    ledger.register_user(STAR, "celebrity")
    assert ledger.register_user(STAR, "celebrity", verified=True).changed is True
    assert ledger.get_user(STAR).verified is True
    no_op(ledger, ledger.register_user, STAR, "celebrity", verified=True)


def test_verifying_an_unknown_user_is_not_found(ledger: Ledger) -> None:
    refused(ledger, NotFound, ledger.verify_user, "nobody")


# -- requests --------------------------------------------------------------------------------


def test_a_new_request_is_pending_with_its_price(ledger: Ledger) -> None:
    with_users(ledger)
    result = ledger.create_request(FAN, STAR, PRICE, "NGN")
    request = ledger.get_request(result.id)
    assert (request.status, request.amount, request.currency) == (
        RequestStatus.PENDING,
        PRICE,
        "NGN",
    )
    assert request.fan_id == ids.user_id(FAN)
    assert request.celebrity_id == ids.user_id(STAR)


def test_a_request_needs_a_registered_fan_and_celebrity_in_their_roles(ledger: Ledger) -> None:
    with_users(ledger)
    refused(ledger, DomainError, ledger.create_request, STAR, FAN, PRICE, "NGN")
    refused(ledger, DomainError, ledger.create_request, FAN, FAN, PRICE, "NGN")
    refused(ledger, NotFound, ledger.create_request, "ghost", STAR, PRICE, "NGN")
    refused(ledger, InvalidInput, ledger.create_request, FAN, STAR, 0, "NGN")
    refused(ledger, InvalidInput, ledger.create_request, FAN, STAR, PRICE, "EUR")


def test_creating_a_request_again_with_its_id_changes_nothing_unless_details_differ(
    ledger: Ledger,
) -> None:
    with_users(ledger)
    rid = uuid4()
    assert ledger.create_request(FAN, STAR, PRICE, "NGN", request_id=rid).changed is True
    no_op(ledger, ledger.create_request, FAN, STAR, PRICE, "NGN", request_id=rid)
    refused(ledger, DomainError, ledger.create_request, FAN, STAR, PRICE + 1, "NGN", request_id=rid)


def test_only_a_paid_request_can_be_completed_and_only_once(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, _ = pending_payment(ledger)
    refused(ledger, DomainError, ledger.complete_request, request_id)
    ledger.confirm_payment(ledger.find_transaction_id("ref-1"), amount=PRICE, currency="NGN")
    assert ledger.complete_request(request_id).changed is True
    no_op(ledger, ledger.complete_request, request_id)
    assert ledger.get_request(request_id).status is RequestStatus.COMPLETED
    refused(ledger, NotFound, ledger.complete_request, uuid4())


def test_declining_an_unpaid_request_writes_one_event_and_a_repeat_none(ledger: Ledger) -> None:
    with_users(ledger)
    request_id = ledger.create_request(FAN, STAR, PRICE, "NGN").id
    assert ledger.decline_request(request_id, note="busy").changed is True
    request = ledger.get_request(request_id)
    assert request.status is RequestStatus.DECLINED
    assert request.decline_reason.value == "celebrity_declined"
    assert request.note == "busy"
    no_op(ledger, ledger.decline_request, request_id)
    assert names(ledger, request_id) == ["RequestCreated", "RequestDeclined"]
    refused(ledger, DomainError, ledger.record_payment, request_id, "ref-late")


def test_declining_a_request_with_a_pending_payment_fails_the_payment(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    ledger.decline_request(request_id)
    txn = ledger.get_transaction(txn_id)
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    assert names(ledger, txn_id)[-1] == "PaymentFailed"


def test_declining_after_payment_refunds_through_the_provider(
    ledger: Ledger, provider: FakeProvider
) -> None:
    with_users(ledger)
    request_id, txn_id = held_payment(ledger)
    assert ledger.decline_request(request_id, note="cannot do it").changed is True
    assert provider.refunds == [("ref-1", PRICE)]
    txn = ledger.get_transaction(txn_id)
    assert txn.escrow_status is EscrowStatus.REFUNDED
    assert txn.refunded_amount == PRICE
    assert txn.refund_reference == "rf_1_ref-1"
    refund = last_event(ledger, txn_id)
    assert type(refund).__name__ == "EscrowRefunded"
    assert refund.reason == "celebrity_declined"
    assert ledger.get_request(request_id).status is RequestStatus.DECLINED
    no_op(ledger, ledger.decline_request, request_id)
    assert len(provider.refunds) == 1, "a repeat must not refund twice"


@pytest.mark.parametrize(
    ("setup", "error"),
    [("refuse_refunds", ProviderError), ("down", ProviderUnavailable)],
)
def test_declining_a_paid_request_records_nothing_when_the_provider_says_no(
    ledger: Ledger, provider: FakeProvider, setup: str, error: type[Exception]
) -> None:
    with_users(ledger)
    request_id, txn_id = held_payment(ledger)
    setattr(provider, setup, True)
    refused(ledger, error, ledger.decline_request, request_id)
    assert ledger.get_request(request_id).status is RequestStatus.IN_PROGRESS
    assert ledger.get_transaction(txn_id).is_held
    setattr(provider, setup, False)
    assert ledger.decline_request(request_id).changed is True


def test_a_completed_request_cannot_be_declined(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, _ = completed_payment(ledger)
    refused(ledger, DomainError, ledger.decline_request, request_id)


def test_an_unknown_decline_reason_is_refused(ledger: Ledger) -> None:
    with_users(ledger)
    request_id = ledger.create_request(FAN, STAR, PRICE, "NGN").id
    refused(ledger, ValueError, ledger.decline_request, request_id, reason="bored")


# -- recording and initiating payments -------------------------------------------------------


def test_recording_the_same_reference_twice_changes_nothing(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    assert txn_id == ids.transaction_id(request_id)
    no_op(ledger, ledger.record_payment, request_id, "ref-1")
    assert ledger.find_transaction_id("ref-1") == txn_id
    txn = ledger.get_transaction(txn_id)
    assert (txn.status, txn.escrow_status, txn.amount) == (
        TxStatus.PENDING,
        EscrowStatus.PENDING,
        PRICE,
    )


def test_recording_another_reference_for_a_paid_for_request_is_refused(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, _ = pending_payment(ledger)
    refused(ledger, DomainError, ledger.record_payment, request_id, "ref-2")
    refused(ledger, NotFound, ledger.find_transaction_id, "ref-2")


def test_a_reference_already_used_by_another_request_is_refused(ledger: Ledger) -> None:
    """Regression: the claim collided on every retry and surfaced as ``Conflict``."""
    with_users(ledger)
    pending_payment(ledger, "ref-shared")
    other = ledger.create_request(FAN, STAR, PRICE, "NGN").id
    error = refused(ledger, DomainError, ledger.record_payment, other, "ref-shared")
    assert "already belongs" in str(error)
    assert ledger.find_request_transaction(other) is None


def test_recording_a_payment_for_an_unknown_request_is_not_found(ledger: Ledger) -> None:
    refused(ledger, NotFound, ledger.record_payment, uuid4(), "ref-1")
    refused(ledger, InvalidInput, ledger.record_payment, uuid4(), "bad ref!")


def test_initiating_a_payment_asks_the_provider_then_records_it(
    ledger: Ledger, provider: FakeProvider
) -> None:
    with_users(ledger)
    request_id = ledger.create_request(FAN, STAR, PRICE, "NGN").id
    result = ledger.initiate_payment(request_id, email="fan@example.com")
    assert result.changed is True
    assert result.id == ids.transaction_id(request_id)
    assert result.data is not None
    reference = result.data["reference"]
    assert result.data["authorization_url"] == f"https://checkout.example/{reference}"
    assert provider.initialized == [
        {"reference": reference, "amount": PRICE, "currency": "NGN", "email": "fan@example.com"}
    ]
    assert ledger.find_transaction_id(reference) == result.id
    state = repr(events(ledger, result.id)) + repr(events(ledger, request_id))
    assert "fan@example.com" not in state, "emails never enter events"
    refused(ledger, DomainError, ledger.initiate_payment, request_id, email="fan@example.com")
    assert len(provider.initialized) == 1


def test_initiating_a_payment_records_nothing_when_the_provider_is_down(
    ledger: Ledger, provider: FakeProvider
) -> None:
    with_users(ledger)
    request_id = ledger.create_request(FAN, STAR, PRICE, "NGN").id
    provider.down = True
    refused(ledger, ProviderUnavailable, ledger.initiate_payment, request_id, email="f@x.io")
    refused(ledger, InvalidInput, ledger.initiate_payment, request_id, email="not-an-email")
    assert ledger.find_request_transaction(request_id) is None


# -- confirming and failing payments ---------------------------------------------------------


def test_confirming_the_exact_amount_holds_the_money_and_starts_the_request(
    ledger: Ledger,
) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    result = ledger.confirm_payment(
        txn_id, amount=PRICE, currency="NGN", provider_transaction_id="ps-42"
    )
    assert result.changed is True
    txn = ledger.get_transaction(txn_id)
    assert txn.is_held
    assert not txn.needs_review
    assert txn.provider_transaction_id == "ps-42"
    assert ledger.get_request(request_id).status is RequestStatus.IN_PROGRESS
    assert names(ledger, request_id)[-1] == "RequestPaid"
    no_op(ledger, ledger.confirm_payment, txn_id, amount=PRICE, currency="NGN")


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        (PRICE - 100, "NGN", FlagReason.AMOUNT_MISMATCH),
        (PRICE + 100, "NGN", FlagReason.AMOUNT_MISMATCH),
        (PRICE, "GHS", FlagReason.CURRENCY_MISMATCH),
    ],
)
def test_a_success_with_another_amount_or_currency_is_flagged_never_paid(
    ledger: Ledger, amount: int, currency: str, reason: FlagReason
) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    assert ledger.confirm_payment(txn_id, amount=amount, currency=currency).changed is True
    txn = ledger.get_transaction(txn_id)
    assert txn.needs_review
    assert txn.flag_reason is reason
    assert (txn.flagged_amount, txn.flagged_currency) == (amount, currency)
    assert txn.status is TxStatus.PENDING
    assert not txn.is_held
    assert ledger.get_request(request_id).status is RequestStatus.PENDING
    flagged = last_event(ledger, txn_id)
    assert (type(flagged).__name__, flagged.reason) == ("PaymentFlagged", reason.value)
    no_op(ledger, ledger.confirm_payment, txn_id, amount=amount, currency=currency)
    no_op(ledger, ledger.confirm_payment, txn_id, amount=PRICE, currency="NGN")


def test_a_success_after_the_payment_failed_is_flagged_as_late(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    ledger.fail_payment(txn_id, reason="Declined", provider_status="failed")
    assert ledger.confirm_payment(txn_id, amount=PRICE, currency="NGN").changed is True
    txn = ledger.get_transaction(txn_id)
    assert txn.flag_reason is FlagReason.LATE_SUCCESS
    assert txn.needs_review
    assert txn.status is TxStatus.FAILED
    assert ledger.get_request(request_id).status is RequestStatus.DECLINED
    no_op(ledger, ledger.confirm_payment, txn_id, amount=PRICE, currency="NGN")


def test_failing_a_payment_cancels_escrow_and_declines_the_request(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    result = ledger.fail_payment(txn_id, reason="Insufficient Funds", provider_status="failed")
    assert result.changed is True
    txn = ledger.get_transaction(txn_id)
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    request = ledger.get_request(request_id)
    assert (request.status, request.decline_reason.value) == (
        RequestStatus.DECLINED,
        "payment_failed",
    )
    no_op(ledger, ledger.fail_payment, txn_id, reason="again", provider_status="failed")


def test_a_verified_payment_cannot_fail_or_time_out(ledger: Ledger, clock: Any) -> None:
    with_users(ledger)
    _, txn_id = held_payment(ledger)
    refused(ledger, DomainError, ledger.fail_payment, txn_id, reason="x", provider_status="failed")
    clock.advance(timedelta(days=10))
    refused(ledger, DomainError, ledger.provider_unreachable, txn_id)
    refused(ledger, DomainError, ledger.time_out_payment, txn_id, TimeoutReason.UNRESOLVED)


def test_confirming_an_unknown_transaction_is_not_found(ledger: Ledger) -> None:
    refused(ledger, NotFound, ledger.confirm_payment, uuid4(), amount=PRICE, currency="NGN")


# -- verification outcomes -------------------------------------------------------------------


def test_a_successful_verification_verifies_the_payment(ledger: Ledger) -> None:
    with_users(ledger)
    _request_id, txn_id = pending_payment(ledger)
    verification = Verification(Outcome.SUCCESS, "success", amount=PRICE, currency="NGN")
    assert ledger.apply_verification(txn_id, verification).changed is True
    assert ledger.get_transaction(txn_id).is_held
    no_op(ledger, ledger.apply_verification, txn_id, verification)
    refused(
        ledger,
        InvalidInput,
        ledger.apply_verification,
        txn_id,
        Verification(Outcome.SUCCESS, "success"),
    )


def test_a_failed_verification_fails_the_payment_with_the_gateway_reason(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    verification = Verification(Outcome.FAILED, "abandoned", gateway_response="The user left")
    assert ledger.apply_verification(txn_id, verification).changed is True
    failed = last_event(ledger, txn_id)
    assert type(failed).__name__ == "PaymentFailed"
    assert (failed.reason, failed.provider_status) == ("The user left", "abandoned")
    assert ledger.get_request(request_id).status is RequestStatus.DECLINED
    no_op(ledger, ledger.apply_verification, txn_id, verification)


def test_a_pending_verification_waits_until_the_give_up_deadline_then_times_out(
    ledger: Ledger, clock: Any
) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    verification = Verification(Outcome.PENDING, "ongoing")
    no_op(ledger, ledger.apply_verification, txn_id, verification)
    clock.advance(timedelta(hours=71, minutes=59))
    no_op(ledger, ledger.apply_verification, txn_id, verification)
    clock.advance(timedelta(minutes=1))
    assert ledger.apply_verification(txn_id, verification).changed is True
    timed_out = last_event(ledger, txn_id)
    assert (type(timed_out).__name__, timed_out.reason) == ("PaymentTimedOut", "unresolved")
    request = ledger.get_request(request_id)
    assert request.decline_reason.value == "payment_timed_out"
    no_op(ledger, ledger.apply_verification, txn_id, verification)


def test_a_reference_unknown_to_the_provider_times_out_as_no_reference(ledger: Ledger) -> None:
    with_users(ledger)
    _, txn_id = pending_payment(ledger)
    verification = Verification(Outcome.NOT_FOUND, "not_found")
    assert ledger.apply_verification(txn_id, verification).changed is True
    timed_out = last_event(ledger, txn_id)
    assert (type(timed_out).__name__, timed_out.reason) == ("PaymentTimedOut", "no_reference")
    assert ledger.get_transaction(txn_id).failure_reason == "timed_out:no_reference"
    no_op(ledger, ledger.apply_verification, txn_id, verification)


def test_an_unreachable_provider_leaves_the_payment_pending_until_the_deadline(
    ledger: Ledger, clock: Any
) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    no_op(ledger, ledger.provider_unreachable, txn_id)
    clock.advance(timedelta(hours=71))
    no_op(ledger, ledger.provider_unreachable, txn_id)
    assert ledger.get_transaction(txn_id).status is TxStatus.PENDING
    clock.advance(timedelta(hours=1))
    assert ledger.provider_unreachable(txn_id).changed is True
    timed_out = last_event(ledger, txn_id)
    assert timed_out.reason == "provider_unreachable"
    assert ledger.get_request(request_id).status is RequestStatus.DECLINED
    no_op(ledger, ledger.provider_unreachable, txn_id)


def test_the_give_up_deadline_follows_the_setting(
    make_ledger: Callable[..., Ledger], clock: Any
) -> None:
    ledger = make_ledger(LEDGER_PAYMENT_GIVE_UP_AFTER="2h")
    with_users(ledger)
    _, txn_id = pending_payment(ledger)
    clock.advance(timedelta(hours=1))
    no_op(ledger, ledger.provider_unreachable, txn_id)
    clock.advance(timedelta(hours=1))
    assert ledger.provider_unreachable(txn_id).changed is True


# -- request time-outs -----------------------------------------------------------------------


def test_timing_out_an_unpaid_request_records_a_failed_transaction(ledger: Ledger) -> None:
    with_users(ledger)
    request_id = ledger.create_request(FAN, STAR, PRICE, "NGN").id
    assert ledger.time_out_request(request_id).changed is True
    txn_id = ids.transaction_id(request_id)
    assert names(ledger, txn_id) == ["FailedTransactionRecorded"]
    txn = ledger.get_transaction(txn_id)
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    assert txn.failure_reason == "request_timed_out"
    assert ledger.get_request(request_id).decline_reason.value == "request_timed_out"
    no_op(ledger, ledger.time_out_request, request_id)


def test_timing_out_a_request_times_out_its_pending_payment(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    assert ledger.time_out_request(request_id).changed is True
    timed_out = last_event(ledger, txn_id)
    assert (type(timed_out).__name__, timed_out.reason) == ("PaymentTimedOut", "request_timed_out")
    assert ledger.get_request(request_id).decline_reason.value == "request_timed_out"
    no_op(ledger, ledger.time_out_request, request_id)


def test_a_request_whose_payment_is_flagged_is_not_timed_out(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = flagged_payment(ledger)
    refused(ledger, DomainError, ledger.time_out_request, request_id)
    refused(ledger, DomainError, ledger.decline_request, request_id)
    refused(ledger, DomainError, ledger.fail_payment, txn_id, reason="x", provider_status=None)
    assert ledger.get_request(request_id).status is RequestStatus.PENDING


def test_a_paid_request_is_not_timed_out(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, _ = held_payment(ledger)
    refused(ledger, DomainError, ledger.time_out_request, request_id)


# -- release ---------------------------------------------------------------------------------


def test_release_needs_the_celebritys_wallet_then_credits_it_less_the_fee(
    make_ledger: Callable[..., Ledger],
) -> None:
    ledger = make_ledger(LEDGER_PLATFORM_FEE_BPS=250)
    with_users(ledger)
    _, txn_id = completed_payment(ledger)
    refused(ledger, NotFound, ledger.release_escrow, txn_id)
    ledger.create_wallet(STAR, "NGN")
    before = head(ledger)
    result = ledger.release_escrow(txn_id, run_id="run-7")
    assert result.changed is True
    txn = ledger.get_transaction(txn_id)
    assert txn.escrow_status is EscrowStatus.RELEASED
    assert txn.fee == 12_500
    wallet = ledger.get_wallet(STAR, "NGN")
    assert wallet.balance == 487_500
    released = last_event(ledger, txn_id)
    credited = last_event(ledger, wallet.id)
    assert (released.amount, released.fee, released.trigger, released.run_id) == (
        PRICE,
        12_500,
        "job",
        "run-7",
    )
    assert (credited.amount, credited.transaction_id) == (487_500, txn_id)
    assert head(ledger) == before + 2, "release and credit are one save"
    no_op(ledger, ledger.release_escrow, txn_id)
    assert ledger.get_wallet(STAR, "NGN").balance == 487_500


def test_release_is_refused_before_the_request_is_completed(ledger: Ledger) -> None:
    with_users(ledger, wallet=True)
    _, txn_id = held_payment(ledger)
    refused(ledger, DomainError, ledger.release_escrow, txn_id)
    _, pending_id = pending_payment(ledger, "ref-2")
    refused(ledger, DomainError, ledger.release_escrow, pending_id)


def test_flagged_money_is_never_released(ledger: Ledger) -> None:
    with_users(ledger, wallet=True)
    _, txn_id = flagged_payment(ledger)
    refused(ledger, DomainError, ledger.release_escrow, txn_id)
    refused(ledger, DomainError, ledger.admin_release, txn_id, operator="ops", reason="pay")


def test_admin_release_records_operator_and_note(ledger: Ledger) -> None:
    with_users(ledger, wallet=True)
    _, txn_id = completed_payment(ledger)
    refused(ledger, InvalidInput, ledger.admin_release, txn_id, operator=" ", reason="x")
    refused(ledger, InvalidInput, ledger.admin_release, txn_id, operator="ada", reason="")
    result = ledger.admin_release(txn_id, operator="ada", reason="ticket 12")
    assert result.changed is True
    released = last_event(ledger, txn_id)
    assert (released.trigger, released.operator, released.note) == ("admin", "ada", "ticket 12")
    no_op(ledger, ledger.admin_release, txn_id, operator="ada", reason="ticket 12")
    no_op(ledger, ledger.release_escrow, txn_id)
    assert ledger.get_wallet(STAR).balance == PRICE


# -- refunds ---------------------------------------------------------------------------------


def test_refunding_held_money_of_a_completed_request_goes_through_the_provider(
    ledger: Ledger, provider: FakeProvider
) -> None:
    with_users(ledger, wallet=True)
    _, txn_id = completed_payment(ledger)
    assert ledger.refund_escrow(txn_id, reason="dispute").changed is True
    assert provider.refunds == [("ref-1", PRICE)]
    txn = ledger.get_transaction(txn_id)
    assert txn.escrow_status is EscrowStatus.REFUNDED
    no_op(ledger, ledger.refund_escrow, txn_id, reason="dispute")
    refused(ledger, DomainError, ledger.release_escrow, txn_id)
    assert len(provider.refunds) == 1


def test_held_money_of_a_request_in_progress_is_refunded_by_declining(ledger: Ledger) -> None:
    with_users(ledger)
    _, txn_id = held_payment(ledger)
    refused(ledger, DomainError, ledger.refund_escrow, txn_id, reason="x")


def test_released_or_unpaid_money_cannot_be_refunded(
    ledger: Ledger, provider: FakeProvider
) -> None:
    with_users(ledger, wallet=True)
    _, released = completed_payment(ledger)
    ledger.release_escrow(released)
    refused(ledger, DomainError, ledger.refund_escrow, released, reason="x")
    _, pending = pending_payment(ledger, "ref-2")
    refused(ledger, DomainError, ledger.admin_refund, pending, operator="ops", reason="x")
    assert provider.refunds == []


def test_refunding_when_the_provider_refuses_records_nothing(
    ledger: Ledger, provider: FakeProvider
) -> None:
    with_users(ledger)
    _, txn_id = completed_payment(ledger)
    provider.refuse_refunds = True
    refused(ledger, ProviderError, ledger.refund_escrow, txn_id, reason="x")
    provider.refuse_refunds, provider.down = False, True
    refused(ledger, ProviderUnavailable, ledger.admin_refund, txn_id, operator="o", reason="x")
    assert ledger.get_transaction(txn_id).is_held


def test_admin_refund_of_flagged_money_returns_what_arrived_and_closes_the_request(
    ledger: Ledger, provider: FakeProvider
) -> None:
    with_users(ledger)
    request_id, txn_id = flagged_payment(ledger)
    result = ledger.admin_refund(txn_id, operator="ada", reason="customer overpaid")
    assert result.changed is True
    assert provider.refunds == [("ref-1", PRICE - 1)]
    refunded = last_event(ledger, txn_id)
    assert type(refunded).__name__ == "EscrowRefunded"
    assert (refunded.amount, refunded.operator, refunded.note, refunded.reason) == (
        PRICE - 1,
        "ada",
        "customer overpaid",
        "admin",
    )
    txn = ledger.get_transaction(txn_id)
    assert (txn.status, txn.escrow_status, txn.needs_review) == (
        TxStatus.FAILED,
        EscrowStatus.REFUNDED,
        False,
    )
    request = ledger.get_request(request_id)
    assert (request.status, request.decline_reason.value) == (
        RequestStatus.DECLINED,
        "payment_failed",
    )
    no_op(ledger, ledger.admin_refund, txn_id, operator="ada", reason="customer overpaid")
    refused(ledger, DomainError, ledger.admin_resolve, txn_id, operator="ada", reason="x")


def test_a_late_success_is_refunded_by_an_operator(ledger: Ledger, provider: FakeProvider) -> None:
    with_users(ledger)
    _, txn_id = pending_payment(ledger)
    ledger.fail_payment(txn_id, reason="timeout", provider_status="failed")
    ledger.confirm_payment(txn_id, amount=PRICE, currency="NGN")
    assert ledger.admin_refund(txn_id, operator="ada", reason="late").changed is True
    assert provider.refunds == [("ref-1", PRICE)]
    assert ledger.get_transaction(txn_id).escrow_status is EscrowStatus.REFUNDED


def test_confirming_a_refund_once_records_it_and_again_changes_nothing(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = held_payment(ledger)
    refused(ledger, DomainError, ledger.confirm_refund, "ref-1")
    ledger.decline_request(request_id)
    assert ledger.confirm_refund("ref-1").changed is True
    assert ledger.get_transaction(txn_id).refund_confirmed is True
    confirmed = last_event(ledger, txn_id)
    assert (type(confirmed).__name__, confirmed.refund_reference) == (
        "RefundConfirmed",
        "rf_1_ref-1",
    )
    no_op(ledger, ledger.confirm_refund, "ref-1")
    refused(ledger, NotFound, ledger.confirm_refund, "ref-unknown")


# -- admin -----------------------------------------------------------------------------------


def test_admin_mark_paid_records_operator_and_note(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = pending_payment(ledger)
    result = ledger.admin_mark_paid(txn_id, operator="ada", reason="bank statement 3")
    assert result.changed is True
    verified = last_event(ledger, txn_id)
    assert type(verified).__name__ == "PaymentVerified"
    assert (verified.operator, verified.note, verified.provider_status) == (
        "ada",
        "bank statement 3",
        "manual",
    )
    assert ledger.get_request(request_id).status is RequestStatus.IN_PROGRESS
    no_op(ledger, ledger.admin_mark_paid, txn_id, operator="ada", reason="again")


def test_admin_mark_paid_is_refused_for_failed_or_flagged_payments(ledger: Ledger) -> None:
    with_users(ledger)
    _, failed = pending_payment(ledger, "ref-1")
    ledger.fail_payment(failed, reason="x", provider_status="failed")
    refused(ledger, DomainError, ledger.admin_mark_paid, failed, operator="o", reason="r")
    _, flagged = flagged_payment(ledger, "ref-2")
    refused(ledger, DomainError, ledger.admin_mark_paid, flagged, operator="o", reason="r")
    refused(ledger, InvalidInput, ledger.admin_mark_paid, flagged, operator="", reason="r")


def test_admin_resolve_closes_a_flagged_payment_with_operator_and_note(ledger: Ledger) -> None:
    with_users(ledger)
    request_id, txn_id = flagged_payment(ledger)
    result = ledger.admin_resolve(txn_id, operator="ada", reason="settled by bank transfer")
    assert result.changed is True
    resolved = last_event(ledger, txn_id)
    assert (type(resolved).__name__, resolved.operator, resolved.note) == (
        "ReviewResolved",
        "ada",
        "settled by bank transfer",
    )
    txn = ledger.get_transaction(txn_id)
    assert (txn.status, txn.escrow_status, txn.needs_review) == (
        TxStatus.FAILED,
        EscrowStatus.CANCELLED,
        False,
    )
    request = ledger.get_request(request_id)
    assert (request.status, request.note) == (RequestStatus.DECLINED, "settled by bank transfer")
    no_op(ledger, ledger.admin_resolve, txn_id, operator="ada", reason="again")
    no_op(ledger, ledger.confirm_payment, txn_id, amount=PRICE, currency="NGN")


def test_admin_resolve_is_refused_for_a_payment_never_flagged(ledger: Ledger) -> None:
    with_users(ledger)
    _, txn_id = held_payment(ledger)
    refused(ledger, DomainError, ledger.admin_resolve, txn_id, operator="ada", reason="x")


# -- wallets ---------------------------------------------------------------------------------


def test_a_wallet_is_opened_once_and_only_for_a_verified_user(ledger: Ledger) -> None:
    ledger.register_user(STAR, "celebrity")
    refused(ledger, DomainError, ledger.create_wallet, STAR, "NGN")
    refused(ledger, NotFound, ledger.create_wallet, "ghost", "NGN")
    refused(ledger, InvalidInput, ledger.create_wallet, STAR, "EUR")
    ledger.verify_user(STAR)
    created = ledger.create_wallet(STAR, "NGN")
    assert created.changed is True
    assert created.id == ids.wallet_id(ids.user_id(STAR), "NGN")
    no_op(ledger, ledger.create_wallet, STAR, "NGN")
    assert ledger.create_wallet(STAR, "GHS").changed is True
    assert ledger.get_wallet(STAR, "NGN").balance == 0


def test_debiting_a_wallet_never_takes_it_below_zero(ledger: Ledger) -> None:
    with_users(ledger, wallet=True)
    _, txn_id = completed_payment(ledger)
    ledger.release_escrow(txn_id)
    refused(ledger, InsufficientFunds, ledger.debit_wallet, STAR, "NGN", PRICE + 1, "po-1")
    assert ledger.debit_wallet(STAR, "NGN", 200_000, "po-1").changed is True
    no_op(ledger, ledger.debit_wallet, STAR, "NGN", 200_000, "po-1")
    refused(ledger, InsufficientFunds, ledger.debit_wallet, STAR, "NGN", 300_001, "po-2")
    assert ledger.debit_wallet(STAR, "NGN", 300_000, "po-2").changed is True
    wallet = ledger.get_wallet(STAR, "NGN")
    assert (wallet.balance, wallet.credited, wallet.debited) == (0, PRICE, PRICE)
    refused(ledger, NotFound, ledger.debit_wallet, STAR, "GHS", 1, "po-3")
    refused(ledger, InvalidInput, ledger.debit_wallet, STAR, "NGN", -5, "po-4")


# -- two instances on one store --------------------------------------------------------------


def test_a_stale_cached_request_does_not_take_a_payment_after_another_instance_declined_it(
    make_ledger: Callable[..., Ledger],
) -> None:
    a, b = make_ledger(), make_ledger()
    with_users(a)
    request_id = a.create_request(FAN, STAR, PRICE, "NGN").id  # cached by a
    b.decline_request(request_id)
    refused(a, DomainError, a.record_payment, request_id, "ref-1")
    no_op(a, a.decline_request, request_id)


def test_a_release_on_a_stale_instance_after_another_released_is_already_done(
    make_ledger: Callable[..., Ledger],
) -> None:
    a, b = make_ledger(), make_ledger()
    with_users(a, wallet=True)
    _, txn_id = completed_payment(a)  # a caches the transaction held and the request
    assert b.release_escrow(txn_id).changed is True
    result = no_op(a, a.release_escrow, txn_id)
    assert "already released" in result.message
    wallet_id = ids.wallet_id(ids.user_id(STAR), "NGN")
    assert names(a, wallet_id) == ["WalletCreated", "WalletCredited"]
    assert a.get_wallet(STAR).balance == PRICE


def test_a_stale_cached_wallet_balance_does_not_refuse_a_covered_debit(
    make_ledger: Callable[..., Ledger],
) -> None:
    a, b = make_ledger(), make_ledger()
    with_users(a, wallet=True)
    _, txn_id = completed_payment(a)
    refused(a, InsufficientFunds, a.debit_wallet, STAR, "NGN", 1, "po-1")  # a caches balance 0
    b.release_escrow(txn_id)
    assert a.debit_wallet(STAR, "NGN", PRICE, "po-1").changed is True
    no_op(b, b.debit_wallet, STAR, "NGN", PRICE, "po-1")
    refused(b, InsufficientFunds, b.debit_wallet, STAR, "NGN", 1, "po-2")


def test_a_stale_cached_unverified_user_still_gets_a_wallet_once_verified_elsewhere(
    make_ledger: Callable[..., Ledger],
) -> None:
    """Regression: the refusal was decided on the cached copy and never re-checked."""
    a, b = make_ledger(), make_ledger()
    a.register_user(STAR, "celebrity")  # a caches the user unverified
    b.verify_user(STAR)
    assert a.create_wallet(STAR, "NGN").changed is True
    no_op(b, b.create_wallet, STAR, "NGN")


def test_a_stale_pending_payment_is_not_flagged_after_another_instance_verified_it(
    make_ledger: Callable[..., Ledger],
) -> None:
    a, b = make_ledger(), make_ledger()
    with_users(a)
    request_id, txn_id = pending_payment(a)  # a caches the transaction pending
    b.confirm_payment(txn_id, amount=PRICE, currency="NGN")
    no_op(a, a.confirm_payment, txn_id, amount=PRICE - 1, currency="NGN")
    refused(a, DomainError, a.time_out_request, request_id)
    assert not a.get_transaction(txn_id).needs_review


def test_a_stale_instance_does_not_refund_twice_after_another_declined(
    make_ledger: Callable[..., Ledger], provider: FakeProvider
) -> None:
    a, b = make_ledger(), make_ledger()
    with_users(a)
    request_id, _ = held_payment(a)  # a caches the request IN_PROGRESS
    b.decline_request(request_id)
    no_op(a, a.decline_request, request_id)
    assert len(provider.refunds) == 1


def test_two_instances_complete_and_register_without_duplicate_events(
    make_ledger: Callable[..., Ledger],
) -> None:
    a, b = make_ledger(), make_ledger()
    with_users(a)
    no_op(b, b.register_user, FAN, "fan")
    refused(b, DomainError, b.register_user, FAN, "celebrity")
    request_id, _ = held_payment(a)
    b.complete_request(request_id)
    no_op(a, a.complete_request, request_id)
    assert names(a, request_id).count("RequestCompleted") == 1


def test_a_webhook_reading_either_side_of_another_confirmation_is_already_done(
    make_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a torn read (transaction before the other save, request after it) was
    reported as 'request is IN_PROGRESS, not awaiting payment' instead of a no-op."""
    a, b = make_ledger(), make_ledger()
    with_users(b)
    _, txn_id = pending_payment(b)  # a has nothing cached
    load = a.repository.get
    interleaved: list[Result] = []

    def load_then_let_b_confirm(aggregate_id: UUID, *args: Any, **kwargs: Any) -> Any:
        aggregate = load(aggregate_id, *args, **kwargs)
        if aggregate_id == txn_id and not interleaved:
            interleaved.append(b.confirm_payment(txn_id, amount=PRICE, currency="NGN"))
        return aggregate

    monkeypatch.setattr(a.repository, "get", load_then_let_b_confirm)
    before = head(a)
    result = a.confirm_payment(txn_id, amount=PRICE, currency="NGN")
    assert result.changed is False
    assert interleaved[0].changed is True
    assert head(a) == before + 2, "only b's PaymentVerified and RequestPaid were written"
    assert "nothing to do" in result.message
    assert names(a, txn_id).count("PaymentVerified") == 1
