"""The repository stands alone: no tracked file of the code, tests, docs, Makefile or CI points
at something outside it (the team's brief, a fixtures folder beside the checkout). The design is
docs/design.md and the provider fixtures are tests/fixtures/.

Checked on the files git tracks (``git ls-files``), so a fresh clone is what is judged; outside
a git checkout (an unpacked source archive) the test is skipped.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not match itself.
FORBIDDEN = ("DESIGN" + ".md", "shared" + "/")


def tracked_files() -> list[str]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to list tracked files with")
    listed = subprocess.run(
        [git, "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout
    return [name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if any(word in line for word in FORBIDDEN):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "cite docs/design.md or tests/fixtures instead:\n" + "\n".join(
        offenders
    )


def test_the_design_and_the_fixtures_are_in_the_repository() -> None:
    files = set(tracked_files())
    assert "docs/design.md" in files
    assert "tests/fixtures/README.md" in files
    assert "tests/fixtures/paystack/webhook_charge_success.sig" in files
