"""The escrow ledger: an event-sourced money core for a fan-to-celebrity marketplace.

Public surface: ``Ledger`` (the application service), ``Result``, the settings loader and the
exception tree (``ledger.errors``).
"""

from ledger.application import Ledger, Result
from ledger.config import Settings, load_settings
from ledger.errors import (
    ConfigError,
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidInput,
    LedgerError,
    NotFound,
    PaymentBusy,
    ProviderError,
    ProviderUnavailable,
)

__all__ = [
    "ConfigError",
    "Conflict",
    "DomainError",
    "InsufficientFunds",
    "InvalidInput",
    "Ledger",
    "LedgerError",
    "NotFound",
    "PaymentBusy",
    "ProviderError",
    "ProviderUnavailable",
    "Result",
    "Settings",
    "load_settings",
]
