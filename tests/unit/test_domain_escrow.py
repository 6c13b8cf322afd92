"""Escrow rules that span aggregates (ledger.domain.escrow): given events on a request, its
transaction and a wallet -> command -> the events on each, or a refusal that writes nothing."""

import uuid
from typing import Any

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st

from ledger.domain import escrow, ids
from ledger.domain.money import MAX_AMOUNT, Money
from ledger.domain.request import DeclineReason, Request, RequestStatus
from ledger.domain.transaction import (
    EscrowStatus,
    ReleaseTrigger,
    TimeoutReason,
    Transaction,
    TxStatus,
)
from ledger.domain.wallet import Wallet
from ledger.errors import InvalidInput
from tests.unit.helpers import (
    AT,
    FAN,
    LATER,
    PRICE,
    REQUEST_ID,
    T0,
    TXN_ID,
    assert_refused,
    given,
    new_events,
    request_history,
    txn_history,
    wallet_history,
)


def _pair(request_state: str, txn_state: str) -> tuple[Request, Transaction]:
    return given(request_history(request_state)), given(txn_history(txn_state))


def _success(txn: Transaction, request: Request, received: Money = PRICE) -> list[Any]:
    return escrow.apply_success(
        txn,
        request,
        received=received,
        provider_status="success",
        provider_transaction_id="ps-2",
        paid_at=T0,
        at=LATER,
    )


def _release(txn: Transaction, request: Request, wallet: Wallet, fee_bps: int = 250) -> list[Any]:
    return escrow.release(
        txn, request, wallet, fee_bps=fee_bps, trigger=ReleaseTrigger.JOB, run_id="run-7", at=LATER
    )


def _other_requests_txn() -> Transaction:
    txn = Transaction.initiate(uuid.uuid4(), "ref-other", PRICE, AT)
    return given(txn.collect_events())


# -- apply_success ---------------------------------------------------------------------


def test_success_with_the_exact_amount_verifies_the_payment_and_starts_the_request() -> None:
    request, txn = _pair("PENDING", "pending")

    changed = _success(txn, request)

    assert changed == [txn, request]
    [verified] = new_events(txn)
    assert isinstance(verified, Transaction.PaymentVerified)
    assert (verified.amount, verified.provider_transaction_id) == (500_000, "ps-2")
    [paid] = new_events(request)
    assert isinstance(paid, Request.RequestPaid)
    assert paid.transaction_id == TXN_ID
    assert txn.is_held
    assert request.status is RequestStatus.IN_PROGRESS


@pytest.mark.parametrize(
    ("received", "reason"),
    [
        (Money(499_999, "NGN"), "amount_mismatch"),
        (Money(500_001, "NGN"), "amount_mismatch"),
        (Money(500_000, "GHS"), "currency_mismatch"),
        (Money(1, "USD"), "currency_mismatch"),  # both wrong: the currency is named
    ],
)
def test_success_with_another_amount_or_currency_is_flagged_never_paid(
    received: Money, reason: str
) -> None:
    request, txn = _pair("PENDING", "pending")

    changed = _success(txn, request, received)

    assert changed == [txn]
    [flagged] = new_events(txn)
    assert isinstance(flagged, Transaction.PaymentFlagged)
    assert (flagged.reason, flagged.amount, flagged.currency) == (
        reason,
        received.amount,
        received.currency,
    )
    assert new_events(request) == []
    assert request.status is RequestStatus.PENDING
    assert txn.status is TxStatus.PENDING
    assert txn.needs_review


@pytest.mark.parametrize("txn_state", ["failed", "timed_out", "recorded_failed"])
def test_success_after_the_payment_failed_is_flagged_late_success(txn_state: str) -> None:
    request, txn = _pair("DECLINED", txn_state)

    changed = _success(txn, request)

    assert changed == [txn]
    [flagged] = new_events(txn)
    assert isinstance(flagged, Transaction.PaymentFlagged)
    assert (flagged.reason, flagged.amount) == ("late_success", 500_000)
    assert new_events(request) == []
    assert request.status is RequestStatus.DECLINED


