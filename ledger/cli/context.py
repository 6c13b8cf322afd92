"""What every CLI command shares: the invocation's parts, built by the composition root.

Commands get their ledger through ``@pass_ledger`` (a command that writes: a missing store is
created) or ``@pass_reader`` (a command that only reads: a store that holds no ledger is
refused with exit 2, and nothing is created); the plugin groups ask
``app_context().ledger(ctx, create=...)``. Either way the parts come from
``ledger.bootstrap.Components``, built on first use (so ``--help`` and usage errors never touch
the settings or the database) and closed when the command ends, whatever happened.
Parameter types here only parse text; the domain decides what is valid (one set of rules).

Id arguments are ``IdText`` and are resolved in the command with ``ids()`` (the one resolver,
``ledger.ids_lookup``: full id, 8-character prefix, payment reference). Interventions take
``@operator_option`` and call ``current_operator(given)`` before opening anything
(``ledger.operators``: ``--operator``, else ``LEDGER_OPERATOR`` from the settings, else the
OS user; shared accounts refused). Currencies take any case (``CURRENCY``).
"""

import functools
import re
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

import click

from ledger.application import Ledger
from ledger.bootstrap import Components
from ledger.config import Settings, load_settings
from ledger.domain.ids import parse_uuid
from ledger.errors import InvalidInput
from ledger.ids_lookup import IdResolver, check_id_text
from ledger.operators import OPERATOR_SETTING, resolve_operator

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """Per-invocation state: the settings and the parts, both made on first use."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._components: Components | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def components(self, ctx: click.Context, *, create: bool) -> Components:
        """The invocation's parts; ``create``: whether the command writes (see
        ``ledger.bootstrap``). The first call decides for the invocation."""
        if self._components is None:
            self._components = Components(self.settings(), create=create)
            ctx.find_root().call_on_close(self._close)
        return self._components

    def ledger(self, ctx: click.Context, *, create: bool) -> Ledger:
        return self.components(ctx, create=create).ledger()

    def _close(self) -> None:
        if self._components is not None:
            components, self._components = self._components, None
            components.close()


def app_context() -> AppContext:
    root = click.get_current_context().find_root()
    return root.ensure_object(AppContext)


def _passing_ledger(
    command: Callable[Concatenate[Ledger, P], R], *, create: bool
) -> Callable[P, R]:
    @functools.wraps(command)
    def with_ledger(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = click.get_current_context()
        return command(app_context().ledger(ctx, create=create), *args, **kwargs)

    return with_ledger


def pass_ledger(command: Callable[Concatenate[Ledger, P], R]) -> Callable[P, R]:
    """Call ``command``, which writes, with the invocation's ledger as its first argument
    (a missing store is created)."""
    return _passing_ledger(command, create=True)


def pass_reader(command: Callable[Concatenate[Ledger, P], R]) -> Callable[P, R]:
    """Call ``command``, which only reads, with the invocation's ledger as its first
    argument; a store that holds no ledger is refused (exit 2) and nothing is created."""
    return _passing_ledger(command, create=False)


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


class IdText(click.ParamType[str]):
    """An id argument as typed: the full id, a unique prefix of at least 8 of its first
    characters (``8ce098db``) or, with ``references``, the payment's provider reference.
    Only its shape is checked here (before anything is opened); the command resolves it with
    ``ids()`` (``ledger.ids_lookup``)."""

    name = "id"

    def __init__(self, what: str, *, references: bool = False) -> None:
        self.what = what
        self.references = references

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text or len(text) > 200 or not text.isprintable():
            self.fail(f"malformed {self.what} {text[:60]!r}", param, ctx)
        if not self.references:
            try:
                check_id_text(text, self.what)
            except InvalidInput as exc:
                raise InvalidInput(str(exc)) from None  # one line, as from the command
        return text


def ids() -> IdResolver:
    """The invocation's id resolver (full ids, unique prefixes, payment references), on the
    ledger the command already opened (a command that only reads opens it read-only)."""
    ctx = click.get_current_context()
    return app_context().components(ctx, create=False).ids()


class CurrencyParam(click.ParamType[str]):
    """An ISO 4217 code in any case (``ngn`` is NGN); the domain checks it is supported."""

    name = "currency"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return str(value).strip().upper()


CURRENCY = CurrencyParam()

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


def operator_option(command: F) -> F:
    """``--operator NAME``, passed to the command as ``operator`` (None when not given);
    the command turns it into a person with ``current_operator``."""
    option = click.option(
        "--operator",
        default=None,
        metavar="NAME",
        help=f"Who is acting (default: {OPERATOR_SETTING} from the environment or .env, else the "
        "OS user name; shared accounts such as root are refused).",
    )
    return option(command)


def current_operator(given: str | None) -> str:
    """The person acting in this invocation (``ledger.operators.resolve_operator``):
    ``--operator``, else ``LEDGER_OPERATOR`` from the settings (environment or ``.env``),
    else the OS user; a shared account or no name is ``InvalidInput`` (exit 2)."""
    return resolve_operator(given, app_context().settings().operator)


__all__ = [
    "CURRENCY",
    "AppContext",
    "CurrencyParam",
    "IdText",
    "MinorUnits",
    "UuidParam",
    "app_context",
    "current_operator",
    "ids",
    "operator_option",
    "pass_ledger",
    "pass_reader",
]
