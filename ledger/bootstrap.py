"""The composition root: everything a process runs on, built from ``Settings`` in one place.

Every face asks it for its parts: the CLI (``ledger.cli.context``), the HTTP API
(``ledger.api.runtime``), the job runner and the demo (``jobs``), the projection follower and
the read side (``projections.wiring``, which builds the read tables beside a ledger from
here: ``ledger`` never imports ``projections``; for the same reason the id resolver,
``ids()``, gets its prefix search from the ``ledger.id_index`` entry point). No face turns
settings into a ``Ledger``, a provider client, the Flutterwave token manager, the webhook
handler, the id resolver or the contacts table itself. (The API's idempotency store is the
API's own table; the API builds it.)

``Components(settings, create=...)`` builds each part on first use (so ``--help`` and
``/healthz`` touch nothing) and ``close()`` closes what it built, in reverse order; a part it
was given (a test's ledger or fake provider) is the giver's to close. Thread-safe.

``create`` is the one decision between writing and reading (``ledger.app.store``):

- ``create=True``, for what writes (commands that record, ``serve``, ``jobs run``,
  ``projections run``, the demo): a missing store is created, as eventsourcing does;
- ``create=False``, for what only reads (reports, ``show`` commands, audit, projection
  status): the store must already hold a ledger, else ``ConfigError("no ledger at URL: set
  LEDGER_DATABASE_URL or run a command that writes")``, and no file, schema or table is made.

What it deliberately does not do: read the environment (``load_settings`` does, once, in the
face), connect at import, or keep anything global: build one per process or CLI invocation.
"""

import threading
from collections.abc import Callable
from typing import Final

from ledger.application import Ledger
from ledger.clock import Clock, system_clock
from ledger.config import Settings
from ledger.contacts import Contacts
from ledger.ids_lookup import IdResolver, load_prefix_index
from ledger.persistence import StoreConfig, store_config
from ledger.providers.flutterwave import FlutterwaveTokenManager
from ledger.providers.paystack import PaystackClient
from ledger.providers.port import PaymentProvider
from ledger.webhooks import PaystackWebhooks, build_webhooks


class _FromSettings:
    """The default of ``provider=``: build it from the settings (``None`` means none)."""

    def __repr__(self) -> str:
        return "FROM_SETTINGS"


FROM_SETTINGS: Final = _FromSettings()


def build_provider(settings: Settings) -> PaymentProvider | None:
    """The configured payment provider: a ``PaystackClient`` when ``PAYSTACK_SECRET_KEY`` is
    set, else None (commands that need one then fail with a ``ConfigError`` naming the
    setting). The caller closes it. Building it connects to nothing."""
    if settings.paystack_secret_key is None:
        return None
    return PaystackClient.from_settings(settings)


def build_tokens(settings: Settings, *, clock: Clock = system_clock) -> FlutterwaveTokenManager:
    """The Flutterwave token manager on the ledger's database (disabled without its
    ``FLUTTERWAVE_*`` settings). The caller closes it. Connects to nothing until used."""
    return FlutterwaveTokenManager.from_settings(settings, clock=clock)


def build_ledger(
    settings: Settings,
    *,
    create: bool,
    clock: Clock = system_clock,
    wall_clock: Clock = system_clock,
    provider: PaymentProvider | _FromSettings | None = FROM_SETTINGS,
) -> Ledger:
    """A ``Ledger`` on the configured store (see ``create`` in the module docstring), with
    ``provider`` or the one the settings name. Close it with ``close_ledger``, which closes a
    provider built here too."""
    if not isinstance(provider, _FromSettings):
        return Ledger.from_settings(
            settings, create=create, clock=clock, wall_clock=wall_clock, provider=provider
        )
    built = build_provider(settings)
    try:
        return Ledger.from_settings(
            settings, create=create, clock=clock, wall_clock=wall_clock, provider=built
        )
    except BaseException:
        _close(built)
        raise


def close_ledger(ledger: Ledger) -> None:
    """Close ``ledger`` and its provider's connections, if it has any to close."""
    try:
        ledger.close()
    finally:
        _close(ledger.provider)


