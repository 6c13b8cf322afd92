"""The one place where the CLI turns exceptions into exit codes and one line on stderr.

Exit codes, one per class of ``ledger.errors`` (every class is listed in ``EXIT_CODES``; a
test fails when a new one is not)::

    0  done, or already done ("already released": the command had taken effect before)
    1  ProviderError and its kinds (the payment provider refused, is down, is misconfigured
       or answered something unusable),
       Conflict (concurrent writers kept winning), PaymentBusy (another command holds the
       payment, e.g. a refund in flight), a database failure mid-command, an internal
       error: retrying later, or fixing the system, may help
    2  bad input: InvalidInput, DomainError and InsufficientFunds (a rule said no), NotFound,
       ConfigError (a bad setting, an unreachable database, no ledger for a command that
       only reads), and click's usage errors

Whatever fails, stderr gets exactly one line, ``error: <message>``, and never a traceback,
unless ``LEDGER_DEBUG=1`` (then an unexpected exception propagates with its traceback).
Nothing is written on failure: the application service saves only after every check passed.
Messages come from our own exceptions, which never carry secrets; for an unexpected exception
only its type is printed, since its text could contain anything (a connection string, say).
"""

import os
from collections.abc import Callable

import click
from click.exceptions import NoArgsIsHelpError
from eventsourcing.persistence import PersistenceError

from ledger.errors import (
    ConfigError,
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidInput,
    LedgerError,
    NotFound,
    PaymentBusy,
    PayoutLookupIncomplete,
    ProviderAnswerInvalid,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
    RefundRefused,
    SchemaError,
    TransferRefused,
    WebhookMalformed,
    WebhookSignatureInvalid,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

# Every class of ledger.errors, explicitly (see the module docstring).
EXIT_CODES: dict[type[LedgerError], int] = {
    LedgerError: EXIT_FAILED,
    DomainError: EXIT_BAD_INPUT,
    InvalidInput: EXIT_BAD_INPUT,
    InsufficientFunds: EXIT_BAD_INPUT,
    NotFound: EXIT_BAD_INPUT,
    ConfigError: EXIT_BAD_INPUT,
    SchemaError: EXIT_BAD_INPUT,  # run `ledger db upgrade`
    WebhookSignatureInvalid: EXIT_BAD_INPUT,
    WebhookMalformed: EXIT_BAD_INPUT,
    TransferRefused: EXIT_FAILED,
    RefundRefused: EXIT_FAILED,
    PayoutLookupIncomplete: EXIT_FAILED,
    ProviderError: EXIT_FAILED,
    ProviderUnavailable: EXIT_FAILED,
    ProviderMisconfigured: EXIT_FAILED,  # fix the settings (key, URL), then run it again
    ProviderAnswerInvalid: EXIT_FAILED,
    Conflict: EXIT_FAILED,
    PaymentBusy: EXIT_FAILED,
}


def exit_code_for(exc: LedgerError) -> int:
    """The exit code for one of our errors: its class's, or its nearest mapped ancestor's."""
    for cls in type(exc).__mro__:
        code = EXIT_CODES.get(cls)
        if code is not None:
            return code
    return EXIT_FAILED


def one_line(message: str) -> str:
    """``message`` folded onto one line."""
    return " ".join(message.split()) or "unknown error"


def report(message: str) -> None:
    """Print ``error: <message>`` as one line on stderr."""
    click.echo(f"error: {one_line(message)}", err=True)


def _usage_error(exc: click.UsageError) -> int:
    if isinstance(exc, NoArgsIsHelpError) and exc.ctx is not None:
        # `ledger` or `ledger users` alone: what was asked for is the help.
        click.echo(exc.ctx.get_help())
        return EXIT_OK
    hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    report(exc.format_message() + hint)
    return exc.exit_code


def run_guarded(invoke: Callable[[], object]) -> int:
    """Run the CLI (``invoke`` is click's non-standalone ``main``) and return the exit code,
    having reported any failure as one line on stderr."""
    try:
        outcome = invoke()
    except click.UsageError as exc:
        return _usage_error(exc)
    except click.ClickException as exc:
        report(exc.format_message())
        return exc.exit_code
    except click.Abort:
        report("aborted")
        return EXIT_FAILED
    except LedgerError as exc:
        report(str(exc))
        return exit_code_for(exc)
    except PersistenceError as exc:
        report(f"database error ({type(exc).__name__})")
        return EXIT_FAILED
    except Exception as exc:
        if os.environ.get("LEDGER_DEBUG") == "1":
            raise
        report(f"internal error ({type(exc).__name__})")
        return EXIT_FAILED
    return outcome if isinstance(outcome, int) else EXIT_OK


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CODES",
    "EXIT_FAILED",
    "EXIT_OK",
    "exit_code_for",
    "one_line",
    "report",
    "run_guarded",
]
