"""The machine form of a currency's summary, shared by ``ledger report summary`` and
``GET /reports/summary`` so both faces print the same figures (neither imports the other)."""

from typing import Any

from ledger.views import scalar
from projections.queries import CurrencySummary

MONEY_FIGURES = ("verified", "held", "released", "platform_fees", "refunded", "in_review_amount")


def summary_view(s: CurrencySummary) -> dict[str, Any]:
    """One currency's summary in the machine format (counts by status as objects)."""
    return {
        "currency": s.currency,
        **{name: getattr(s, name) for name in MONEY_FIGURES},
        "in_review_count": s.in_review_count,
        "payments_by_status": dict(s.payments_by_status),
        "escrow_by_status": dict(s.escrow_by_status),
        "requests_by_status": dict(s.requests_by_status),
        "oldest_held_at": scalar(s.oldest_held_at),
        "oldest_held_age_seconds": s.oldest_held_age_seconds,
    }


__all__ = ["MONEY_FIGURES", "summary_view"]
