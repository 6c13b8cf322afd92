"""The ``ledger`` command-line interface (click): users, requests, payments, wallets, admin
interventions and a demo. ``main`` is the console script; ``cli`` the root group (for
``click.testing.CliRunner``). Exit codes and error output: ``ledger.cli.errors``."""

from ledger.cli.main import cli, main

__all__ = ["cli", "main"]
