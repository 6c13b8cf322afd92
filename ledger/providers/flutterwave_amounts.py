"""Flutterwave v4 amounts: major units as JSON decimals on the wire, integer minor units in the
ledger. Converted exactly, never through a float.

- ``to_major(300000, "NGN")`` is ``Decimal("3000.00")``; ``to_minor(Decimal("3000.44"),
  "NGN")`` is ``300044``. An amount that is not a whole number of minor units (``3000.445``
  NGN, ``10.5`` XOF), negative, not finite, a float or a bool is refused (``AmountError``).
- ``loads`` parses a body with every JSON number that has a fraction or exponent as a
  ``Decimal`` (so ``3000.44`` stays ``3000.44``), and refuses ``NaN``/``Infinity``.
- ``dumps`` writes a body with ``Decimal`` values as JSON numbers in plain notation.

What it deliberately does not do: round. A provider's amount that does not convert exactly is
an answer the ledger cannot trust, and the caller says so.
"""

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Final

# ISO 4217 minor-unit digits of the currencies Flutterwave pays out in.
EXPONENTS: Final = {
    "NGN": 2,
    "GHS": 2,
    "KES": 2,
    "ZAR": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "TZS": 2,
    "ZMW": 2,
    "MWK": 2,
    "SLL": 2,
    "SLE": 2,
    "ETB": 2,
    "EGP": 2,
    "MAD": 2,
    "UGX": 0,
    "RWF": 0,
    "XAF": 0,
    "XOF": 0,
}
_DECIMAL_TEXT = re.compile(r"\d{1,20}(\.\d{1,20})?")


class AmountError(ValueError):
    """An amount that cannot be converted exactly (the message names why, not the value)."""


def exponent(currency: str) -> int:
    """The currency's minor-unit digits; ``AmountError`` for a currency not in the table."""
    digits = EXPONENTS.get(currency)
    if digits is None:
        raise AmountError(f"unknown currency {currency[:8]!r}: its minor unit is not known")
    return digits


def to_major(minor: int, currency: str) -> Decimal:
    """``minor`` units as a major-unit decimal with exactly the currency's digits."""
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise AmountError("an amount in minor units must be a non-negative integer")
    digits = exponent(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def to_minor(value: object, currency: str) -> int:
    """A provider's major-unit amount (JSON integer, decimal, or decimal text) as minor units.
    ``AmountError`` unless it is a finite, non-negative, whole number of minor units."""
    if isinstance(value, bool | float):
        raise AmountError("an amount must be a JSON number parsed exactly, not a float or bool")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
        number = Decimal(value.strip())
    else:
        raise AmountError("an amount must be a number")
    if not number.is_finite() or number < 0:
        raise AmountError("an amount must be finite and not negative")
    try:
        scaled = number.scaleb(exponent(currency))
        whole = scaled.to_integral_value()
    except InvalidOperation:
        raise AmountError("an amount is out of range") from None
    if scaled != whole:
        raise AmountError(f"the amount is not a whole number of {currency} minor units")
    return int(whole)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


def loads(content: bytes | str) -> object:
    """JSON with fractional numbers as ``Decimal`` (``ValueError`` for bad JSON or NaN)."""
    return json.loads(content, parse_float=Decimal, parse_constant=_no_constant)


def _encode(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a Decimal in a body must be finite")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not money: use Decimal")
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value)


def dumps(value: object) -> bytes:
    """Compact JSON with ``Decimal`` written as a plain JSON number (``3000.00``)."""
    return _encode(value).encode()


__all__ = ["EXPONENTS", "AmountError", "dumps", "exponent", "loads", "to_major", "to_minor"]
