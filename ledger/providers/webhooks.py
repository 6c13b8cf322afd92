"""Paystack webhook signatures: ``x-paystack-signature`` is the hex HMAC-SHA512 of the raw
request body, keyed with the secret key.

Check the bytes exactly as received, before any JSON parsing: re-serialised JSON (other key
order or spacing) has another signature. The comparison is constant-time. What this module
deliberately does not do: parse the event or act on it (the webhook handler does, after a
``True`` here), or tell a caller why a signature was refused (that would help a forger).
"""

import hashlib
import hmac

from pydantic import SecretStr


def sign(raw_body: bytes, secret: str | SecretStr) -> str:
    """The signature Paystack would send for ``raw_body`` (tests and the simulator use it)."""
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()


def verify_signature(raw_body: bytes, signature: str | None, secret: str | SecretStr) -> bool:
    """Whether ``signature`` is Paystack's for ``raw_body``. A missing or empty signature, or
    an empty secret, is never valid. Hex case and surrounding whitespace are ignored."""
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not signature or not key:
        return False
    expected = sign(raw_body, key).encode("ascii")
    given = signature.strip().lower().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)


__all__ = ["sign", "verify_signature"]
