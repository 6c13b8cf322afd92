"""Migration 2: an index on ``webhook_deliveries (outcome, received_at, id)``.

``ledger webhooks list --outcome failed`` (and the API's delivery list) asks for the latest
deliveries of one outcome. With only ``(received_at, id)`` indexed, PostgreSQL walks every
delivery from the newest back until it has found enough of that outcome: for a rare outcome
(``flagged``, ``failed``, ``refused``: the ones an operator looks for) that is the whole table,
which grows by one row per delivery forever. With this index the query reads only the rows it
returns, newest first. Same statement on both dialects.
"""

VERSION = 2
NAME = "webhook_deliveries_outcome_index"

_STATEMENTS = (
    "CREATE INDEX webhook_deliveries_outcome ON webhook_deliveries (outcome, received_at, id)",
)
SQLITE = _STATEMENTS
POSTGRES = _STATEMENTS

__all__ = ["NAME", "POSTGRES", "SQLITE", "VERSION"]
