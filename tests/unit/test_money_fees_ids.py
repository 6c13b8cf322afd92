"""Money (integer minor units), the platform fee split, and identifiers."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import ids
from ledger.domain.fees import MAX_FEE_BPS, check_fee_bps, split_fee
from ledger.domain.money import CURRENCIES, MAX_AMOUNT, Money, format_major
from ledger.errors import InvalidInput

# -- Money -----------------------------------------------------------------------------


@pytest.mark.parametrize("currency", sorted(CURRENCIES))
def test_money_accepts_positive_integer_amounts_in_paystack_currencies(currency: str) -> None:
    assert Money(1, currency).amount == 1
    assert Money(MAX_AMOUNT, currency).amount == 10**12


def test_the_supported_currencies_are_those_paystack_settles() -> None:
    assert {"NGN", "GHS", "ZAR", "KES", "USD"} == CURRENCIES


@pytest.mark.parametrize(
    ("amount", "match"),
    [
        (0, "positive"),
        (-1, "positive"),
        (-500_000, "positive"),
        (MAX_AMOUNT + 1, "limit"),
        (10**15, "limit"),
        (1.0, "integer"),
        (500000.0, "integer"),
        (True, "integer"),
        (False, "integer"),
        ("500000", "integer"),
        (None, "integer"),
    ],
)
def test_money_refuses_amounts_that_are_not_positive_bounded_integers(
    amount: object, match: str
) -> None:
    with pytest.raises(InvalidInput, match=match):
        Money(amount, "NGN")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["EUR", "ngn", "", "NGN ", None, 566])
def test_money_refuses_unknown_currencies(currency: object) -> None:
    with pytest.raises(InvalidInput, match="currency"):
        Money(100, currency)  # type: ignore[arg-type]


@given(st.integers(min_value=1, max_value=MAX_AMOUNT), st.sampled_from(sorted(CURRENCIES)))
def test_money_equality_is_by_amount_and_currency(amount: int, currency: str) -> None:
    assert Money(amount, currency) == Money(amount, currency)
    assert Money(amount, currency) != Money(amount, "USD" if currency != "USD" else "NGN")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (500_000, "NGN", "NGN 5,000.00"),
        (0, "NGN", "NGN 0.00"),
        (1, "GHS", "GHS 0.01"),
        (99, "USD", "USD 0.99"),
        (-487_500, "NGN", "NGN -4,875.00"),
        (-1, "KES", "KES -0.01"),
        (MAX_AMOUNT, "ZAR", "ZAR 10,000,000,000.00"),
    ],
)
def test_format_major_shows_major_units_for_people(amount: int, currency: str, text: str) -> None:
    assert format_major(amount, currency) == text


def test_money_formats_itself() -> None:
    assert Money(500_000, "NGN").format() == "NGN 5,000.00"


# -- fees ------------------------------------------------------------------------------


def test_a_250_bps_fee_on_500000_is_12500_and_the_payout_487500() -> None:
    assert split_fee(500_000, 250) == (12_500, 487_500)


def test_the_fee_is_rounded_down_in_the_celebritys_favour() -> None:
    assert split_fee(1, 9_999) == (0, 1)
    assert split_fee(199, 50) == (0, 199)
    assert split_fee(201, 50) == (1, 200)


@given(
    amount=st.integers(min_value=1, max_value=MAX_AMOUNT),
    bps=st.integers(min_value=0, max_value=MAX_FEE_BPS),
)
def test_fee_plus_payout_is_the_amount_over_the_whole_bps_range(amount: int, bps: int) -> None:
    fee, payout = split_fee(amount, bps)
    assert fee + payout == amount
    assert 0 <= fee < amount
    assert payout >= 1
    assert fee == amount * bps // 10_000


@given(bps=st.one_of(st.integers(max_value=-1), st.integers(min_value=MAX_FEE_BPS + 1)))
def test_a_fee_outside_0_to_9999_bps_is_refused(bps: int) -> None:
    with pytest.raises(InvalidInput, match="basis points"):
        split_fee(500_000, bps)


@pytest.mark.parametrize("bps", [10_000, -1, 2.5, True, "250", None])
def test_check_fee_bps_refuses_non_integers_and_out_of_range(bps: object) -> None:
    with pytest.raises(InvalidInput, match="basis points"):
        check_fee_bps(bps)


def test_check_fee_bps_accepts_the_bounds() -> None:
    assert check_fee_bps(0) == 0
    assert check_fee_bps(9_999) == MAX_FEE_BPS == 9_999


# -- ids -------------------------------------------------------------------------------


def test_user_ids_are_deterministic_per_external_id() -> None:
    assert ids.user_id("fan-1") == ids.user_id("fan-1")
    assert ids.user_id("fan-1") != ids.user_id("fan-2")
    assert ids.user_id("fan-1").version == 5


def test_wallet_ids_are_deterministic_per_user_and_currency() -> None:
    user = ids.user_id("celebrity-1")
    assert ids.wallet_id(user, "NGN") == ids.wallet_id(user, "NGN")
    assert ids.wallet_id(user, "NGN") != ids.wallet_id(user, "GHS")
    assert ids.wallet_id(user, "NGN") != ids.wallet_id(ids.user_id("celebrity-2"), "NGN")


def test_user_wallet_transaction_and_reference_ids_never_coincide() -> None:
    user = ids.user_id("x")
    derived = {ids.wallet_id(user, "NGN"), ids.transaction_id(user), ids.reference_id("x")}
    assert len({user, *derived}) == 4


def test_transaction_and_reference_ids_are_deterministic() -> None:
    request = uuid.UUID("00000000-0000-4000-8000-000000000001")
    assert ids.transaction_id(request) == ids.transaction_id(uuid.UUID(str(request)))
    assert ids.reference_id("ref-1") == ids.reference_id("ref-1") != ids.reference_id("ref-2")


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}", fullmatch=True))
def test_any_valid_external_id_is_accepted_and_mapped_stably(external_id: str) -> None:
    assert ids.check_external_id(external_id) == external_id
    assert ids.user_id(external_id) == ids.user_id(external_id)


@pytest.mark.parametrize(
    "external_id", ["", " ", "_lead", "has space", "a/b", "x" * 129, "é", None, 7]
)
def test_check_external_id_refuses_malformed_ids(external_id: object) -> None:
    with pytest.raises(InvalidInput, match="invalid user id"):
        ids.check_external_id(external_id)


def test_check_external_id_accepts_128_characters() -> None:
    assert ids.check_external_id("u" * 128) == "u" * 128


@pytest.mark.parametrize("reference", ["ref-1", "T123.abc_def=", "A", "r" * 100])
def test_check_reference_accepts_paystack_references(reference: str) -> None:
    assert ids.check_reference(reference) == reference


@pytest.mark.parametrize("reference", ["", "-ref", "ref 1", "ref@1", "r" * 101, None, 12])
def test_check_reference_refuses_malformed_references(reference: object) -> None:
    with pytest.raises(InvalidInput, match="invalid payment reference"):
        ids.check_reference(reference)


def test_parse_uuid_accepts_text_and_passes_uuids_through() -> None:
    value = uuid.UUID("6f0c1a52-35c3-5a7e-9d0e-0b2a3e7c9f41")
    assert ids.parse_uuid(str(value)) == value
    assert ids.parse_uuid(value.hex) == value
    assert ids.parse_uuid(value) is value


@pytest.mark.parametrize("value", ["", "not-a-uuid", "1234", None, 42])
def test_parse_uuid_refuses_malformed_ids_naming_what_it_parsed(value: object) -> None:
    with pytest.raises(InvalidInput, match="malformed request id"):
        ids.parse_uuid(value, "request id")


def test_format_major_refuses_an_unknown_currency_with_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unsupported currency"):
        format_major(100, "XYZ")