@pytest.mark.parametrize(
    ("request_state", "txn_state"),
    [
        ("IN_PROGRESS", "held"),
        ("COMPLETED", "held"),
        ("COMPLETED", "released"),
        ("DECLINED", "refunded"),
        ("DECLINED", "flagged_late"),  # the same late webhook again
        ("DECLINED", "flagged_refunded"),
        ("DECLINED", "flagged_resolved"),
        ("PENDING", "flagged"),  # already waiting for an operator
    ],
)
def test_a_repeated_success_returns_nothing_to_save_and_records_nothing(
    request_state: str, txn_state: str
) -> None:
    request, txn = _pair(request_state, txn_state)

    assert _success(txn, request) == []
    assert new_events(txn) == []
    assert new_events(request) == []


def test_success_for_a_request_no_longer_awaiting_payment_is_refused_and_writes_nothing() -> None:
    request, txn = _pair("DECLINED", "pending")

    assert_refused(lambda: _success(txn, request), txn, request, match="not awaiting payment")


def test_success_for_another_requests_transaction_is_refused() -> None:
    request = given(request_history("PENDING"))
    txn = _other_requests_txn()

    assert_refused(lambda: _success(txn, request), txn, request, match="belongs to request")


# -- apply_failure ---------------------------------------------------------------------


def test_failure_of_a_pending_payment_declines_the_request_payment_failed() -> None:
    request, txn = _pair("PENDING", "pending")

    changed = escrow.apply_failure(
        txn, request, reason="abandoned", provider_status="abandoned", at=LATER
    )

    assert changed == [txn, request]
    [failed] = new_events(txn)
    assert isinstance(failed, Transaction.PaymentFailed)
    assert (failed.reason, failed.provider_status) == ("abandoned", "abandoned")
    [declined] = new_events(request)
    assert isinstance(declined, Request.RequestDeclined)
    assert declined.reason == "payment_failed"
    assert txn.escrow_status is EscrowStatus.CANCELLED


@pytest.mark.parametrize("txn_state", ["failed", "timed_out", "flagged_late"])
def test_a_repeated_failure_returns_nothing_to_save_and_records_nothing(txn_state: str) -> None:
    request, txn = _pair("DECLINED", txn_state)

    changed = escrow.apply_failure(
        txn, request, reason="failed", provider_status="failed", at=LATER
    )

    assert changed == []
    assert new_events(txn) == new_events(request) == []


@pytest.mark.parametrize(
    ("request_state", "txn_state", "match"),
    [("IN_PROGRESS", "held", "verified"), ("PENDING", "flagged", "flagged")],
)
def test_failure_of_a_verified_or_flagged_payment_is_refused_and_writes_nothing(
    request_state: str, txn_state: str, match: str
) -> None:
    request, txn = _pair(request_state, txn_state)

    assert_refused(
        lambda: escrow.apply_failure(
            txn, request, reason="reversed", provider_status="reversed", at=LATER
        ),
        txn,
        request,
        match=match,
    )


# -- apply_timeout ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "decline_reason"),
    [
        (TimeoutReason.NO_REFERENCE, "payment_timed_out"),
        (TimeoutReason.PROVIDER_UNREACHABLE, "payment_timed_out"),
        (TimeoutReason.UNRESOLVED, "payment_timed_out"),
        (TimeoutReason.REQUEST_TIMED_OUT, "request_timed_out"),
    ],
)
def test_time_out_of_a_pending_payment_declines_the_request(
    reason: TimeoutReason, decline_reason: str
) -> None:
    request, txn = _pair("PENDING", "pending")

    changed = escrow.apply_timeout(txn, request, reason=reason, at=LATER)

    assert changed == [txn, request]
    [timed_out] = new_events(txn)
    assert isinstance(timed_out, Transaction.PaymentTimedOut)
    assert timed_out.reason == reason.value
    [declined] = new_events(request)
    assert isinstance(declined, Request.RequestDeclined)
    assert declined.reason == decline_reason


