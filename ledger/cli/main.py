"""The ``ledger`` console script: the root command group and ``main``.

Entry points stay thin: each group lives in its own module and calls the ``Ledger`` service,
which ``ledger.cli.context`` gets from the composition root (``ledger.bootstrap``), saying
whether the command writes; ``ledger.cli.errors`` maps every failure to an exit code and one
line on stderr. ``LedgerGroup.main`` routes click's own
usage errors through the same place, so ``CliRunner`` tests see what a shell sees.
"""

import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

import click

from ledger.cli.admin import admin
from ledger.cli.db import db
from ledger.cli.errors import run_guarded
from ledger.cli.payments import payments
from ledger.cli.requests import requests
from ledger.cli.serve import serve
from ledger.cli.simulator import simulator
from ledger.cli.users import users
from ledger.cli.wallets import wallets
from ledger.cli.webhooks import webhooks


class LedgerGroup(click.Group):
    """A group whose ``main`` reports errors the ledger's way (see ``ledger.cli.errors``)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def invoke() -> object:
            return super(LedgerGroup, self).main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )

        code = run_guarded(invoke)
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(
    name="ledger", cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="escrow-ledger", prog_name="ledger")
def cli() -> None:
    """The escrow ledger: fans pay celebrities, the money is held in escrow until the request
    is completed, then released to the celebrity's wallet. Every change is an event.

    Settings come from the environment and a .env file (LEDGER_DATABASE_URL, default
    sqlite:///ledger.db). Amounts are integers in minor units (500000 is NGN 5,000.00).

    Exit codes: 0 done or already done; 1 provider failure, conflict or internal error;
    2 bad input, a rule said no, not found, or a bad setting.
    """


cli.add_command(users)
cli.add_command(requests)
cli.add_command(payments)
cli.add_command(wallets)
cli.add_command(admin)
cli.add_command(simulator)
cli.add_command(webhooks)
cli.add_command(serve)
cli.add_command(db)


def _add_plugin_commands(group: click.Group) -> None:
    """Add the command groups other packages register under the ``ledger.cli`` entry-point
    group (``projections``, ``report``, ``audit``, ``jobs``...). They depend on ``ledger``;
    ``ledger`` never imports them, so the dependency rule holds."""
    for entry in sorted(entry_points(group="ledger.cli"), key=lambda e: e.name):
        command = entry.load()
        if not isinstance(command, click.Command):
            raise TypeError(f"entry point {entry.value} is not a click command")
        group.add_command(command, entry.name)


_add_plugin_commands(cli)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process arguments); return the exit code."""
    code = cli.main(args=argv, prog_name="ledger", standalone_mode=False)
    return int(code)


__all__ = ["LedgerGroup", "cli", "main"]
