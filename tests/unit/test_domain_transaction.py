"""Transaction: every command from every state -> the expected event, a no-op, or a refusal.

States (see ``helpers.txn_history``): pending, held, failed, timed_out, recorded_failed,
flagged (amount mismatch while pending), flagged_late (success after failure), released,
refunded, refund_confirmed, flagged_refunded, flagged_resolved.
"""

import pytest

from ledger.domain import ids
from ledger.domain.money import Money
from ledger.domain.transaction import (
    EscrowStatus,
    FlagReason,
    ReleaseTrigger,
    TimeoutReason,
    Transaction,
    TxStatus,
)
from ledger.errors import DomainError
from tests.unit.helpers import (
    AT,
    CELEBRITY,
    LATER,
    PRICE,
    REFERENCE,
    REFUND_REFERENCE,
    REQUEST_ID,
    T0,
    TXN_ID,
    assert_refused,
    given,
    live_txn,
    new_events,
    txn_history,
)

ALL_STATES = [
    "pending",
    "held",
    "failed",
    "timed_out",
    "recorded_failed",
    "flagged",
    "flagged_late",
    "released",
    "refunded",
    "refund_confirmed",
    "flagged_refunded",
    "flagged_resolved",
]
COMPLETED_STATES = ["held", "released", "refunded", "refund_confirmed"]
FAILED_STATES = [
    "failed",
    "timed_out",
    "recorded_failed",
    "flagged_late",
    "flagged_refunded",
    "flagged_resolved",
]
WALLET = ids.wallet_id(CELEBRITY, "NGN")


def _verify(txn: Transaction) -> bool:
    return txn.verify(
        provider_status="success", provider_transaction_id="ps-2", paid_at=T0, at=LATER
    )


def _fail(txn: Transaction) -> bool:
    return txn.fail(reason="abandoned", provider_status="abandoned", at=LATER)


def _release(txn: Transaction) -> bool:
    return txn.release(
        wallet_id=WALLET, fee=12_500, trigger=ReleaseTrigger.JOB, run_id="run-9", at=LATER
    )


def _refund(txn: Transaction) -> bool:
    return txn.refund(reason="admin", refund_reference="rfnd-9", at=LATER, operator="ops")


def _flag(txn: Transaction, reason: FlagReason, received: Money = PRICE) -> bool:
    return txn.flag(
        reason, received, provider_status="success", provider_transaction_id="ps-2", at=LATER
    )


def _txn(state: str) -> Transaction:
    txn: Transaction = given(txn_history(state))
    return txn


# -- creation --------------------------------------------------------------------------


def test_initiate_records_a_pending_payment_under_the_requests_transaction_id() -> None:
    txn = Transaction.initiate(REQUEST_ID, REFERENCE, PRICE, AT)

    [event] = new_events(txn)
    assert isinstance(event, Transaction.PaymentInitiated)
    assert event.originator_id == ids.transaction_id(REQUEST_ID) == TXN_ID
    assert (event.request_id, event.reference, event.amount, event.currency) == (
        REQUEST_ID,
        REFERENCE,
        500_000,
        "NGN",
    )
    assert (txn.status, txn.escrow_status) == (TxStatus.PENDING, EscrowStatus.PENDING)
    assert not txn.is_held
    assert not txn.needs_review
    assert not txn.in_suspense


def test_initiate_without_a_reference_is_allowed() -> None:
    txn = Transaction.initiate(REQUEST_ID, None, PRICE, AT)
    [event] = new_events(txn)
    assert event.reference is None


def test_record_failed_creates_a_failed_cancelled_audit_record() -> None:
    txn = Transaction.record_failed(REQUEST_ID, PRICE, TimeoutReason.REQUEST_TIMED_OUT, AT)

    [event] = new_events(txn)
    assert isinstance(event, Transaction.FailedTransactionRecorded)
    assert event.originator_id == TXN_ID
    assert (event.amount, event.currency, event.reason) == (500_000, "NGN", "request_timed_out")
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    assert txn.reference is None


