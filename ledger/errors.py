"""The ledger's exception hierarchy.

Every error the product raises on purpose is a ``LedgerError``; the CLI and the HTTP API map
these classes to exit codes and statuses in one place each (``ledger.cli.errors``)::

    LedgerError
    ├── DomainError            a rule said no (illegal transition, bad amount, ...)
    │   ├── InvalidInput       a value is malformed (id, currency, amount, reference)
    │   └── InsufficientFunds  a debit would take a wallet below zero
    ├── NotFound               no aggregate with that id
    ├── ConfigError            a setting is missing or out of range; the store is unreachable
    │   └── SchemaError        the operational tables' schema is older than this release
    │                          needs (run ``ledger db upgrade``) or not one it knows
    └── ProviderError          the payment provider refused or answered nonsense
        └── ProviderUnavailable  network error, timeout, 5xx, 429: retrying may fix it

Messages are one line, say what was wrong, and never contain secrets.
"""


class LedgerError(Exception):
    """Root of every error the ledger raises deliberately."""


class DomainError(LedgerError):
    """A business rule refused the command; nothing was written."""


class InvalidInput(DomainError):
    """An input value is malformed or out of range."""


class InsufficientFunds(DomainError):
    """A debit would make a wallet balance negative."""


class NotFound(LedgerError):
    """The aggregate named by an id does not exist."""


class ConfigError(LedgerError):
    """A setting is missing or invalid, or the configured store cannot be reached."""


class SchemaError(ConfigError):
    """The store's operational tables are at a schema version this release cannot use
    (older: ``ledger db upgrade`` fixes it), or are not tables of a known release."""


class ProviderError(LedgerError):
    """The payment provider refused the call or answered something we cannot use."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or is overloaded; a later retry may succeed."""


__all__ = [
    "ConfigError",
    "DomainError",
    "InsufficientFunds",
    "InvalidInput",
    "LedgerError",
    "NotFound",
    "ProviderError",
    "ProviderUnavailable",
    "SchemaError",
]
