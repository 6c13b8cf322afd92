"""Flutterwave amounts convert exactly between the ledger's integer minor units and v4's
major-unit decimals, per currency exponent, and anything that would need rounding is refused."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.providers.flutterwave_amounts import (
    EXPONENTS,
    AmountError,
    dumps,
    loads,
    to_major,
    to_minor,
)


def test_minor_units_become_major_units_with_the_currency_digits() -> None:
    assert to_major(300000, "NGN") == Decimal("3000.00")
    assert str(to_major(300000, "NGN")) == "3000.00"
    assert str(to_major(1, "KES")) == "0.01"
    assert str(to_major(1500, "UGX")) == "1500"


def test_major_units_come_back_as_exact_minor_units() -> None:
    assert to_minor(Decimal("3000.44"), "NGN") == 300044
    assert to_minor(Decimal("3000.4"), "NGN") == 300040
    assert to_minor(3000, "NGN") == 300000
    assert to_minor("1250.50", "NGN") == 125050
    assert to_minor(Decimal("1500"), "XOF") == 1500


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        (Decimal("3000.445"), "NGN"),  # a third decimal place: not a kobo amount
        (Decimal("10.5"), "XOF"),  # XOF has no minor unit
        (Decimal("-1"), "NGN"),
        (Decimal("NaN"), "NGN"),
        (Decimal("Infinity"), "NGN"),
        (3000.44, "NGN"),  # a float is never trusted with money
        (True, "NGN"),
        ("3,000.00", "NGN"),
        ("1e3", "NGN"),
        (None, "NGN"),
        (Decimal("1.00"), "XYZ"),  # a currency whose minor unit is unknown
    ],
)
def test_an_amount_that_does_not_convert_exactly_is_refused(value: object, currency: str) -> None:
    with pytest.raises(AmountError):
        to_minor(value, currency)


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_only_non_negative_integers_leave_as_major_units(bad: object) -> None:
    with pytest.raises(AmountError):
        to_major(bad, "NGN")  # type: ignore[arg-type]


def test_bodies_keep_decimals_exact_both_ways() -> None:
    body = dumps({"amount": {"value": Decimal("3000.10"), "applies_to": "destination_currency"}})
    assert body == b'{"amount":{"value":3000.10,"applies_to":"destination_currency"}}'
    parsed = loads(b'{"value": 0.1, "n": 3, "big": 123456789012345678.99}')
    assert parsed == {"value": Decimal("0.1"), "n": 3, "big": Decimal("123456789012345678.99")}


def test_a_float_cannot_be_written_and_nan_cannot_be_read() -> None:
    with pytest.raises(TypeError):
        dumps({"value": 0.1})
    with pytest.raises(ValueError, match="not a number"):
        loads(b'{"value": NaN}')


@given(
    minor=st.integers(min_value=0, max_value=10**15),
    currency=st.sampled_from(sorted(EXPONENTS)),
)
def test_any_minor_amount_survives_the_wire_unchanged(minor: int, currency: str) -> None:
    wire = dumps({"value": to_major(minor, currency)})
    value = loads(wire)
    assert isinstance(value, dict)
    assert to_minor(value["value"], currency) == minor
