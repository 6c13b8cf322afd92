"""``ledger audit history | verify | seal``: the auditor's commands (docs/audit.md).

``history ID [--as-of T]`` prints an aggregate's events and its state as of T; ID is any
aggregate's full id, a unique prefix of it, a payment reference or a user's external id
(``ledger.ids_lookup``); T is ISO 8601 or a duration ago (``24h``). ``verify
[--seal SEAL]`` replays the store and compares it with the live read tables, checks the
books and the hash chain (and the seal), prints what it checked with counts, and exits 0
only when everything agrees, else 1 listing every difference. ``seal`` prints the head of
the hash chain (``<position>:<hash>``) to keep outside the system.

Every command takes ``--format table|json|csv``: ``history``'s csv is its timeline, one row
per event (the event's own fields as one JSON column); ``verify``'s one row per thing checked;
``seal``'s one row. A history is a timeline: oldest event first, unlike lists (newest first).

Errors are one line on stderr: 2 for bad input (a malformed id, time or seal, an unknown
id). The group is loaded by ``ledger`` through the ``ledger.cli`` entry point; run on its
own (tests), ``AuditGroup.main`` reports errors the same way.
"""

import json
import sys
from collections.abc import Sequence
from typing import Any, Literal

import click

from ledger.cli.context import app_context, ids
from ledger.cli.errors import EXIT_FAILED, run_guarded
from ledger.cli.output import emit_record, emit_rows, table
from ledger.clock import parse_time, system_clock
from ledger.views import View
from projections.audit_chain import parse_seal, seal
from projections.audit_history import Entry, history
from projections.audit_verify import Report, verify
from projections.wiring import read_side

Fmt = Literal["table", "json", "csv"]

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"], case_sensitive=False),
    default="table",
    show_default=True,
    help="table for people; json or csv for machines (amounts in minor units).",
)
HISTORY_COLUMNS = ("version", "event", "timestamp", "recorded_at", "operator", "reason", "note")


class AuditGroup(click.Group):
    """Run on its own, report errors as ``ledger`` does (``ledger.cli.errors``)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        def invoke() -> object:
            return super(AuditGroup, self).main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )

        code = run_guarded(invoke)
        if standalone_mode:
            sys.exit(code)
        return code


def _ledger() -> Any:
    return app_context().ledger(click.get_current_context(), create=False)


@click.group(name="audit", cls=AuditGroup)
def audit() -> None:
    """Replay, verify and seal the ledger: history of any aggregate, replay-and-compare of the
    read tables, the books, and tamper evidence over the event log."""


def _fields(entry: Entry) -> str:
    shown = {k: v for k, v in entry.fields.items() if k not in {"operator", "reason", "note"}}
    return " ".join(f"{k}={v}" for k, v in shown.items() if v is not None)


@audit.command("history")
@click.argument("aggregate_id")
@click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="State at this business time: ISO 8601, or a duration ago (24h, 7d, 90m).",
)
@format_option
def history_command(aggregate_id: str, as_of: str | None, fmt: Fmt) -> None:
    """Every event of AGGREGATE_ID with its business and recorded times, operator and
    reason, and the aggregate's state (as of --as-of). AGGREGATE_ID is a request, payment,
    wallet or user id (or a unique prefix of at least 8 characters), a payment reference,
    or a user's external id (star-1)."""
    at = parse_time(as_of, now=system_clock(), what="--as-of") if as_of is not None else None
    ledger = _ledger()
    found = history(ledger, ids().aggregate(aggregate_id), at)
    if fmt == "json":
        click.echo(json.dumps(found.view(), indent=2))
        return
    if fmt == "csv":
        rows: list[View] = []
        for entry in found.timeline:
            view = entry.view()
            rows.append(
                {
                    **{c: view[c] for c in HISTORY_COLUMNS},
                    "fields": json.dumps(view["fields"], sort_keys=True),
                }
            )
        emit_rows(rows, [*HISTORY_COLUMNS, "fields"], "csv")
        return
    click.echo(f"{found.aggregate_type} {found.aggregate_id}: {len(found.timeline)} events")
    rows = []
    for entry in found.timeline:
        view = entry.view()
        rows.append(
            {
                "version": entry.version,
                "event": entry.event,
                "timestamp": view["timestamp"],
                "recorded_at": view["recorded_at"],
                "operator": entry.operator,
                "reason": entry.reason or entry.note,
                "fields": _fields(entry),
            }
        )
    columns = ["version", "event", "timestamp", "recorded_at", "operator", "reason", "fields"]
    click.echo(table(rows, columns))
    click.echo("")
    when = f"as of {at.isoformat()}" if at is not None else "now"
    if found.state is None:
        click.echo(f"state {when}: did not exist yet")
        return
    click.echo(f"state {when}:")
    emit_record(found.state, "table")


