"""The numbered migrations of the operational tables, oldest first.

A migration is a version number, a name and its statements in each dialect. The rules every
new one follows (so that a rolling deploy works: the release before keeps running on the
upgraded schema while its replicas are replaced):

- append only: a released migration is never edited, renumbered or removed;
- expand, never contract in the same release: add tables, nullable columns, columns with a
  default, indexes; drop or rename something only once no running release reads it;
- one migration, one transaction: the statements and the ``schema_version`` row commit
  together (both dialects have transactional DDL), so nothing is ever half applied.

Adding one: write ``vNNN_<name>.py`` beside this module with ``VERSION``, ``NAME``, ``SQLITE``
and ``POSTGRES``, add it to ``MIGRATIONS``, and run the upgrade test (it upgrades a database of
the release before versions, with rows in every table, to the latest).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from ledger.schema import v001_operational_tables, v002_webhook_outcome_index


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]

    def statements(self, kind: str) -> tuple[str, ...]:
        """This migration's statements for ``kind`` (``sqlite`` or ``postgres``)."""
        return self.postgres if kind == "postgres" else self.sqlite

    def __str__(self) -> str:
        return f"{self.version} {self.name}"


def _from_module(module: ModuleType) -> Migration:
    return Migration(
        version=module.VERSION,
        name=module.NAME,
        sqlite=tuple(module.SQLITE),
        postgres=tuple(module.POSTGRES),
    )


def check_numbering(migrations: Sequence[Migration]) -> None:
    """``ValueError`` unless the versions are exactly 1, 2, ... n in order."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations must be numbered 1..n in order, got {versions}")


MIGRATIONS: tuple[Migration, ...] = tuple(
    _from_module(m) for m in (v001_operational_tables, v002_webhook_outcome_index)
)
check_numbering(MIGRATIONS)
LATEST = MIGRATIONS[-1].version

# The tables migration 1 creates: finding any of them without a version table means a
# database of the release before versions (not an empty one).
OPERATIONAL_TABLES = v001_operational_tables.TABLES
BASELINE_COLUMNS = v001_operational_tables.COLUMNS

__all__ = [
    "BASELINE_COLUMNS",
    "LATEST",
    "MIGRATIONS",
    "OPERATIONAL_TABLES",
    "Migration",
    "check_numbering",
]
