"""Wallet: open, credit, debit; the balance never goes negative; currencies never mix."""

import contextlib

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st

from ledger.domain import ids
from ledger.domain.money import Money
from ledger.domain.wallet import Wallet
from ledger.errors import DomainError, InsufficientFunds, InvalidInput
from tests.unit.helpers import (
    AT,
    CELEBRITY,
    LATER,
    TXN_ID,
    assert_refused,
    given,
    new_events,
    wallet_history,
)


def test_open_creates_an_empty_wallet_with_a_deterministic_id() -> None:
    wallet = Wallet.open(CELEBRITY, "NGN", AT)

    [event] = new_events(wallet)
    assert isinstance(event, Wallet.WalletCreated)
    assert event.originator_id == ids.wallet_id(CELEBRITY, "NGN")
    assert (event.user_id, event.currency) == (CELEBRITY, "NGN")
    assert (wallet.balance, wallet.credited, wallet.debited) == (0, 0, 0)


def test_open_in_an_unsupported_currency_is_refused() -> None:
    with pytest.raises(InvalidInput, match="currency"):
        Wallet.open(CELEBRITY, "EUR", AT)


def test_credit_adds_to_the_balance_and_names_the_transaction() -> None:
    wallet = given(wallet_history())

    wallet.credit(Money(487_500, "NGN"), TXN_ID, LATER)

    [event] = new_events(wallet)
    assert isinstance(event, Wallet.WalletCredited)
    assert (event.amount, event.transaction_id) == (487_500, TXN_ID)
    assert (wallet.balance, wallet.credited) == (487_500, 487_500)


def test_credit_in_another_currency_is_refused_and_writes_nothing() -> None:
    wallet = given(wallet_history(balance=100))

    assert_refused(lambda: wallet.credit(Money(100, "GHS"), TXN_ID, LATER), wallet, match="mix")
    assert wallet.balance == 100


def test_debit_takes_money_out_under_a_reference() -> None:
    wallet = given(wallet_history(balance=1_000))

    assert wallet.debit(Money(400, "NGN"), "payout-1", LATER) is True

    [event] = new_events(wallet)
    assert isinstance(event, Wallet.WalletDebited)
    assert (event.amount, event.reference) == (400, "payout-1")
    assert (wallet.balance, wallet.credited, wallet.debited) == (600, 1_000, 400)


def test_debit_of_the_whole_balance_leaves_zero() -> None:
    wallet = given(wallet_history(balance=1_000))

    assert wallet.debit(Money(1_000, "NGN"), "payout-1", LATER) is True
    assert wallet.balance == 0


def test_debit_above_the_balance_is_insufficient_funds_and_writes_nothing() -> None:
    wallet = given(wallet_history(balance=1_000))

    assert_refused(
        lambda: wallet.debit(Money(1_001, "NGN"), "payout-1", LATER),
        wallet,
        error=InsufficientFunds,
    )
    assert wallet.balance == 1_000
    assert issubclass(InsufficientFunds, DomainError)


def test_debit_from_an_empty_wallet_is_insufficient_funds() -> None:
    wallet = given(wallet_history())

    assert_refused(
        lambda: wallet.debit(Money(1, "NGN"), "payout-1", LATER), wallet, error=InsufficientFunds
    )


def test_repeating_a_debit_reference_returns_false_and_records_nothing() -> None:
    history = Wallet.open(CELEBRITY, "NGN", AT)
    history.credit(Money(1_000, "NGN"), TXN_ID, AT)
    history.debit(Money(400, "NGN"), "payout-1", AT)
    wallet = given(history.collect_events())

    assert wallet.debit(Money(400, "NGN"), "payout-1", LATER) is False
    assert new_events(wallet) == []
    assert wallet.balance == 600


def test_debit_in_another_currency_is_refused_and_writes_nothing() -> None:
    wallet = given(wallet_history(balance=1_000))

    assert_refused(lambda: wallet.debit(Money(10, "USD"), "payout-1", LATER), wallet, match="mix")


@hypothesis_given(
    st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=10_000)), max_size=30)
)
def test_balance_is_credits_minus_debits_and_never_negative(
    operations: list[tuple[bool, int]],
) -> None:
    wallet = Wallet.open(CELEBRITY, "NGN", AT)
    for number, (is_credit, amount) in enumerate(operations):
        if is_credit:
            wallet.credit(Money(amount, "NGN"), TXN_ID, AT)
        else:
            with contextlib.suppress(InsufficientFunds):
                wallet.debit(Money(amount, "NGN"), f"d-{number}", AT)
        assert wallet.balance == wallet.credited - wallet.debited >= 0
    replayed = given(wallet.collect_events())
    assert replayed.balance == wallet.balance