# -- verify ----------------------------------------------------------------------------


def test_verify_of_a_pending_payment_holds_the_money() -> None:
    txn = _txn("pending")

    assert _verify(txn) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.PaymentVerified)
    assert (event.provider_status, event.provider_transaction_id, event.paid_at) == (
        "success",
        "ps-2",
        T0,
    )
    assert event.amount == 500_000
    assert (event.operator, event.note) == (None, None)
    assert txn.status is TxStatus.COMPLETED
    assert txn.escrow_status is EscrowStatus.PENDING
    assert txn.is_held


def test_verify_by_an_operator_records_who_and_why() -> None:
    txn = _txn("pending")
    txn.verify(
        provider_status="success",
        provider_transaction_id=None,
        paid_at=T0,
        at=LATER,
        operator="ops",
        note="bank statement",
    )
    [event] = new_events(txn)
    assert (event.operator, event.note) == ("ops", "bank statement")


@pytest.mark.parametrize("state", COMPLETED_STATES)
def test_verifying_a_verified_payment_again_returns_false_and_records_nothing(state: str) -> None:
    txn = _txn(state)

    assert _verify(txn) is False
    assert new_events(txn) == []


@pytest.mark.parametrize("state", FAILED_STATES)
def test_verify_of_a_failed_payment_is_refused_and_writes_nothing(state: str) -> None:
    txn = _txn(state)

    assert_refused(lambda: _verify(txn), txn, match="failed")


def test_verify_of_a_flagged_payment_is_refused_and_writes_nothing() -> None:
    txn = _txn("flagged")

    assert_refused(lambda: _verify(txn), txn, match="flagged")
    assert not txn.is_held


# -- fail and time out -----------------------------------------------------------------


def test_fail_of_a_pending_payment_cancels_the_escrow() -> None:
    txn = _txn("pending")

    assert _fail(txn) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.PaymentFailed)
    assert (event.reason, event.provider_status) == ("abandoned", "abandoned")
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    assert txn.failure_reason == "abandoned"


@pytest.mark.parametrize("reason", list(TimeoutReason))
def test_time_out_of_a_pending_payment_records_the_reason(reason: TimeoutReason) -> None:
    txn = _txn("pending")

    assert txn.time_out(reason, LATER) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.PaymentTimedOut)
    assert event.reason == reason.value
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    assert txn.failure_reason == f"timed_out:{reason.value}"


@pytest.mark.parametrize("state", FAILED_STATES)
def test_failing_a_failed_payment_again_returns_false_and_records_nothing(state: str) -> None:
    txn = _txn(state)

    assert _fail(txn) is False
    assert txn.time_out(TimeoutReason.UNRESOLVED, LATER) is False
    assert new_events(txn) == []


@pytest.mark.parametrize("state", COMPLETED_STATES)
def test_a_verified_payment_cannot_fail_or_time_out(state: str) -> None:
    txn = _txn(state)

    assert_refused(lambda: _fail(txn), txn, match="verified")
    for reason in TimeoutReason:
        assert_refused(lambda r=reason: txn.time_out(r, LATER), txn, match="verified")  # type: ignore[misc]


def test_a_flagged_pending_payment_cannot_fail_or_time_out_automatically() -> None:
    txn = _txn("flagged")

    assert_refused(lambda: _fail(txn), txn, match="flagged")
    assert_refused(lambda: txn.time_out(TimeoutReason.UNRESOLVED, LATER), txn, match="flagged")
    assert txn.status is TxStatus.PENDING


