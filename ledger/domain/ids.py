"""Identifiers.

Users, wallets, a request's payment transaction and payment references have deterministic
UUIDs (uuid5 in one project namespace), so two processes racing to create the same thing
collide on version 1 of the same aggregate instead of creating two. Requests get a random
uuid4 unless the caller supplies one (which makes creation idempotent).
"""

import re
import uuid
from typing import Final

from ledger.errors import InvalidInput

NAMESPACE: Final = uuid.UUID("6f0c1a52-35c3-5a7e-9d0e-0b2a3e7c9f41")
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=-]{0,99}")


def check_external_id(external_id: object) -> str:
    """A host-application user id: 1-128 of letters, digits and ``_.:@-``."""
    if not isinstance(external_id, str) or not _EXTERNAL_ID.fullmatch(external_id):
        raise InvalidInput(
            f"invalid user id {external_id!r}: use 1-128 letters, digits or _.:@- "
            "(starting with a letter or digit)"
        )
    return external_id


def check_reference(reference: object) -> str:
    """A payment reference as Paystack accepts it: 1-100 of letters, digits and ``-._=``."""
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        raise InvalidInput(
            f"invalid payment reference {reference!r}: use 1-100 letters, digits or -._="
        )
    return reference


def parse_uuid(value: object, what: str = "id") -> uuid.UUID:
    """Parse a UUID given as text (or pass one through), raising ``InvalidInput``."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"malformed {what} {value!r}: expected a UUID") from None


def user_id(external_id: str) -> uuid.UUID:
    """The aggregate id of the user known to the host application as ``external_id``."""
    return uuid.uuid5(NAMESPACE, f"user:{check_external_id(external_id)}")


def wallet_id(user: uuid.UUID, currency: str) -> uuid.UUID:
    """The aggregate id of ``user``'s wallet in ``currency`` (one wallet per pair)."""
    return uuid.uuid5(NAMESPACE, f"wallet:{user}:{currency}")


def transaction_id(request: uuid.UUID) -> uuid.UUID:
    """The aggregate id of ``request``'s payment transaction: one attempt per request."""
    return uuid.uuid5(NAMESPACE, f"transaction:{request}")


def reference_id(reference: str) -> uuid.UUID:
    """The aggregate id of the index entry that maps a payment reference to its transaction."""
    return uuid.uuid5(NAMESPACE, f"reference:{reference}")


__all__ = [
    "NAMESPACE",
    "check_external_id",
    "check_reference",
    "parse_uuid",
    "reference_id",
    "transaction_id",
    "user_id",
    "wallet_id",
]
