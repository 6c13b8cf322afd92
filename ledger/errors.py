"""The ledger's exception hierarchy: every error the product raises on purpose, in one tree.

Each face maps every class here explicitly, in one place: the CLI to an exit code
(``ledger.cli.errors``), the HTTP API to a status and code (``ledger.api.errors``);
``tests/unit/test_error_mapping.py`` fails when a class has no mapping in either::

    LedgerError
    ├── DomainError              a rule said no (illegal transition, bad amount, ...)
    │   ├── InvalidInput         a value is malformed (id, currency, amount, reference)
    │   └── InsufficientFunds    a debit would take a wallet below zero
    ├── NotFound                 no aggregate with that id
    ├── ConfigError              a setting is missing or out of range; the store is unreachable
    │                            or (for a command that only reads) holds no ledger
    ├── ProviderError            the payment provider refused or answered nonsense
    │   └── ProviderUnavailable  network error, timeout, 5xx, 429: retrying may fix it
    ├── Conflict                 concurrent writers kept winning; the retries gave up
    └── PaymentBusy              another command holds the payment (a refund in flight)

``Conflict`` and ``PaymentBusy`` are transient: nothing was written, and the same command a
moment later may succeed (the API answers them 409 with ``Retry-After``).
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


class ProviderError(LedgerError):
    """The payment provider refused the call or answered something we cannot use."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or is overloaded; a later retry may succeed."""


class Conflict(LedgerError):
    """Concurrent writers kept winning; the command was retried and gave up. Retry later."""


class PaymentBusy(LedgerError):
    """Another command holds this payment (e.g. a refund is in flight); nothing was written."""


__all__ = [
    "ConfigError",
    "Conflict",
    "DomainError",
    "InsufficientFunds",
    "InvalidInput",
    "LedgerError",
    "NotFound",
    "PaymentBusy",
    "ProviderError",
    "ProviderUnavailable",
]