# -- flag ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "received"),
    [
        (FlagReason.AMOUNT_MISMATCH, Money(499_999, "NGN")),
        (FlagReason.CURRENCY_MISMATCH, Money(500_000, "GHS")),
    ],
)
def test_flag_of_a_pending_payment_puts_what_arrived_in_suspense(
    reason: FlagReason, received: Money
) -> None:
    txn = _txn("pending")

    assert _flag(txn, reason, received) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.PaymentFlagged)
    assert (event.reason, event.amount, event.currency) == (
        reason.value,
        received.amount,
        received.currency,
    )
    assert (event.provider_status, event.provider_transaction_id) == ("success", "ps-2")
    assert txn.needs_review
    assert txn.in_suspense
    assert txn.flag_reason is reason
    assert (txn.flagged_amount, txn.flagged_currency) == (received.amount, received.currency)
    assert txn.status is TxStatus.PENDING  # never treated as paid
    assert not txn.is_held


@pytest.mark.parametrize("state", ["failed", "timed_out", "recorded_failed"])
def test_late_success_flags_a_failed_payment(state: str) -> None:
    txn = _txn(state)

    assert _flag(txn, FlagReason.LATE_SUCCESS) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.PaymentFlagged)
    assert (event.reason, event.amount, event.currency) == ("late_success", 500_000, "NGN")
    assert txn.needs_review
    assert txn.in_suspense
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)


@pytest.mark.parametrize("state", ["pending", *COMPLETED_STATES])
def test_late_success_needs_a_failed_payment(state: str) -> None:
    txn = _txn(state)

    assert_refused(lambda: _flag(txn, FlagReason.LATE_SUCCESS), txn, match="late success")


@pytest.mark.parametrize("reason", [FlagReason.AMOUNT_MISMATCH, FlagReason.CURRENCY_MISMATCH])
@pytest.mark.parametrize("state", ["failed", "timed_out", "recorded_failed", *COMPLETED_STATES])
def test_a_mismatch_is_flagged_only_on_a_pending_payment(state: str, reason: FlagReason) -> None:
    txn = _txn(state)

    assert_refused(lambda: _flag(txn, reason), txn, match="PENDING")


@pytest.mark.parametrize("reason", list(FlagReason))
@pytest.mark.parametrize(
    "state", ["flagged", "flagged_late", "flagged_refunded", "flagged_resolved"]
)
def test_a_payment_is_flagged_at_most_once(state: str, reason: FlagReason) -> None:
    txn = _txn(state)
    before = (txn.flag_reason, txn.flagged_amount, txn.needs_review)

    assert _flag(txn, reason, Money(1, "USD")) is False
    assert new_events(txn) == []
    assert (txn.flag_reason, txn.flagged_amount, txn.needs_review) == before


# -- release ---------------------------------------------------------------------------


def test_release_of_held_money_records_wallet_amount_fee_and_trigger() -> None:
    txn = _txn("held")

    assert (
        txn.release(
            wallet_id=WALLET,
            fee=12_500,
            trigger=ReleaseTrigger.ADMIN,
            run_id=None,
            at=LATER,
            operator="ops",
            note="celebrity confirmed delivery",
        )
        is True
    )

    [event] = new_events(txn)
    assert isinstance(event, Transaction.EscrowReleased)
    assert (event.wallet_id, event.amount, event.fee) == (WALLET, 500_000, 12_500)
    assert (event.trigger, event.run_id) == ("admin", None)
    assert (event.operator, event.note) == ("ops", "celebrity confirmed delivery")
    assert txn.escrow_status is EscrowStatus.RELEASED
    assert (txn.wallet_id, txn.fee) == (WALLET, 12_500)
    assert not txn.is_held


def test_releasing_a_released_payment_again_returns_false_and_records_nothing() -> None:
    txn = _txn("released")

    assert _release(txn) is False
    assert new_events(txn) == []


def test_release_of_a_flagged_payment_is_refused_and_writes_nothing() -> None:
    txn = _txn("flagged")

    assert_refused(lambda: _release(txn), txn, match="flagged")


