"""Request: PENDING -> IN_PROGRESS -> COMPLETED, or -> DECLINED; never reinstated."""

import uuid

import pytest

from ledger.domain.money import Money
from ledger.domain.request import DeclineReason, Request, RequestStatus
from ledger.errors import DomainError, InvalidInput
from tests.unit.helpers import (
    AT,
    CELEBRITY,
    FAN,
    LATER,
    PRICE,
    REQUEST_ID,
    TXN_ID,
    assert_refused,
    given,
    new_events,
    request_history,
)

ALL_REASONS = list(DeclineReason)
UNPAID_REASONS = [r for r in DeclineReason if not r.by_a_person]


def test_create_records_a_pending_request_with_fan_celebrity_and_price() -> None:
    request = Request.create(REQUEST_ID, FAN, CELEBRITY, PRICE, AT)

    [event] = new_events(request)
    assert isinstance(event, Request.RequestCreated)
    assert event.originator_id == REQUEST_ID
    assert (event.fan_id, event.celebrity_id, event.amount, event.currency) == (
        FAN,
        CELEBRITY,
        500_000,
        "NGN",
    )
    assert request.status is RequestStatus.PENDING
    assert request.price == PRICE
    assert request.decline_reason is None


def test_create_with_the_same_user_as_fan_and_celebrity_is_refused() -> None:
    with pytest.raises(DomainError, match="two different users"):
        Request.create(REQUEST_ID, FAN, FAN, PRICE, AT)


def test_same_as_recognises_a_repeated_create_and_rejects_a_different_one() -> None:
    request = given(request_history())

    assert request.same_as(FAN, CELEBRITY, PRICE)
    assert not request.same_as(FAN, CELEBRITY, Money(500_001, "NGN"))
    assert not request.same_as(FAN, CELEBRITY, Money(500_000, "GHS"))
    assert not request.same_as(CELEBRITY, FAN, PRICE)


def test_mark_paid_moves_a_pending_request_in_progress() -> None:
    request = given(request_history("PENDING"))

    assert request.mark_paid(TXN_ID, LATER) is True

    [event] = new_events(request)
    assert isinstance(event, Request.RequestPaid)
    assert event.transaction_id == TXN_ID
    assert request.status is RequestStatus.IN_PROGRESS


@pytest.mark.parametrize("state", ["IN_PROGRESS", "COMPLETED"])
def test_mark_paid_again_returns_false_and_records_nothing(state: str) -> None:
    request = given(request_history(state))

    assert request.mark_paid(TXN_ID, LATER) is False
    assert new_events(request) == []
    assert request.status is RequestStatus(state)


def test_mark_paid_of_a_declined_request_is_refused_and_writes_nothing() -> None:
    request = given(request_history("DECLINED"))

    assert_refused(lambda: request.mark_paid(TXN_ID, LATER), request, match="DECLINED")
    assert request.status is RequestStatus.DECLINED


def test_complete_moves_an_in_progress_request_to_completed() -> None:
    request = given(request_history("IN_PROGRESS"))

    assert request.complete(LATER) is True

    [event] = new_events(request)
    assert isinstance(event, Request.RequestCompleted)
    assert request.status is RequestStatus.COMPLETED


def test_completing_a_completed_request_again_returns_false_and_records_nothing() -> None:
    request = given(request_history("COMPLETED"))

    assert request.complete(LATER) is False
    assert new_events(request) == []


@pytest.mark.parametrize("state", ["PENDING", "DECLINED"])
def test_complete_of_an_unpaid_or_declined_request_is_refused_and_writes_nothing(
    state: str,
) -> None:
    request = given(request_history(state))

    assert_refused(lambda: request.complete(LATER), request, match="IN_PROGRESS")


@pytest.mark.parametrize("reason", ALL_REASONS)
def test_a_pending_request_can_be_declined_for_every_reason(reason: DeclineReason) -> None:
    request = given(request_history("PENDING"))

    assert request.decline(reason.value, LATER, note="why") is True

    [event] = new_events(request)
    assert isinstance(event, Request.RequestDeclined)
    assert (event.reason, event.note) == (reason.value, "why")
    assert request.status is RequestStatus.DECLINED
    assert request.decline_reason is reason
    assert request.note == "why"


def test_the_celebrity_can_decline_an_in_progress_request() -> None:
    request = given(request_history("IN_PROGRESS"))

    assert request.decline(DeclineReason.CELEBRITY_DECLINED, LATER) is True

    [event] = new_events(request)
    assert isinstance(event, Request.RequestDeclined)
    assert event.reason == "celebrity_declined"
    assert event.note is None


@pytest.mark.parametrize("reason", UNPAID_REASONS)
def test_an_in_progress_request_is_declined_only_by_a_person(reason: DeclineReason) -> None:
    request = given(request_history("IN_PROGRESS"))

    assert_refused(
        lambda: request.decline(reason, LATER), request, match="only the celebrity or an operator"
    )
    assert request.status is RequestStatus.IN_PROGRESS


def test_an_operator_declines_an_in_progress_request_with_name_and_reason() -> None:
    request = given(request_history("IN_PROGRESS"))

    assert request.decline(DeclineReason.OPERATOR_DECLINED, LATER, note="fraud", operator="ada")

    [event] = new_events(request)
    assert isinstance(event, Request.RequestDeclined)
    assert (event.reason, event.note, event.operator) == ("operator_declined", "fraud", "ada")
    assert request.decline_reason is DeclineReason.OPERATOR_DECLINED


@pytest.mark.parametrize("reason", ALL_REASONS)
def test_a_completed_request_cannot_be_declined(reason: DeclineReason) -> None:
    request = given(request_history("COMPLETED"))

    assert_refused(lambda: request.decline(reason, LATER), request, match="COMPLETED")
    assert request.status is RequestStatus.COMPLETED


@pytest.mark.parametrize("reason", ALL_REASONS)
def test_declining_a_declined_request_again_returns_false_and_records_nothing(
    reason: DeclineReason,
) -> None:
    request = given(request_history("DECLINED", reason="payment_timed_out"))

    assert request.decline(reason, LATER) is False
    assert new_events(request) == []
    assert request.decline_reason is DeclineReason.PAYMENT_TIMED_OUT


@pytest.mark.parametrize("state", ["PENDING", "IN_PROGRESS", "COMPLETED", "DECLINED"])
def test_decline_with_an_unknown_reason_is_invalid_input(state: str) -> None:
    request = given(request_history(state))

    assert_refused(lambda: request.decline("changed_my_mind", LATER), request, error=InvalidInput)


@pytest.mark.parametrize(
    "command",
    [
        lambda r: r.mark_paid(TXN_ID, LATER),
        lambda r: r.complete(LATER),
    ],
    ids=["mark_paid", "complete"],
)
def test_a_declined_request_is_never_reinstated(command: object) -> None:
    request = given(request_history("DECLINED"))

    assert_refused(lambda: command(request), request)  # type: ignore[operator]
    assert request.status is RequestStatus.DECLINED


def test_replaying_a_request_gives_the_live_state() -> None:
    live = Request.create(uuid.uuid4(), FAN, CELEBRITY, PRICE, AT)
    live.mark_paid(TXN_ID, AT)
    live.decline("celebrity_declined", LATER, note="busy")
    replayed = given(live.collect_events())
    assert vars(replayed) == vars(live)
