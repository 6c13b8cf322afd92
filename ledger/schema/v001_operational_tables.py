"""Migration 1: the operational tables as the release before versioned schemas made them.

Every statement is that release's own, ``IF NOT EXISTS`` included, so applying migration 1 to
a database that release created keeps every table and row it has and only adds what it never
created (that release created each table on first use). Tables and their columns:

- ``contacts``: where to reach a user (``ledger.contacts``);
- ``idempotency_keys``: the API's ``Idempotency-Key`` claims and stored answers;
- ``webhook_deliveries``: every Paystack delivery and what became of it;
- ``provider_tokens``: the Flutterwave access token shared by every process;
- ``job_runs``: one row per job run;
- ``notifications``: the outbox's messages and their delivery state (enqueued by a projector,
  but its delivery state is not in the event log, so it cannot be rebuilt).

SQLite stores times as ISO 8601 UTC text (some columns are declared ``TIMESTAMPTZ``, which
SQLite accepts as a name and stores as text); PostgreSQL as ``timestamptz``.
"""

VERSION = 1
NAME = "operational_tables"

_CONTACTS = (
    "CREATE TABLE IF NOT EXISTS contacts (user_id TEXT PRIMARY KEY, external_id TEXT NOT NULL, "
    "email TEXT, webhook_url TEXT, updated_at TIMESTAMPTZ NOT NULL)"
)
_IDEMPOTENCY_KEYS = (
    "CREATE TABLE IF NOT EXISTS idempotency_keys (principal TEXT NOT NULL, key TEXT NOT NULL, "
    "method TEXT NOT NULL, path TEXT NOT NULL, body_sha256 TEXT NOT NULL, status INTEGER, "
    "response TEXT, created_at {time} NOT NULL, completed_at {time}, "
    "PRIMARY KEY (principal, key))"
)
_WEBHOOK_DELIVERIES = (
    "CREATE TABLE IF NOT EXISTS webhook_deliveries (id {uuid} PRIMARY KEY, "
    "received_at {time} NOT NULL, provider TEXT NOT NULL, event TEXT, reference TEXT, "
    "signature_valid {bool} NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, "
    "body_sha256 TEXT NOT NULL, source_ip TEXT, transaction_id {uuid})",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_received ON webhook_deliveries "
    "(received_at, id)",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_reference ON webhook_deliveries (reference)",
)
_PROVIDER_TOKENS = (
    "CREATE TABLE IF NOT EXISTS provider_tokens (provider TEXT PRIMARY KEY, access_token TEXT, "
    "expires_at {time}, refreshed_at {time})"
)
_JOB_RUNS = (
    """CREATE TABLE IF NOT EXISTS job_runs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    status TEXT NOT NULL,
    startedAt TIMESTAMPTZ NOT NULL,
    finishedAt TIMESTAMPTZ NOT NULL,
    durationMs BIGINT NOT NULL,
    businessTime TIMESTAMPTZ NOT NULL,
    processed BIGINT NOT NULL,
    succeeded BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    detail TEXT
)""",
    "CREATE INDEX IF NOT EXISTS job_runs_job_started ON job_runs (job, startedAt)",
)
_NOTIFICATIONS = (
    "CREATE TABLE IF NOT EXISTS notifications (id TEXT PRIMARY KEY, position BIGINT NOT NULL, "
    "event_id TEXT NOT NULL, event_version BIGINT NOT NULL, template TEXT NOT NULL, "
    "channel TEXT NOT NULL, recipient TEXT NOT NULL, recipient_ref TEXT, subject TEXT NOT NULL, "
    "body_text TEXT NOT NULL, body_html TEXT NOT NULL, data TEXT NOT NULL, "
    "status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TIMESTAMPTZ NOT NULL, "
    "last_error TEXT, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, "
    "sent_at TIMESTAMPTZ)",
    # the delivery job's claim; the outbox's replay floor; `ledger notifications list`
    "CREATE INDEX IF NOT EXISTS notifications_due ON notifications "
    "(status, channel, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS notifications_position ON notifications (position)",
    "CREATE INDEX IF NOT EXISTS notifications_created ON notifications (created_at, id)",
)


def _statements(time: str, uuid: str, boolean: str) -> tuple[str, ...]:
    types = {"time": time, "uuid": uuid, "bool": boolean}
    return (
        _CONTACTS,
        _IDEMPOTENCY_KEYS.format(**types),
        *(s.format(**types) for s in _WEBHOOK_DELIVERIES),
        _PROVIDER_TOKENS.format(**types),
        *_JOB_RUNS,
        *_NOTIFICATIONS,
    )


SQLITE = _statements(time="TEXT", uuid="TEXT", boolean="INTEGER")
POSTGRES = _statements(time="TIMESTAMPTZ", uuid="UUID", boolean="BOOLEAN")

# Each table's columns (lower case, as both catalogues report them). A table that exists
# before migration 1 runs must have exactly these, or it is not that release's table.
COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("user_id", "external_id", "email", "webhook_url", "updated_at"),
    "idempotency_keys": (
        "principal",
        "key",
        "method",
        "path",
        "body_sha256",
        "status",
        "response",
        "created_at",
        "completed_at",
    ),
    "webhook_deliveries": (
        "id",
        "received_at",
        "provider",
        "event",
        "reference",
        "signature_valid",
        "outcome",
        "detail",
        "body_sha256",
        "source_ip",
        "transaction_id",
    ),
    "provider_tokens": ("provider", "access_token", "expires_at", "refreshed_at"),
    "job_runs": (
        "id",
        "job",
        "status",
        "startedat",
        "finishedat",
        "durationms",
        "businesstime",
        "processed",
        "succeeded",
        "failed",
        "skipped",
        "detail",
    ),
    "notifications": (
        "id",
        "position",
        "event_id",
        "event_version",
        "template",
        "channel",
        "recipient",
        "recipient_ref",
        "subject",
        "body_text",
        "body_html",
        "data",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "updated_at",
        "sent_at",
    ),
}
TABLES = tuple(COLUMNS)

__all__ = ["COLUMNS", "NAME", "POSTGRES", "SQLITE", "TABLES", "VERSION"]