def test_a_repeated_time_out_returns_nothing_to_save_and_records_nothing() -> None:
    request, txn = _pair("DECLINED", "timed_out")

    assert escrow.apply_timeout(txn, request, reason=TimeoutReason.UNRESOLVED, at=LATER) == []
    assert new_events(txn) == new_events(request) == []


@pytest.mark.parametrize(
    ("request_state", "txn_state"), [("IN_PROGRESS", "held"), ("PENDING", "flagged")]
)
def test_time_out_of_a_verified_or_flagged_payment_is_refused_and_writes_nothing(
    request_state: str, txn_state: str
) -> None:
    request, txn = _pair(request_state, txn_state)

    assert_refused(
        lambda: escrow.apply_timeout(txn, request, reason=TimeoutReason.UNRESOLVED, at=LATER),
        txn,
        request,
    )


# -- time_out_request ------------------------------------------------------------------


def test_request_time_out_without_a_payment_records_a_failed_transaction() -> None:
    request = given(request_history("PENDING"))

    changed = escrow.time_out_request(request, None, LATER)

    failed, declined_request = changed
    assert declined_request is request
    [recorded] = new_events(failed)
    assert isinstance(recorded, Transaction.FailedTransactionRecorded)
    assert recorded.originator_id == ids.transaction_id(REQUEST_ID)
    assert (recorded.request_id, recorded.amount, recorded.currency, recorded.reason) == (
        REQUEST_ID,
        500_000,
        "NGN",
        "request_timed_out",
    )
    [declined] = new_events(request)
    assert isinstance(declined, Request.RequestDeclined)
    assert declined.reason == "request_timed_out"


def test_request_time_out_with_a_pending_payment_times_it_out() -> None:
    request, txn = _pair("PENDING", "pending")

    assert escrow.time_out_request(request, txn, LATER) == [txn, request]

    [timed_out] = new_events(txn)
    assert isinstance(timed_out, Transaction.PaymentTimedOut)
    assert timed_out.reason == "request_timed_out"
    [declined] = new_events(request)
    assert declined.reason == "request_timed_out"


def test_request_time_out_with_a_flagged_payment_waits_for_the_operator() -> None:
    request, txn = _pair("PENDING", "flagged")

    assert_refused(lambda: escrow.time_out_request(request, txn, LATER), txn, request)
    assert request.status is RequestStatus.PENDING


@pytest.mark.parametrize("txn_state", [None, "timed_out", "recorded_failed"])
def test_a_repeated_request_time_out_returns_nothing_to_save(txn_state: str | None) -> None:
    request = given(request_history("DECLINED", reason="request_timed_out"))
    txn = None if txn_state is None else given(txn_history(txn_state))

    assert escrow.time_out_request(request, txn, LATER) == []
    assert new_events(request) == []
    if txn is not None:
        assert new_events(txn) == []


@pytest.mark.parametrize("request_state", ["IN_PROGRESS", "COMPLETED"])
def test_a_paid_request_does_not_time_out(request_state: str) -> None:
    request, txn = _pair(request_state, "held")

    assert_refused(lambda: escrow.time_out_request(request, txn, LATER), txn, request)


# -- release ---------------------------------------------------------------------------


