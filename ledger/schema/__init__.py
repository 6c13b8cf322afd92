"""The operational tables' schema: the tables that cannot be rebuilt from events, their DDL in
both dialects, numbered migrations and the version they are at.

Operational tables hold what the event log does not: contacts (personal data kept out of the
log), idempotency keys, webhook deliveries, the provider token, job runs, and the
notifications outbox's delivery state. They are created and changed only here, by numbered
migrations (``ledger.schema.migrations``), and their version is kept in ``schema_version``.
Read tables (wallets, requests, wallet_transactions, users, ledger_entries, audit_chain, the
outbox's lookups, projection_tracking) are not versioned: they are rebuilt from events.

The API every entry point uses::

    ensure_schema(config)   at start-up, and on first use by each side-table store: an empty
                            store is initialised to the latest version; an older one raises
                            SchemaError('schema version 1 is older than this release needs
                            (2): run "ledger db upgrade"')
    upgrade(config)         ``ledger db upgrade``: apply what is pending, each migration once
    schema_status(config)   ``ledger db status``: read only

SQL helpers for the tables' users (placeholders, values, upserts, transactions) are in
``ledger.schema.dialect``; pooled connections in ``ledger.sidetables``.
"""

from ledger.schema.migrations import LATEST, MIGRATIONS, OPERATIONAL_TABLES, Migration
from ledger.schema.status import UPGRADE_COMMAND, VERSION_TABLE, Applied, SchemaStatus, State
from ledger.schema.versioning import ensure_schema, schema_status, upgrade

__all__ = [
    "LATEST",
    "MIGRATIONS",
    "OPERATIONAL_TABLES",
    "UPGRADE_COMMAND",
    "VERSION_TABLE",
    "Applied",
    "Migration",
    "SchemaStatus",
    "State",
    "ensure_schema",
    "schema_status",
    "upgrade",
]
