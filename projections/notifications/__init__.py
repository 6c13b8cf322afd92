"""The notifications outbox (a projector) and its messages; delivery is ``jobs.notifications``."""

from projections.notifications.outbox import CHANNELS, NOTIFICATIONS, Outbox, idempotency_key

__all__ = ["CHANNELS", "NOTIFICATIONS", "Outbox", "idempotency_key"]