def test_release_credits_the_celebrity_less_the_platform_fee() -> None:
    request, txn = _pair("COMPLETED", "held")
    wallet = given(wallet_history())

    changed = _release(txn, request, wallet, fee_bps=250)

    assert changed == [txn, wallet]
    [released] = new_events(txn)
    assert isinstance(released, Transaction.EscrowReleased)
    assert (released.wallet_id, released.amount, released.fee) == (wallet.id, 500_000, 12_500)
    assert (released.trigger, released.run_id) == ("job", "run-7")
    [credited] = new_events(wallet)
    assert isinstance(credited, Wallet.WalletCredited)
    assert (credited.amount, credited.transaction_id) == (487_500, TXN_ID)
    assert released.fee + credited.amount == released.amount
    assert new_events(request) == []
    assert wallet.balance == 487_500


def test_release_without_a_fee_credits_the_whole_payment() -> None:
    request, txn = _pair("COMPLETED", "held")
    wallet = given(wallet_history())

    _release(txn, request, wallet, fee_bps=0)

    assert new_events(txn)[0].fee == 0
    assert new_events(wallet)[0].amount == 500_000


def test_releasing_a_released_payment_again_returns_nothing_to_save() -> None:
    request, txn = _pair("COMPLETED", "released")
    wallet = given(wallet_history(balance=500_000))

    assert _release(txn, request, wallet) == []
    assert new_events(txn) == new_events(wallet) == []
    assert wallet.balance == 500_000


@pytest.mark.parametrize(
    ("request_state", "txn_state"),
    [("IN_PROGRESS", "held"), ("PENDING", "pending"), ("DECLINED", "refunded")],
)
def test_release_for_a_request_not_completed_is_refused_and_writes_nothing(
    request_state: str, txn_state: str
) -> None:
    request, txn = _pair(request_state, txn_state)
    wallet = given(wallet_history())

    assert_refused(lambda: _release(txn, request, wallet), txn, request, wallet, match="COMPLETED")


@pytest.mark.parametrize("txn_state", ["pending", "failed", "refunded", "refund_confirmed"])
def test_release_of_a_payment_not_held_is_refused_and_writes_nothing(txn_state: str) -> None:
    request, txn = _pair("COMPLETED", txn_state)
    wallet = given(wallet_history())

    assert_refused(lambda: _release(txn, request, wallet), txn, request, wallet, match="no money")


def test_release_of_a_flagged_payment_is_refused_and_writes_nothing() -> None:
    request, txn = _pair("COMPLETED", "flagged")
    wallet = given(wallet_history())

    assert_refused(lambda: _release(txn, request, wallet), txn, request, wallet, match="flagged")


@pytest.mark.parametrize(
    "wallet_events",
    [
        wallet_history(user=FAN),
        wallet_history(currency="GHS"),
        wallet_history(user=ids.user_id("celebrity-2")),
    ],
    ids=["fans-wallet", "other-currency", "other-celebrity"],
)
def test_release_to_a_wallet_other_than_the_celebritys_in_the_payment_currency_is_refused(
    wallet_events: list[Any],
) -> None:
    request, txn = _pair("COMPLETED", "held")
    wallet = given(wallet_events)

    assert_refused(lambda: _release(txn, request, wallet), txn, request, wallet, match="wallet")
    assert txn.is_held


@pytest.mark.parametrize("fee_bps", [-1, 10_000, 25_000])
def test_release_with_a_fee_out_of_range_is_refused_and_writes_nothing(fee_bps: int) -> None:
    request, txn = _pair("COMPLETED", "held")
    wallet = given(wallet_history())

    assert_refused(
        lambda: _release(txn, request, wallet, fee_bps=fee_bps),
        txn,
        request,
        wallet,
        error=InvalidInput,
    )


def test_release_of_another_requests_transaction_is_refused() -> None:
    request = given(request_history("COMPLETED"))
    txn = _other_requests_txn()
    wallet = given(wallet_history())

    assert_refused(lambda: _release(txn, request, wallet), txn, request, wallet, match="belongs")