@pytest.mark.parametrize(
    "state",
    [
        "pending",
        "failed",
        "timed_out",
        "recorded_failed",
        "flagged_late",
        "refunded",
        "refund_confirmed",
        "flagged_refunded",
        "flagged_resolved",
    ],
)
def test_release_of_a_payment_holding_nothing_is_refused_and_writes_nothing(state: str) -> None:
    txn = _txn(state)

    assert_refused(lambda: _release(txn), txn)
    assert txn.escrow_status is not EscrowStatus.RELEASED


# -- refund ----------------------------------------------------------------------------


def test_refundable_amount_of_held_money_is_the_payment() -> None:
    assert _txn("held").refundable_amount() == 500_000


@pytest.mark.parametrize("state", ["flagged", "flagged_late"])
def test_refundable_amount_of_flagged_money_is_what_arrived(state: str) -> None:
    txn = _txn(state)
    assert txn.refundable_amount() == txn.flagged_amount
    assert txn.refundable_amount() == (499_999 if state == "flagged" else 500_000)


def test_refundable_amount_of_released_money_says_it_was_released() -> None:
    with pytest.raises(DomainError, match="released"):
        _txn("released").refundable_amount()


@pytest.mark.parametrize(
    "state",
    [
        "pending",
        "failed",
        "timed_out",
        "recorded_failed",
        "refunded",
        "refund_confirmed",
        "flagged_refunded",
        "flagged_resolved",
    ],
)
def test_refundable_amount_of_a_payment_holding_nothing_is_refused(state: str) -> None:
    with pytest.raises(DomainError, match="no money to refund"):
        _txn(state).refundable_amount()


def test_refund_of_held_money_returns_the_payment() -> None:
    txn = _txn("held")

    assert _refund(txn) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.EscrowRefunded)
    assert (event.reason, event.refund_reference, event.amount) == ("admin", "rfnd-9", 500_000)
    assert (event.operator, event.note) == ("ops", None)
    assert (txn.status, txn.escrow_status) == (TxStatus.COMPLETED, EscrowStatus.REFUNDED)
    assert (txn.refund_reference, txn.refunded_amount) == ("rfnd-9", 500_000)
    assert not txn.refund_confirmed


def test_refund_of_a_flagged_pending_payment_returns_what_arrived_and_closes_it() -> None:
    txn = _txn("flagged")

    assert _refund(txn) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.EscrowRefunded)
    assert event.amount == 499_999
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.REFUNDED)
    assert not txn.needs_review
    assert not txn.in_suspense


def test_refund_of_a_currency_mismatch_returns_what_arrived_in_its_currency() -> None:
    txn = _txn("pending")
    _flag(txn, FlagReason.CURRENCY_MISMATCH, Money(300_000, "GHS"))
    txn = given([*txn_history("pending"), *txn.collect_events()])

    assert txn.refundable_amount() == 300_000
    assert _refund(txn) is True

    [event] = new_events(txn)
    assert event.amount == 300_000
    # EscrowRefunded carries no currency: it is the flagged currency, from PaymentFlagged.
    assert (txn.flagged_currency, txn.currency) == ("GHS", "NGN")


def test_refund_of_a_late_success_returns_the_money_and_clears_the_review() -> None:
    txn = _txn("flagged_late")

    assert _refund(txn) is True

    [event] = new_events(txn)
    assert event.amount == 500_000
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.REFUNDED)
    assert not txn.needs_review


@pytest.mark.parametrize("state", ["refunded", "refund_confirmed", "flagged_refunded"])
def test_refunding_a_refunded_payment_again_returns_false_and_records_nothing(state: str) -> None:
    txn = _txn(state)

    assert _refund(txn) is False
    assert new_events(txn) == []
    assert txn.refund_reference == REFUND_REFERENCE


def test_refund_of_released_money_is_refused_and_writes_nothing() -> None:
    txn = _txn("released")

    assert_refused(lambda: _refund(txn), txn, match="released")


