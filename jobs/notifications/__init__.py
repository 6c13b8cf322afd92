"""Notifications: delivering the outbox (``projections.notifications``) by email and webhook."""