@hypothesis_given(
    amount=st.integers(min_value=1, max_value=MAX_AMOUNT),
    fee_bps=st.integers(min_value=0, max_value=9_999),
)
def test_release_conserves_money_for_any_amount_and_fee(amount: int, fee_bps: int) -> None:
    price = Money(amount, "NGN")
    request = given(request_history("COMPLETED", price=price))
    txn = given(txn_history("held", price=price))
    wallet = given(wallet_history())

    _release(txn, request, wallet, fee_bps=fee_bps)

    [released] = new_events(txn)
    [credited] = new_events(wallet)
    assert released.amount == amount
    assert released.fee + credited.amount == amount
    assert 0 <= released.fee < amount
    assert credited.amount >= 1


# -- decline ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(DeclineReason))
def test_decline_of_an_unpaid_request_without_a_payment_declines_only_the_request(
    reason: DeclineReason,
) -> None:
    request = given(request_history("PENDING"))

    assert escrow.decline(request, None, reason=reason, at=LATER, note="n") == [request]

    [declined] = new_events(request)
    assert (declined.reason, declined.note) == (reason.value, "n")


def test_decline_fails_a_pending_payment_with_the_request() -> None:
    request, txn = _pair("PENDING", "pending")

    changed = escrow.decline(request, txn, reason=DeclineReason.CELEBRITY_DECLINED, at=LATER)

    assert changed == [request, txn]
    [declined] = new_events(request)
    assert declined.reason == "celebrity_declined"
    [failed] = new_events(txn)
    assert isinstance(failed, Transaction.PaymentFailed)
    assert (failed.reason, failed.provider_status) == ("celebrity_declined", None)
    assert txn.escrow_status is EscrowStatus.CANCELLED


def test_decline_of_a_paid_request_refunds_the_held_payment() -> None:
    request, txn = _pair("IN_PROGRESS", "held")

    changed = escrow.decline(
        request,
        txn,
        reason=DeclineReason.CELEBRITY_DECLINED,
        at=LATER,
        note="cannot do it",
        refund_reference="rfnd-42",
    )

    assert changed == [request, txn]
    [declined] = new_events(request)
    assert isinstance(declined, Request.RequestDeclined)
    assert (declined.reason, declined.note) == ("celebrity_declined", "cannot do it")
    [refunded] = new_events(txn)
    assert isinstance(refunded, Transaction.EscrowRefunded)
    assert (refunded.reason, refunded.refund_reference, refunded.amount) == (
        "celebrity_declined",
        "rfnd-42",
        500_000,
    )
    assert refunded.note == "cannot do it"
    assert txn.escrow_status is EscrowStatus.REFUNDED


def test_decline_of_a_paid_request_needs_the_refund_reference_first() -> None:
    request, txn = _pair("IN_PROGRESS", "held")

    assert_refused(
        lambda: escrow.decline(request, txn, reason=DeclineReason.CELEBRITY_DECLINED, at=LATER),
        request,
        txn,
        match="must be refunded",
    )


@pytest.mark.parametrize("reason", [r for r in DeclineReason if not r.by_a_person])
def test_decline_of_a_paid_request_for_an_unpaid_reason_is_refused_and_writes_nothing(
    reason: DeclineReason,
) -> None:
    request, txn = _pair("IN_PROGRESS", "held")

    assert_refused(
        lambda: escrow.decline(request, txn, reason=reason, at=LATER, refund_reference="r-1"),
        request,
        txn,
    )
    assert txn.is_held


def test_decline_of_a_paid_request_without_its_payment_is_refused() -> None:
    request = given(request_history("IN_PROGRESS"))

    assert_refused(
        lambda: escrow.decline(
            request, None, reason=DeclineReason.CELEBRITY_DECLINED, at=LATER, refund_reference="r"
        ),
        request,
        match="holds no payment",
    )


def test_a_flagged_payment_blocks_the_decline_and_nothing_is_written() -> None:
    request, txn = _pair("PENDING", "flagged")

    assert_refused(
        lambda: escrow.decline(request, txn, reason=DeclineReason.CELEBRITY_DECLINED, at=LATER),
        request,
        txn,
        match="flagged for review",
    )


