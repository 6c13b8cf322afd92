"""Every command plugin loads on its own, first, in a fresh interpreter: a plugin module
imports ``ledger.cli.context``, and that must not load the CLI's plugins (itself among them)
half-imported. Once, ``projections.cli_audit`` imported first failed with a circular import
that the whole suite hid, because another test had imported ``ledger.cli`` before."""

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

GROUPS = ("ledger.cli", "ledger.cli.requests", "ledger.cli.payments", "ledger.api")
PLUGINS = sorted({ep.value for group in GROUPS for ep in entry_points(group=group)})


def test_there_are_plugins_to_load() -> None:
    assert "projections.cli_audit:audit" in PLUGINS


@pytest.mark.parametrize("target", PLUGINS)
def test_a_plugin_loads_first_in_a_fresh_interpreter(target: str) -> None:
    module, attr = target.split(":")
    code = f"import importlib; getattr(importlib.import_module({module!r}), {attr!r})"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
