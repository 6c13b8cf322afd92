"""Money: integer minor units with an ISO 4217 currency code.

Invariants: amounts are ``int`` (never float, never bool), strictly positive and at most
``MAX_AMOUNT`` minor units; the currency is one Paystack settles. Arithmetic never mixes
currencies. Machine interfaces carry the minor units; ``format_major`` is for people.
"""

from dataclasses import dataclass
from typing import Final

from ledger.errors import InvalidInput

CURRENCIES: Final = frozenset({"NGN", "GHS", "ZAR", "KES", "USD"})
MINOR_UNIT_DIGITS: Final = {"NGN": 2, "GHS": 2, "ZAR": 2, "KES": 2, "USD": 2}
MAX_AMOUNT: Final = 10**12


def check_currency(currency: object) -> str:
    """Return ``currency`` if it is a supported ISO 4217 code, else raise ``InvalidInput``."""
    if not isinstance(currency, str) or currency not in CURRENCIES:
        supported = ", ".join(sorted(CURRENCIES))
        raise InvalidInput(f"unsupported currency {currency!r}: expected one of {supported}")
    return currency


def check_amount(amount: object) -> int:
    """Return ``amount`` if it is a positive integer of at most ``MAX_AMOUNT`` minor units."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(f"amount must be an integer number of minor units, got {amount!r}")
    if amount <= 0:
        raise InvalidInput(f"amount must be positive, got {amount}")
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"amount {amount} is above the limit of {MAX_AMOUNT} minor units")
    return amount


@dataclass(frozen=True, slots=True)
class Money:
    """A positive amount in minor units of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        check_amount(self.amount)
        check_currency(self.currency)

    def format(self) -> str:
        """``NGN 5,000.00`` for 500000 kobo."""
        return format_major(self.amount, self.currency)


def format_major(amount: int, currency: str) -> str:
    """Format minor units as major units for people: ``format_major(500000, "NGN")``
    is ``"NGN 5,000.00"``. Works for zero and negative balances too (reports)."""
    digits = MINOR_UNIT_DIGITS[check_currency(currency)]
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**digits)
    return f"{currency} {sign}{major:,}.{minor:0{digits}d}"


__all__ = ["CURRENCIES", "MAX_AMOUNT", "Money", "check_amount", "check_currency", "format_major"]
