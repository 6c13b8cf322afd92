"""The ``ledger`` command-line interface (click): users, requests, payments, wallets, admin
interventions and a demo. The console script is ``ledger.cli.main:main``; ``cli`` is the root
group (for ``click.testing.CliRunner``). Exit codes and error output: ``ledger.cli.errors``.

``cli`` is loaded on first use, not when the package is imported: a plugin's command module
(``projections.cli_audit``, say) imports ``ledger.cli.context``, and loading
``ledger.cli.main`` from here would load every plugin, that one included, half-imported."""

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "cli":
        return importlib.import_module("ledger.cli.main").cli
    raise AttributeError(f"module 'ledger.cli' has no attribute {name!r}")


__all__ = ["cli"]