def read_store(settings: Settings) -> StoreConfig:
    """The store, for a reader of its tables that needs no ``Ledger``: ``ConfigError`` (no
    ledger) when it does not hold one. Creates nothing."""
    Ledger.from_settings(settings, create=False).close()
    return store_config(settings.database_url, schema=settings.postgres_schema)


def _close(part: object) -> None:
    close = getattr(part, "close", None)
    if callable(close):
        close()


class Components:
    """What one process (or CLI invocation) runs on: each part built on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        create: bool,
        clock: Clock = system_clock,
        wall_clock: Clock = system_clock,
        provider: PaymentProvider | _FromSettings | None = FROM_SETTINGS,
        ledger: Ledger | None = None,
    ) -> None:
        self.settings = settings
        self.create = create
        self.clock = clock
        self.wall_clock = wall_clock
        self._given_provider = provider
        self._provider: PaymentProvider | None = None
        self._provider_ready = not isinstance(provider, _FromSettings)
        self._ledger = ledger
        self._tokens: FlutterwaveTokenManager | None = None
        self._webhooks: PaystackWebhooks | None = None
        self._contacts: Contacts | None = None
        self._ids: IdResolver | None = None
        self._built: list[Callable[[], None]] = []  # closers, run newest first
        self._lock = threading.RLock()

    def provider(self) -> PaymentProvider | None:
        """The payment provider: the given ledger's, the one given, or built from the
        settings (None without ``PAYSTACK_SECRET_KEY``)."""
        with self._lock:
            if self._ledger is not None:
                return self._ledger.provider
            if not isinstance(self._given_provider, _FromSettings):
                return self._given_provider
            if not self._provider_ready:
                self._provider = build_provider(self.settings)
                self._provider_ready = True
                self._built.append(lambda: _close(self._provider))
            return self._provider

    def ledger(self) -> Ledger:
        """The ledger: the one given, or opened on the store (``create`` says how)."""
        with self._lock:
            if self._ledger is None:
                ledger = Ledger.from_settings(
                    self.settings,
                    create=self.create,
                    clock=self.clock,
                    wall_clock=self.wall_clock,
                    provider=self.provider(),
                )
                self._ledger = ledger
                self._built.append(ledger.close)
            return self._ledger

    def tokens(self) -> FlutterwaveTokenManager:
        """The Flutterwave token manager (on wall time: a token's lifetime is real)."""
        with self._lock:
            if self._tokens is None:
                self._tokens = tokens = build_tokens(self.settings, clock=self.wall_clock)
                self._built.append(tokens.close)
            return self._tokens

    def webhooks(self) -> PaystackWebhooks:
        """The Paystack webhook handler on the ledger, recording deliveries beside it."""
        with self._lock:
            if self._webhooks is None:
                handler = build_webhooks(self.settings, self.ledger(), clock=self.wall_clock)
                self._webhooks = handler
                self._built.append(handler.store.close)
            return self._webhooks

    def contacts(self) -> Contacts:
        """The contacts table (users' addresses: personal data, never in the event log)."""
        with self._lock:
            if self._contacts is None:
                self._contacts = Contacts.from_settings(self.settings)
            return self._contacts

    def ids(self) -> IdResolver:
        """The id resolver every face uses for id arguments (``ledger.ids_lookup``): full
        ids, unique prefixes (through the ``ledger.id_index`` entry point, the read
        tables'), payment references."""
        with self._lock:
            if self._ids is None:
                self._ids = IdResolver(self.ledger(), load_prefix_index())
            return self._ids

    def close(self) -> None:
        """Close everything built here, newest first (all of it, even if one fails: the
        first failure is raised after). What was given stays open."""
        with self._lock:
            closers, self._built = self._built, []
        failure: BaseException | None = None
        for close in reversed(closers):
            try:
                close()
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure


__all__ = [
    "FROM_SETTINGS",
    "Components",
    "build_ledger",
    "build_provider",
    "build_tokens",
    "close_ledger",
    "read_store",
]
