"""The CLI's composition root and what every command shares.

``build_ledger`` is the one place that turns settings into a ``Ledger``. Commands get theirs
through ``@pass_ledger``: built on first use (so ``--help`` and usage errors never touch the
settings or the database) and closed when the command ends, whatever happened.
Parameter types here only parse text; the domain decides what is valid (one set of rules).
"""

import functools
import getpass
import os
import re
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

import click

from ledger.application import Ledger
from ledger.config import Settings, load_settings
from ledger.domain.ids import parse_uuid
from ledger.errors import InvalidInput
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import PaymentProvider

P = ParamSpec("P")
R = TypeVar("R")

OPERATOR_ENV = "LEDGER_OPERATOR"


def build_provider(settings: Settings) -> PaymentProvider | None:
    """The configured payment provider: a ``PaystackClient`` when ``PAYSTACK_SECRET_KEY`` is
    set, else None. The caller closes it. Building it connects to nothing."""
    if settings.paystack_secret_key is None:
        return None
    return PaystackClient.from_settings(settings)


def build_ledger(settings: Settings, *, provider: PaymentProvider | None = None) -> Ledger:
    """The composition root: a ``Ledger`` on the configured store. The caller closes it
    with ``close_ledger`` (which closes its provider too).

    Without ``provider``, a ``PaystackClient`` when ``PAYSTACK_SECRET_KEY`` is set; otherwise
    none, and commands that need one (a refund, say) fail with a ``ConfigError`` naming the
    missing setting. Building the client connects to nothing."""
    if provider is not None or settings.paystack_secret_key is None:
        return Ledger.from_settings(settings, provider=provider)
    client = PaystackClient.from_settings(settings)
    try:
        return Ledger.from_settings(settings, provider=client)
    except BaseException:
        client.close()
        raise


def close_ledger(ledger: Ledger) -> None:
    """Close ``ledger`` and its provider's connections, if it has any to close."""
    try:
        ledger.close()
    finally:
        close = getattr(ledger.provider, "close", None)
        if callable(close):
            close()


class AppContext:
    """Per-invocation state: the settings and the ledger, both made on first use."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._ledger: Ledger | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def ledger(self, ctx: click.Context) -> Ledger:
        if self._ledger is None:
            self._ledger = build_ledger(self.settings())
            ctx.find_root().call_on_close(self._close)
        return self._ledger

    def _close(self) -> None:
        if self._ledger is not None:
            ledger, self._ledger = self._ledger, None
            close_ledger(ledger)


def app_context() -> AppContext:
    root = click.get_current_context().find_root()
    return root.ensure_object(AppContext)


def pass_ledger(command: Callable[Concatenate[Ledger, P], R]) -> Callable[P, R]:
    """Call ``command`` with the invocation's ledger as its first argument."""

    @functools.wraps(command)
    def with_ledger(*args: P.args, **kwargs: P.kwargs) -> R:
        return command(app_context().ledger(click.get_current_context()), *args, **kwargs)

    return with_ledger


class UuidParam(click.ParamType[UUID]):
    """A UUID argument; a malformed one is a usage error (exit 2)."""

    name = "uuid"

    def __init__(self, what: str) -> None:
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> UUID:
        try:
            return parse_uuid(value, self.what)
        except InvalidInput as exc:
            self.fail(str(exc), param, ctx)


_INTEGER = re.compile(r"[+-]?[0-9]+")


class MinorUnits(click.ParamType[int]):
    """An amount in minor units (kobo, pesewas, cents): a plain integer such as 500000.
    Only the syntax is checked here; ``Money`` checks the range (positive, at most 10^12)."""

    name = "minor_units"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if not _INTEGER.fullmatch(text):
            self.fail(
                f"amount must be an integer number of minor units (500000 for NGN 5,000.00), "
                f"got {text!r}",
                param,
                ctx,
            )
        return int(text)


def default_operator() -> str:
    """Who runs an admin command when ``--operator`` is not given: ``$LEDGER_OPERATOR``,
    else the OS user name."""
    name = os.environ.get(OPERATOR_ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        raise InvalidInput(
            f"cannot tell who the operator is: pass --operator NAME or set {OPERATOR_ENV}"
        ) from None


__all__ = [
    "AppContext",
    "MinorUnits",
    "UuidParam",
    "app_context",
    "build_ledger",
    "build_provider",
    "close_ledger",
    "default_operator",
    "pass_ledger",
]
