"""Read-table definitions, creation, and the atomic swap used by rebuilds.

A ``Table`` is its column list and its indexes; the physical table name is supplied when it is
created, so the same definition makes the live table (``wallet_transactions``) and a fresh one
to rebuild into (``wallet_transactions__new``). Indexes are named ``<table>_<index>``.

``swap`` replaces a live table by a rebuilt one inside the caller's transaction: drop the live
table, rename the new one, give its indexes the live names. Readers see the old table until the
transaction commits and the new one afterwards, never an empty or half-built table.

Views over the live tables (``Views``: name -> the SELECT for a backend) are created when
missing by ``create_views`` and dropped by ``drop_views``: a rebuild drops them before the swap
and creates them after, in the same transaction.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from projections.db import ReadDB


@dataclass(frozen=True)
class Index:
    name: str
    columns: str
    unique: bool = False


@dataclass(frozen=True)
class Table:
    columns: str
    indexes: tuple[Index, ...] = field(default_factory=tuple)


def column_types(table: Table) -> dict[str, str]:
    """Each column's SQL type, by lower-case column name (``{"amount": "bigint", ...}``)."""
    types: dict[str, str] = {}
    depth, part, parts = 0, "", []
    for char in table.columns + ",":
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(part.strip())
            part = ""
        else:
            part += char
    for definition in parts:
        words = definition.split()
        if len(words) >= 2 and words[0].upper() not in _CONSTRAINTS:
            types[words[0].lower()] = words[1].lower()
    return types


_CONSTRAINTS = {"PRIMARY", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK", "EXCLUDE"}


def create(db: ReadDB, physical: str, table: Table) -> None:
    """Create ``physical`` with ``table``'s columns and indexes, if missing."""
    db.execute(f"CREATE TABLE IF NOT EXISTS {physical} ({table.columns})")
    for index in table.indexes:
        unique = "UNIQUE " if index.unique else ""
        db.execute(
            f"CREATE {unique}INDEX IF NOT EXISTS {physical}_{index.name} "
            f"ON {physical} ({index.columns})"
        )


def drop(db: ReadDB, physical: str) -> None:
    db.execute(f"DROP TABLE IF EXISTS {physical}")


def swap(db: ReadDB, live: str, new: str, table: Table) -> None:
    """Put ``new`` in the place of ``live`` (inside the caller's transaction)."""
    drop(db, live)
    db.execute(f"ALTER TABLE {new} RENAME TO {live}")
    for index in table.indexes:
        if db.kind == "postgres":
            db.execute(f"ALTER INDEX {new}_{index.name} RENAME TO {live}_{index.name}")
        else:  # SQLite cannot rename an index: recreate it under the live name
            unique = "UNIQUE " if index.unique else ""
            db.execute(f"DROP INDEX IF EXISTS {new}_{index.name}")
            db.execute(f"CREATE {unique}INDEX {live}_{index.name} ON {live} ({index.columns})")


Views = Mapping[str, Callable[[str], str]]


def view_exists(db: ReadDB, name: str) -> bool:
    if db.kind == "postgres":
        row = db.fetchone(
            "SELECT 1 AS one FROM information_schema.views "
            "WHERE table_schema = %s AND table_name = %s",
            [db.schema, name],
        )
    else:
        row = db.fetchone(
            "SELECT 1 AS one FROM sqlite_master WHERE type = 'view' AND name = %s", [name]
        )
    return row is not None


def create_views(db: ReadDB, views: Views) -> None:
    """Create each view that does not exist yet (a changed definition arrives with a
    rebuild, which drops and recreates them)."""
    for name, select in views.items():
        if not view_exists(db, name):
            db.execute(f"CREATE VIEW {name} AS {select(db.kind)}")


def drop_views(db: ReadDB, views: Views) -> None:
    for name in views:
        db.execute(f"DROP VIEW IF EXISTS {name}")


__all__ = [
    "Index",
    "Table",
    "Views",
    "column_types",
    "create",
    "create_views",
    "drop",
    "drop_views",
    "swap",
    "view_exists",
]
