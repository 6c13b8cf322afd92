"""What state the operational tables' schema is in, read from the catalogue and
``schema_version`` without changing anything (see ``ledger.schema.versioning`` for the states
and what changes them)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ledger.persistence import StoreConfig
from ledger.schema.dialect import Conn, read_time
from ledger.schema.migrations import MIGRATIONS, OPERATIONAL_TABLES, Migration

VERSION_TABLE = "schema_version"
UPGRADE_COMMAND = "ledger db upgrade"


class State(StrEnum):
    EMPTY = "empty"
    UNVERSIONED = "unversioned"
    BEHIND = "behind"
    CURRENT = "current"
    AHEAD = "ahead"


@dataclass(frozen=True)
class Applied:
    """One row of ``schema_version``."""

    version: int
    name: str
    applied_at: datetime
    release: str


@dataclass(frozen=True)
class SchemaStatus:
    state: State
    version: int  # 0 when empty or unversioned
    latest: int  # the newest version this release knows
    pending: tuple[Migration, ...]
    applied: tuple[Applied, ...]

    @property
    def usable(self) -> bool:
        """Whether this release can run on the store as it is."""
        return self.state in (State.CURRENT, State.AHEAD)

    def problem(self) -> str | None:
        """Why this release cannot run on the store (one line naming the command), or None."""
        if self.state is State.UNVERSIONED:
            return (
                "schema is unversioned (tables of a release before schema versions) and older "
                f'than this release needs ({self.latest}): run "{UPGRADE_COMMAND}"'
            )
        if self.state is State.BEHIND:
            return (
                f"schema version {self.version} is older than this release needs "
                f'({self.latest}): run "{UPGRADE_COMMAND}"'
            )
        return None


def existing_tables(conn: Conn, config: StoreConfig, names: Sequence[str]) -> set[str]:
    """Which of ``names`` are tables in the store (its PostgreSQL schema)."""
    if conn.kind == "postgres":
        rows = conn.rows(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'p') "
            "AND c.relname = ANY(%s)",
            [config.schema, list(names)],
        )
    else:
        marks = ", ".join(["%s"] * len(names))
        rows = conn.rows(
            f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",  # noqa: S608
            list(names),
        )
    return {str(row[0]) for row in rows}


def table_columns(conn: Conn, config: StoreConfig, table: str) -> set[str]:
    """The column names of ``table``, lower case (empty when there is no such table)."""
    if conn.kind == "postgres":
        rows = conn.rows(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            [config.schema, table],
        )
    else:
        rows = conn.rows("SELECT name FROM pragma_table_info(%s)", [table])
    return {str(row[0]).lower() for row in rows}


def read_status(
    conn: Conn, config: StoreConfig, migrations: Sequence[Migration] = MIGRATIONS
) -> SchemaStatus:
    """The store's schema state as this release (knowing ``migrations``) sees it."""
    found = existing_tables(conn, config, [VERSION_TABLE, *OPERATIONAL_TABLES])
    applied: tuple[Applied, ...] = ()
    if VERSION_TABLE in found:
        rows = conn.rows(
            "SELECT version, name, applied_at, release FROM schema_version ORDER BY version"
        )
        applied = tuple(Applied(int(v), str(n), read_time(at), str(r)) for v, n, at, r in rows)
    version = max((a.version for a in applied), default=0)
    latest = migrations[-1].version if migrations else 0
    if version == 0:
        state = State.UNVERSIONED if found - {VERSION_TABLE} else State.EMPTY
    elif version < latest:
        state = State.BEHIND
    elif version == latest:
        state = State.CURRENT
    else:
        state = State.AHEAD
    pending = tuple(m for m in migrations if m.version > version)
    return SchemaStatus(state, version, latest, pending, applied)


__all__ = [
    "UPGRADE_COMMAND",
    "VERSION_TABLE",
    "Applied",
    "SchemaStatus",
    "State",
    "existing_tables",
    "read_status",
    "table_columns",
]
