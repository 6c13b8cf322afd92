"""The ledger's exception hierarchy: every error the product raises on purpose, in one tree.

Each face maps every class here explicitly, in one place: the CLI to an exit code
(``ledger.cli.errors``), the HTTP API to a status and code (``ledger.api.errors``);
``tests/unit/test_error_mapping.py`` fails when a class has no mapping in either::

    LedgerError
    ├── DomainError              a rule said no (illegal transition, bad amount, ...)
    │   ├── InvalidInput         a value is malformed (id, currency, amount, reference)
    │   │   ├── WebhookSignatureInvalid  a webhook's signature is missing or wrong
    │   │   └── WebhookMalformed         a signed webhook the ledger cannot read
    │   └── InsufficientFunds    a debit would take a wallet below zero
    ├── NotFound                 no aggregate with that id
    ├── ConfigError              a setting is missing or out of range; the store is unreachable
    │   │                        or (for a command that only reads) holds no ledger
    │   └── SchemaError          the operational tables' schema is older than this release
    │                            needs (run ``ledger db upgrade``) or not one it knows
    ├── ProviderError            the payment provider refused or answered nonsense
    │   ├── ProviderUnavailable    network error, timeout, 5xx, 429: retrying may fix it
    │   │   └── PayoutLookupIncomplete  a search by reference stopped early: nothing decided
    │   ├── ProviderMisconfigured  401/403, a non-JSON or HTML body, a wrong base URL: our
    │   │                          side is set up wrong; no answer about anything
    │   ├── ProviderAnswerInvalid  a JSON answer that cannot be trusted about this call
    │   │                          (schema, unknown status, another reference)
    │   ├── RefundRefused          Paystack definitively refused a refund (its 4xx JSON
    │   │                          refusal, e.g. "Transaction has been fully reversed"):
    │   │                          nothing was created
    │   └── TransferRefused        Flutterwave refused a payout request; nothing was created
    ├── Conflict                 concurrent writers kept winning; the retries gave up
    └── PaymentBusy              another command holds the payment (a refund in flight)

``Conflict`` and ``PaymentBusy`` are transient: nothing was written, and the same command a
moment later may succeed (the API answers them 409 with ``Retry-After``).
Messages are one line, say what was wrong, and never contain secrets.
"""

from dataclasses import dataclass


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


@dataclass(frozen=True)
class AnswerDigest:
    """What an error may say about a provider's answer: the first 16 hex characters of the
    body's SHA-256, the HTTP status and a one-line reason. Never the body, never a secret."""

    sha256: str
    http_status: int | None
    reason: str

    def __str__(self) -> str:
        status = "none" if self.http_status is None else str(self.http_status)
        return f"http={status} body_sha256={self.sha256} reason={self.reason}"


class ProviderMisconfigured(ProviderError):
    """The provider's answer says our side is set up wrong (a rejected key, a wrong base URL,
    something that is not the provider's API answering). It says nothing about any payment:
    stop, touch nothing, and tell an operator. ``digest`` describes the answer."""

    def __init__(self, message: str, digest: AnswerDigest) -> None:
        super().__init__(message)
        self.digest = digest


class ProviderAnswerInvalid(ProviderError):
    """The provider answered in JSON, but not something the ledger can trust about this call
    (schema-invalid, ``data`` null, an unknown status, a body about another reference, an
    absurd amount). Leave the payment as it is and flag it for an operator with ``digest``."""

    def __init__(self, message: str, digest: AnswerDigest) -> None:
        super().__init__(message)
        self.digest = digest


class Conflict(LedgerError):
    """Concurrent writers kept winning; the command was retried and gave up. Retry later."""


class PaymentBusy(LedgerError):
    """Another command holds this payment (e.g. a refund is in flight); nothing was written."""


class TransferRefused(ProviderError):
    """Flutterwave refused a payout request with its documented error body (``error.type``,
    ``error.code``): nothing was created. ``error_type`` is e.g. ``REQUEST_NOT_VALID`` or
    ``INSUFFICIENT_BALANCE``."""

    def __init__(self, message: str, *, http_status: int, error_type: str, error_code: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.error_type = error_type
        self.error_code = error_code


class PayoutLookupIncomplete(ProviderUnavailable):
    """A search for a transfer by reference stopped before the end of the list (its page
    limit): the reference may exist further on. Nothing is decided; search again later."""


class WebhookSignatureInvalid(InvalidInput):
    """A provider webhook's signature is missing or wrong (answer 401; act on nothing)."""


class WebhookMalformed(InvalidInput):
    """A correctly signed webhook the ledger cannot read (not JSON, fields missing, an
    unknown status, an amount that does not convert exactly)."""


class RefundRefused(ProviderError):
    """The provider answered a refund with a definitive refusal (an HTTP 400/404/422 in its
    JSON error shape): no refund was created, and sending the same one again gets the same
    answer. ``provider_message`` is the provider's own words (one line, never a secret),
    ``code`` and ``type`` its error code and type when it sent them."""

    def __init__(
        self,
        message: str,
        *,
        provider_message: str,
        http_status: int,
        code: str | None = None,
        type_: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider_message = provider_message
        self.http_status = http_status
        self.code = code
        self.type = type_


__all__ = [
    "AnswerDigest",
    "ConfigError",
    "Conflict",
    "DomainError",
    "InsufficientFunds",
    "InvalidInput",
    "LedgerError",
    "NotFound",
    "PaymentBusy",
    "PayoutLookupIncomplete",
    "ProviderAnswerInvalid",
    "ProviderError",
    "ProviderMisconfigured",
    "ProviderUnavailable",
    "RefundRefused",
    "SchemaError",
    "TransferRefused",
    "WebhookMalformed",
    "WebhookSignatureInvalid",
]
