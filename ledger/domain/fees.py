"""The platform fee, in basis points of a released payment.

``fee = amount * bps // 10000`` (rounded down, in the celebrity's favour) and
``payout = amount - fee``, so ``fee + payout == amount`` exactly. ``bps`` ranges over
0..9999: at 10000 or more the celebrity would get nothing, which is refused.
"""

from typing import Final

from ledger.errors import InvalidInput

MAX_FEE_BPS: Final = 9999


def check_fee_bps(bps: object) -> int:
    """Return ``bps`` if it is an integer in 0..9999, else raise ``InvalidInput``."""
    if isinstance(bps, bool) or not isinstance(bps, int) or not 0 <= bps <= MAX_FEE_BPS:
        raise InvalidInput(f"platform fee must be 0..{MAX_FEE_BPS} basis points, got {bps!r}")
    return bps


def split_fee(amount: int, bps: int) -> tuple[int, int]:
    """Return ``(fee, payout)`` for ``amount`` minor units at ``bps`` basis points."""
    check_fee_bps(bps)
    fee = amount * bps // 10_000
    return fee, amount - fee


__all__ = ["MAX_FEE_BPS", "check_fee_bps", "split_fee"]
