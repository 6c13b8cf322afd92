"""Commands other packages add to a group of ``ledger``'s own, through entry points.

``ledger`` never imports ``projections`` or ``jobs`` (the dependency rule), yet some commands
of its groups read their tables: ``ledger requests list`` and ``ledger payments list`` are
``projections``' (the read tables). A group module calls ``add_subcommands(group, "ledger.cli.
<group>")`` once, after defining its own commands; each entry point of that group is a
``click.Command`` added under the entry point's name. A name the group already has is refused
(a plugin cannot silently replace a command).
"""

from importlib.metadata import entry_points

import click


def add_subcommands(group: click.Group, entry_group: str) -> None:
    """Add every command registered under ``entry_group`` to ``group``, by entry name."""
    for entry in sorted(entry_points(group=entry_group), key=lambda e: e.name):
        if entry.name in group.commands:
            raise TypeError(f"entry point {entry.value} would replace {group.name} {entry.name}")
        command = entry.load()
        if not isinstance(command, click.Command):
            raise TypeError(f"entry point {entry.value} is not a click command")
        group.add_command(command, entry.name)


__all__ = ["add_subcommands"]
