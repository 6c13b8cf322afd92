"""The installed ``ledger`` console script in a real process: exit codes, exactly one line on
stderr and never a traceback, and the demo as ``make demo`` runs it.
"""

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli_support import CREATE, LEDGER_SCRIPT, SETTING_PREFIXES

# -- the installed console script, in a real process ----------------------------------------


def run_script(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    base["LEDGER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'script.db'}"
    return subprocess.run(
        [str(LEDGER_SCRIPT), *args],
        capture_output=True,
        text=True,
        env={**base, **env},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def assert_script_refused(proc: subprocess.CompletedProcess[str], code: int, mentions: str) -> None:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert mentions in lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "env", "mentions"),
    [
        pytest.param(
            (*CREATE, "--amount", "12.5", "--currency", "NGN"), {}, "integer", id="amount"
        ),
        pytest.param(("requests", "show", "nope"), {}, "malformed request id", id="uuid"),
        pytest.param(("users", "verify", "ghost"), {}, "no user", id="unknown-user"),
        pytest.param(
            ("users", "show", "ghost"),
            {"LEDGER_PLATFORM_FEE_BPS": "20000"},
            "LEDGER_PLATFORM_FEE_BPS",
            id="fee-setting",
        ),
        pytest.param(
            ("users", "show", "ghost"),
            {"LEDGER_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
            "database unreachable",
            id="unreachable-db",
        ),
        pytest.param(("users", "register", "x"), {}, "--role", id="usage"),
    ],
)
def test_installed_script_exits_2_with_one_stderr_line(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], mentions: str
) -> None:
    assert_script_refused(run_script(tmp_path, *args, **env), 2, mentions)


NO_LEDGER = (
    "error: no ledger at sqlite:///ledger.db: set LEDGER_DATABASE_URL or run a command that writes"
)


def test_report_escrow_without_a_store_exits_2_and_creates_no_file(tmp_path: Path) -> None:
    """Regression: with no LEDGER_DATABASE_URL, `ledger report escrow` created an empty
    ledger.db and printed an empty table with exit 0, which on-call reads as "nothing held".
    (Every other read-only command: tests/e2e/test_cli_errors.py.)"""
    base = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LEDGER_SCRIPT), *args],
            capture_output=True,
            text=True,
            env=base,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )

    refused = run("report", "escrow")
    assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr
    assert refused.stderr.splitlines() == [NO_LEDGER]
    assert list(tmp_path.iterdir()) == [], "a read-only command created a file"
    # A command that writes creates the store, as before; then the report reads it.
    assert run("users", "register", "fan-1", "--role", "fan").returncode == 0
    assert (tmp_path / "ledger.db").is_file()
    report = run("report", "escrow")
    assert (report.returncode, report.stderr) == (0, "")


def test_installed_script_runs_a_command_and_says_already_done(tmp_path: Path) -> None:
    first = run_script(tmp_path, "users", "register", "fan-1", "--role", "fan")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.strip() == "registered fan fan-1"
    again = run_script(tmp_path, "users", "register", "fan-1", "--role", "fan")
    assert (again.returncode, again.stderr) == (0, "")
    assert "already registered" in again.stdout
    assert run_script(tmp_path, "--help").returncode == 0


def test_installed_demo_runs_like_make_demo(tmp_path: Path) -> None:
    proc = run_script(tmp_path, "demo", LEDGER_DATABASE_URL="sqlite:///demo-ledger.db")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "Summary report" in proc.stdout
    assert (tmp_path / "demo-ledger.db").exists()


def test_installed_script_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_bytes(b"these are not the pages of a database\n" * 200)
    proc = run_script(tmp_path, "users", "show", "fan-1", LEDGER_DATABASE_URL="sqlite:///notes.db")
    assert_script_refused(proc, 2, "event store unusable")