@pytest.mark.parametrize("txn_state", ["held", "released"])
def test_decline_of_a_completed_request_is_refused_and_writes_nothing(txn_state: str) -> None:
    request, txn = _pair("COMPLETED", txn_state)

    assert_refused(
        lambda: escrow.decline(
            request,
            txn,
            reason=DeclineReason.CELEBRITY_DECLINED,
            at=LATER,
            refund_reference="rfnd-1",
        ),
        request,
        txn,
        match="COMPLETED",
    )


@pytest.mark.parametrize("txn_state", [None, "failed", "refunded"])
def test_declining_a_declined_request_again_returns_nothing_to_save(
    txn_state: str | None,
) -> None:
    request = given(request_history("DECLINED"))
    txn = None if txn_state is None else given(txn_history(txn_state))

    assert escrow.decline(request, txn, reason=DeclineReason.CELEBRITY_DECLINED, at=LATER) == []
    assert new_events(request) == []
    if txn is not None:
        assert new_events(txn) == []


def test_decline_with_another_requests_transaction_is_refused() -> None:
    request = given(request_history("PENDING"))
    txn = _other_requests_txn()

    assert_refused(
        lambda: escrow.decline(request, txn, reason=DeclineReason.CELEBRITY_DECLINED, at=LATER),
        request,
        txn,
        match="belongs",
    )


# -- an operator's refund (not a decline's) ------------------------------------------------


def _refund(txn: Transaction, request: Request) -> list[Any]:
    return escrow.refund(
        txn, request, reason="admin", refund_reference="rfnd-7", at=LATER, operator="ops"
    )


def test_a_held_payment_of_an_in_progress_request_is_declined_not_refunded() -> None:
    request, txn = _pair("IN_PROGRESS", "held")

    assert_refused(lambda: escrow.check_refundable(txn, request), request, txn, match="decline")
    assert_refused(lambda: _refund(txn, request), request, txn, match="IN_PROGRESS")


def test_a_held_payment_of_a_completed_request_is_refunded_and_the_request_kept() -> None:
    request, txn = _pair("COMPLETED", "held")

    assert escrow.check_refundable(txn, request) == PRICE.amount
    assert _refund(txn, request) == [txn]
    [refunded] = new_events(txn)
    assert isinstance(refunded, Transaction.EscrowRefunded)
    assert (refunded.amount, refunded.refund_reference, refunded.operator) == (
        PRICE.amount,
        "rfnd-7",
        "ops",
    )
    assert new_events(request) == []


def test_refunding_a_flagged_pending_payment_declines_its_request_payment_failed() -> None:
    request, txn = _pair("PENDING", "flagged")

    assert escrow.check_refundable(txn, request) == PRICE.amount - 1  # what was received
    assert _refund(txn, request) == [txn, request]
    [declined] = new_events(request)
    assert isinstance(declined, Request.RequestDeclined)
    assert declined.reason == DeclineReason.PAYMENT_FAILED.value
    assert request.status is RequestStatus.DECLINED


def test_refunding_a_late_success_leaves_the_declined_request_as_it_is() -> None:
    request, txn = _pair("DECLINED", "flagged_late")

    assert _refund(txn, request) == [txn]
    assert new_events(request) == []


@pytest.mark.parametrize("txn_state", ["released", "pending", "failed"])
def test_a_payment_holding_no_money_to_refund_is_refused_and_writes_nothing(
    txn_state: str,
) -> None:
    request, txn = _pair("COMPLETED" if txn_state == "released" else "PENDING", txn_state)

    assert_refused(lambda: _refund(txn, request), request, txn)


def test_a_refund_of_another_requests_transaction_is_refused() -> None:
    request = given(request_history("COMPLETED"))
    other = _other_requests_txn()

    assert_refused(lambda: _refund(other, request), request, other, match="belongs to")
