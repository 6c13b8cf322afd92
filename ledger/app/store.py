"""Opening the event store a ``Ledger`` runs on, named by ``LEDGER_DATABASE_URL``.

``create=True`` (what writes: commands that record, the services): the store is created when
missing (the SQLite file; the PostgreSQL schema), the event tables by eventsourcing, replicas
starting together taking turns (``schema_lock``).
``create=False`` (what only reads): the store must already hold a ledger (its event table),
else ``ConfigError("no ledger at URL: ...")``, and nothing is created: not the SQLite file,
not a schema, not a table. An empty store read as "nothing held" would mislead on-call.

Every failure to open is one ``ConfigError`` naming the redacted URL, never the password.
"""

import sqlite3
from collections.abc import Callable
from contextlib import nullcontext
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError

from ledger.config import Settings
from ledger.errors import ConfigError
from ledger.persistence import holds_table, no_ledger, prepare_store, schema_lock, store_config

App = TypeVar("App", bound=Application[UUID])


def open_store(
    factory: Callable[[dict[str, str]], App], settings: Settings, *, create: bool
) -> App:
    """``factory(env)``: an application on the configured store (see the module docstring)."""
    url = settings.database_url
    config = store_config(
        url, schema=settings.postgres_schema, pool_size=settings.postgres_pool_size
    )
    prepare_store(config, url, create=create)
    # eventsourcing creates its tables unless told not to; a reader must not create them.
    env = config.env if create else {**config.env, "CREATE_TABLE": "no"}
    try:
        with schema_lock(config) if create else nullcontext():
            app = factory(env)
    except (PersistenceError, OSError, sqlite3.Error) as exc:
        # eventsourcing 9.5.6 lets sqlite3 errors on connecting escape unwrapped
        # (e.g. "file is not a database").
        raise ConfigError(f"event store unusable: {type(exc).__name__}") from None
    if not create:
        table = str(getattr(app.recorder, "events_table_name", ""))
        try:
            if not table or not holds_table(config, table, url):
                raise no_ledger(url)
        except ConfigError:
            app.close()
            raise
    return app


__all__ = ["open_store"]
