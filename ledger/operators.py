"""Who is acting: the operator named on every intervention (admin commands, an operator's
decline), resolved the same way by every face.

The CLI takes, in order: ``--operator NAME``; else ``LEDGER_OPERATOR`` (a setting like any
other: the environment or ``.env``, see ``ledger.config``); else the OS account running the
command. Whatever the source, a name that does not name a person is refused with
``InvalidInput`` (exit 2) and one line saying what to do: empty, or a shared account
(``GENERIC_ACCOUNTS``: ``root``, ``admin``, ``administrator``, ``ubuntu``, ``postgres``...,
compared case-insensitively). The HTTP API names the caller by its bearer token's principal
(``token-<12 hex>``) instead: a token is issued to one backend, so it is never generic.

What this deliberately does not do: check that the person exists anywhere (the ledger keeps
no directory of operators), or let a shared account through because it was typed on purpose.
"""

import getpass
from collections.abc import Callable
from typing import Final

from ledger.app.inputs import MAX_TEXT
from ledger.errors import InvalidInput

OPERATOR_SETTING: Final = "LEDGER_OPERATOR"

# Shared accounts, service accounts and cloud images' default users: none names a person.
GENERIC_ACCOUNTS: Final = frozenset(
    {
        "root",
        "admin",
        "administrator",
        "ubuntu",
        "postgres",
        "debian",
        "ec2-user",
        "centos",
        "user",
        "operator",
        "nobody",
        "www-data",
    }
)


def is_generic(name: str | None) -> bool:
    """Whether ``name`` names no person: empty, blank, or a shared account."""
    return name is None or not name.strip() or name.strip().lower() in GENERIC_ACCOUNTS


def os_user() -> str | None:
    """The OS account running this process, or None when the system cannot tell."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def resolve_operator(
    given: str | None,
    configured: str | None,
    *,
    account: Callable[[], str | None] = os_user,
) -> str:
    """The person acting: ``given`` (``--operator``), else ``configured``
    (``LEDGER_OPERATOR``), else the OS ``account``. ``InvalidInput`` naming the source and
    the fix when the chosen name is empty, too long, or a shared account."""
    if given is not None:
        name, source = given, "--operator"
    elif configured is not None and configured.strip():
        name, source = configured, OPERATOR_SETTING
    else:
        name, source = account() or "", "the OS account"
    text = name.strip()
    hint = f"pass --operator YOUR_NAME or set {OPERATOR_SETTING}=YOUR_NAME (environment or .env)"
    if not text:
        raise InvalidInput(f"cannot tell who the operator is: {hint}")
    if is_generic(text):
        raise InvalidInput(
            f"operator {text!r} (from {source}) is a shared account, not a person: {hint}"
        )
    if len(text) > MAX_TEXT or not text.isprintable():
        raise InvalidInput(f"operator name from {source} is not one printable line: {hint}")
    return text


__all__ = ["GENERIC_ACCOUNTS", "OPERATOR_SETTING", "is_generic", "os_user", "resolve_operator"]
