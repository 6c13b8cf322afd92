"""The application service: ``Ledger``, an eventsourcing ``Application``.

One method per command, grouped by use case in ``ledger.app`` and composed here into one
class. Each command loads the aggregates it needs, lets the domain decide, and saves every
changed aggregate in one ``save(...)`` (one database transaction). Guarantees:

- *Idempotent*: a command that already took effect returns ``Result(changed=False, ...)``
  ("already done"), writes no event and raises nothing.
- *Optimistic concurrency*: two writers of one aggregate collide on its next version; the
  loser reloads and retries, at most ``LEDGER_CONFLICT_RETRIES`` times, then ``Conflict``.
- *Cache without stale decisions*: aggregates are cached in process
  (``LEDGER_AGGREGATE_CACHE_SIZE``) to save reads. A write decided on a stale copy cannot
  land (its version collides, and the command is retried on fresh state); a no-op or a
  refusal decided on a cached copy is re-checked on fresh state before it is reported.
  Aggregates a command reads but does not write are read fresh, unless the fact used can
  only move forward (a user exists; a request is COMPLETED).
- *Provider first*: refunds and payment initialisation call the provider before anything is
  recorded; if it refuses or is down the command fails and nothing is written.

Where things are: the load-decide-save loop, the save path and the locks in
``ledger.app.unit_of_work``; the cache in ``ledger.app.cache``; opening the store in
``ledger.app.store``; the commands in ``ledger.app.users``, ``requests``, ``payments``,
``release``, ``refunds``, ``admin``, ``wallets``, ``queries``. Build a ledger with
``Ledger.from_settings`` (tests) or through the composition root, ``ledger.bootstrap``.

What it deliberately does not do: find work (jobs read the read tables for that), or keep
personal data (emails pass through to the provider only).
"""

from eventsourcing.utils import EnvType

from ledger.app.admin import AdminCommands
from ledger.app.payments import PaymentCommands
from ledger.app.queries import Queries
from ledger.app.refunds import RefundCommands
from ledger.app.release import ReleaseCommands
from ledger.app.requests import RequestCommands
from ledger.app.result import Decision, Result
from ledger.app.store import open_store
from ledger.app.unit_of_work import UnitOfWork
from ledger.app.users import UserCommands
from ledger.app.wallets import WalletCommands
from ledger.clock import Clock, system_clock
from ledger.config import Settings, load_settings
from ledger.providers.port import PaymentProvider


class Ledger(
    UserCommands,
    RequestCommands,
    PaymentCommands,
    RefundCommands,
    AdminCommands,
    ReleaseCommands,
    WalletCommands,
    Queries,
    UnitOfWork,
):
    """The escrow ledger. Construct with ``Ledger.from_settings(...)``; close when done."""

    name = "Ledger"

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        create: bool = True,
        clock: Clock = system_clock,
        wall_clock: Clock = system_clock,
        provider: PaymentProvider | None = None,
    ) -> "Ledger":
        """A ledger on the store named by ``LEDGER_DATABASE_URL`` (checked first). With
        ``create=False`` the store must already hold a ledger (``ledger.app.store``)."""
        settings = settings if settings is not None else load_settings()

        def construct(env: EnvType) -> Ledger:
            return cls(
                env, settings=settings, clock=clock, wall_clock=wall_clock, provider=provider
            )

        return open_store(construct, settings, create=create)


__all__ = ["Decision", "Ledger", "Result"]