def _print_report(report: Report) -> None:
    compared = ", ".join(f"{t} {n}" for t, n in report.rows_compared.items())
    click.echo(f"replayed {report.events_replayed} events up to position {report.position}")
    click.echo(f"rows compared: {compared or 'none'}")
    click.echo(f"currencies: {', '.join(report.currencies) or 'none'}")
    failed = report.failed_checks()
    click.echo(f"book checks: {len(report.checks)} run, {len(failed)} failed")
    chain = "agrees with audit_chain"
    if report.chain_break is not None:
        chain = f"CHANGED at {report.chain_break.describe()}"
    click.echo(f"hash chain: {report.chain_events} events rehashed, {chain}")
    if report.seal is not None:
        state = "OK" if report.seal.ok else "FAILED"
        click.echo(f"seal {report.seal.seal}: {state}: {report.seal.message}")
    for error in report.errors:
        click.echo(f"error: {error}")
    if report.differences:
        click.echo(f"\n{len(report.differences)} differences (live read tables vs replay):")
        rows = [
            {
                "table": d.table,
                "key": d.key,
                "column": d.column,
                "live": d.live if d.live is not None else "(none)",
                "replayed": d.replayed if d.replayed is not None else "(none)",
            }
            for d in report.differences
        ]
        click.echo(table(rows, ["table", "key", "column", "live", "replayed"]))
    if failed:
        click.echo(f"\n{len(failed)} book checks failed:")
        rows = [
            {"check": c.name, "scope": c.scope, "expected": str(c.expected),
             "actual": str(c.actual), "rule": c.rule}
            for c in failed
        ]  # fmt: skip
        click.echo(table(rows, ["check", "scope", "expected", "actual", "rule"]))
    click.echo("\nOK: everything agrees" if report.ok else "\nFAILED: see above")


REPORT_COLUMNS = ("item", "scope", "ok", "expected", "actual", "detail")


def _report_rows(report: Report) -> list[View]:
    """Everything ``verify`` checked, one row each (csv)."""
    rows: list[View] = [
        {
            "item": "replay",
            "scope": f"position {report.position}",
            "ok": not report.differences,
            "expected": None,
            "actual": report.events_replayed,
            "detail": f"{len(report.differences)} differences",
        }
    ]
    for d in report.differences:
        rows.append(
            {
                "item": "difference",
                "scope": f"{d.table} {d.key} {d.column}",
                "ok": False,
                "expected": d.replayed,
                "actual": d.live,
                "detail": "replayed vs live",
            }
        )
    for c in report.checks:
        rows.append(
            {
                "item": c.name,
                "scope": c.scope,
                "ok": c.ok,
                "expected": c.expected,
                "actual": c.actual,
                "detail": c.rule,
            }
        )
    chain = report.chain_break
    rows.append(
        {
            "item": "hash_chain",
            "scope": f"{report.chain_events} events",
            "ok": chain is None,
            "expected": None,
            "actual": None,
            "detail": "agrees with audit_chain" if chain is None else chain.describe(),
        }
    )
    if report.seal is not None:
        rows.append(
            {
                "item": "seal",
                "scope": str(report.seal.seal),
                "ok": report.seal.ok,
                "expected": None,
                "actual": None,
                "detail": report.seal.message,
            }
        )
    rows.extend(
        {"item": "error", "scope": None, "ok": False, "expected": None, "actual": None,
         "detail": error}
        for error in report.errors
    )  # fmt: skip
    return rows


@audit.command("verify")
@click.option("--seal", "seal_text", metavar="SEAL", help="<position>:<hash> from `audit seal`.")
@format_option
def verify_command(seal_text: str | None, fmt: Fmt) -> None:
    """Replay the whole store into scratch tables and compare them row by row with the live
    read tables; check the books (entries balance per currency, escrow = money held,
    suspense = flagged money, conservation, wallet balances) and the hash chain; with
    --seal, prove the log up to the sealed position is unchanged. Exit 0 only when
    everything agrees, 1 listing every difference."""
    wanted = parse_seal(seal_text) if seal_text is not None else None
    with read_side(ledger=_ledger()) as side:
        report = verify(side, seal=wanted)
    if fmt == "json":
        click.echo(json.dumps(report.view(), indent=2))
    elif fmt == "csv":
        emit_rows(_report_rows(report), list(REPORT_COLUMNS), "csv")
    else:
        _print_report(report)
    if not report.ok:
        click.get_current_context().exit(EXIT_FAILED)


@audit.command("seal")
@format_option
def seal_command(fmt: Fmt) -> None:
    """Catch the hash chain up and print its head: position and hash. Keep the seal outside
    the system (a signed email, a ticket, a WORM bucket); `audit verify --seal` checks it."""
    with read_side(ledger=_ledger()) as side:
        head = seal(side)
    if fmt != "table":
        emit_record({"position": head.position, "hash": head.hash, "seal": str(head)}, fmt)
        return
    click.echo(f"position  {head.position}\nhash      {head.hash}\nseal      {head}")


__all__ = ["AuditGroup", "audit"]