@pytest.mark.parametrize(
    "state", ["pending", "failed", "timed_out", "recorded_failed", "flagged_resolved"]
)
def test_refund_of_a_payment_holding_nothing_is_refused_and_writes_nothing(state: str) -> None:
    txn = _txn(state)

    assert_refused(lambda: _refund(txn), txn, match="no money to refund")


# -- confirm refund --------------------------------------------------------------------


@pytest.mark.parametrize("state", ["refunded", "flagged_refunded"])
def test_confirm_refund_records_the_providers_confirmation(state: str) -> None:
    txn = _txn(state)

    assert txn.confirm_refund(REFUND_REFERENCE, LATER) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.RefundConfirmed)
    assert event.refund_reference == REFUND_REFERENCE
    assert txn.refund_confirmed


def test_confirming_a_confirmed_refund_again_returns_false_and_records_nothing() -> None:
    txn = _txn("refund_confirmed")

    assert txn.confirm_refund(REFUND_REFERENCE, LATER) is False
    assert new_events(txn) == []


@pytest.mark.parametrize("state", ["refunded", "refund_confirmed"])
def test_confirm_refund_of_another_refund_reference_is_refused(state: str) -> None:
    txn = _txn(state)

    assert_refused(lambda: txn.confirm_refund("rfnd-other", LATER), txn, match="not the one")


@pytest.mark.parametrize(
    "state", ["pending", "held", "failed", "flagged", "flagged_late", "released"]
)
def test_confirm_refund_without_a_refund_is_refused(state: str) -> None:
    txn = _txn(state)

    assert_refused(lambda: txn.confirm_refund(REFUND_REFERENCE, LATER), txn, match="no refund")


# -- resolve ---------------------------------------------------------------------------


def test_resolve_of_a_flagged_pending_payment_closes_it() -> None:
    txn = _txn("flagged")

    assert txn.resolve(operator="ops", note="returned by bank transfer", at=LATER) is True

    [event] = new_events(txn)
    assert isinstance(event, Transaction.ReviewResolved)
    assert (event.operator, event.note) == ("ops", "returned by bank transfer")
    assert not txn.needs_review
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)
    assert txn.failure_reason == "review_resolved"


def test_resolve_of_a_late_success_clears_the_review_and_keeps_it_failed() -> None:
    txn = _txn("flagged_late")

    assert txn.resolve(operator="ops", note="kept as credit", at=LATER) is True

    assert [type(e) for e in new_events(txn)] == [Transaction.ReviewResolved]
    assert not txn.needs_review
    assert (txn.status, txn.escrow_status) == (TxStatus.FAILED, EscrowStatus.CANCELLED)


def test_resolving_a_resolved_flag_again_returns_false_and_records_nothing() -> None:
    txn = _txn("flagged_resolved")

    assert txn.resolve(operator="ops", note="again", at=LATER) is False
    assert new_events(txn) == []


def test_resolve_of_a_refunded_flag_is_refused() -> None:
    txn = _txn("flagged_refunded")

    assert_refused(lambda: txn.resolve(operator="ops", note="x", at=LATER), txn, match="refunded")


@pytest.mark.parametrize(
    "state", ["pending", "held", "failed", "released", "refunded", "recorded_failed"]
)
def test_resolve_of_a_payment_never_flagged_is_refused(state: str) -> None:
    txn = _txn(state)

    assert_refused(
        lambda: txn.resolve(operator="ops", note="x", at=LATER), txn, match="never flagged"
    )


# -- replay ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ALL_STATES)
def test_replaying_a_transaction_gives_the_live_state(state: str) -> None:
    live = live_txn(state)
    events = live.collect_events()
    replayed = given(events)
    assert replayed.version == len(events) == live.version
    assert vars(replayed) == vars(live)


def test_held_money_is_exactly_completed_with_escrow_pending() -> None:
    for state in ALL_STATES:
        txn = _txn(state)
        assert txn.is_held == (
            txn.status is TxStatus.COMPLETED and txn.escrow_status is EscrowStatus.PENDING
        )
        assert txn.is_held == (state == "held")
