"""``ledger db status | upgrade``: the operational tables' schema version (see ``ledger.schema``).

``status`` only reads (a SQLite file that does not exist is an error, never created);
``upgrade`` applies the pending migrations, each once and in its own transaction, printing
one line per migration it applied; run again, it applies nothing and says so (exit 0). Both
touch only the operational tables and ``schema_version``: not the event store, not the read
tables.
"""

import json
from pathlib import Path
from typing import Any, Literal

import click

from ledger.cli.context import app_context
from ledger.cli.output import emit_rows
from ledger.config import Settings
from ledger.errors import ConfigError
from ledger.persistence import StoreConfig, redact, store_config
from ledger.schema import Migration, SchemaStatus, State, schema_status, upgrade
from ledger.views import View


@click.group(name="db")
def db() -> None:
    """The schema of the tables that cannot be rebuilt from events (contacts, idempotency
    keys, webhook deliveries, provider tokens, job runs, notifications): its version, and
    upgrading it. Read tables are rebuilt from events instead (ledger projections rebuild)."""


def _store(settings: Settings) -> tuple[StoreConfig, str]:
    config = store_config(settings.database_url, schema=settings.postgres_schema)
    where = redact(settings.database_url)
    if config.kind == "postgres":
        where += f" (schema {config.schema})"
    return config, where


def _view(status: SchemaStatus, where: str) -> dict[str, Any]:
    return {
        "store": where,
        "state": status.state.value,
        "version": status.version,
        "latest": status.latest,
        "upgrade_needed": status.problem() is not None,
        "pending": [{"version": m.version, "name": m.name} for m in status.pending],
        "applied": [
            {
                "version": a.version,
                "name": a.name,
                "applied_at": a.applied_at.isoformat(),
                "release": a.release,
            }
            for a in status.applied
        ],
    }


MIGRATION_COLUMNS = ("version", "name", "state", "applied_at", "release", "schema_state")


def _migration_rows(status: SchemaStatus) -> list[View]:
    """Every migration this store applied or still needs, one row each (csv)."""
    rows: list[View] = [
        {
            "version": a.version,
            "name": a.name,
            "state": "applied",
            "applied_at": a.applied_at.isoformat(),
            "release": a.release,
            "schema_state": status.state.value,
        }
        for a in status.applied
    ]
    rows += [
        {
            "version": m.version,
            "name": m.name,
            "state": "pending",
            "applied_at": None,
            "release": None,
            "schema_state": status.state.value,
        }
        for m in status.pending
    ]
    return rows


_MEANING = {
    State.EMPTY: "no operational tables yet: the first command that needs them creates them",
    State.UNVERSIONED: 'tables of a release before schema versions: run "ledger db upgrade"',
    State.BEHIND: 'older than this release needs: run "ledger db upgrade"',
    State.CURRENT: "up to date",
    State.AHEAD: "upgraded by a newer release (this one runs on it: migrations only expand)",
}


def _table(status: SchemaStatus, where: str) -> str:
    lines = [
        f"store    {where}",
        f"state    {status.state.value}: {_MEANING[status.state]}",
        f"version  {status.version}",
        f"latest   {status.latest}",
    ]
    pending = [str(m) for m in status.pending] or ["none"]
    lines += [f"{'pending' if i == 0 else ''}".ljust(9) + p for i, p in enumerate(pending)]
    applied = [
        f"{a.version} {a.name} at {a.applied_at.isoformat()} by release {a.release}"
        for a in status.applied
    ] or ["none"]
    lines += [f"{'applied' if i == 0 else ''}".ljust(9) + a for i, a in enumerate(applied)]
    return "\n".join(line.rstrip() for line in lines)


@db.command("status")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"], case_sensitive=False),
    default="table",
    show_default=True,
    help="table for people; json for machines; csv: one row per migration.",
)
def status(fmt: Literal["table", "json", "csv"]) -> None:
    """The schema version of the store, the latest this release knows, what is pending and
    what was applied when. Changes nothing."""
    config, where = _store(app_context().settings())
    if config.kind == "sqlite":
        assert config.sqlite_path is not None
        if not Path(config.sqlite_path).expanduser().is_file():
            raise ConfigError(f"no database at {where}: nothing to show")
    found = schema_status(config)
    if fmt == "json":
        click.echo(json.dumps(_view(found, where), indent=2))
    elif fmt == "csv":
        emit_rows(_migration_rows(found), list(MIGRATION_COLUMNS), "csv")
    else:
        click.echo(_table(found, where))


@db.command("upgrade")
def upgrade_command() -> None:
    """Apply the pending migrations, each in its own transaction with its version row, and
    print each one applied. Safe to run from several places at once (one applies, the others
    wait and find nothing left) and to run again (nothing to apply, exit 0). On a store with
    tables of a release before schema versions, those are checked and kept as version 1."""
    config, where = _store(app_context().settings())
    before = schema_status(config) if _exists(config) else None
    if before is not None and before.state is State.UNVERSIONED:
        click.echo("adopting the tables of a release before schema versions as version 1")

    def applied(migration: Migration) -> None:
        click.echo(f"applied {migration}")

    done = upgrade(config, on_applied=applied)
    after = schema_status(config)
    if after.state is State.AHEAD:
        click.echo(
            f"schema at version {after.version}, newer than this release knows "
            f"({after.latest}): nothing to apply"
        )
    elif not done:
        click.echo(f"schema at version {after.version} (latest): nothing to apply")
    else:
        click.echo(f"schema at version {after.version} (latest) in {where}")


def _exists(config: StoreConfig) -> bool:
    if config.kind != "sqlite":
        return True
    assert config.sqlite_path is not None
    return Path(config.sqlite_path).expanduser().is_file()


__all__ = ["db"]
