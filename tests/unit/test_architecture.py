"""The dependency rule (docs/architecture.md "Layers"), checked on the source with ``ast``.

``ledger/domain`` imports only the standard library, ``eventsourcing.domain``, pydantic and
itself (plus ``ledger.errors``); nothing in ``ledger/`` imports ``jobs`` or ``projections``;
a face (``ledger/cli``, ``ledger/api``) imports no other face: both get their parts from the
composition root (``ledger.bootstrap``); money in the domain is integer, so it has no float
annotations or float literals.
"""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "ledger"
DOMAIN = LEDGER / "domain"
STDLIB = frozenset(sys.stdlib_module_names)
DOMAIN_MODULES = sorted(DOMAIN.rglob("*.py"))
LEDGER_MODULES = sorted(LEDGER.rglob("*.py"))
FACES = ("ledger.cli", "ledger.api")
FACE_MODULES = sorted(p for face in ("cli", "api") for p in (LEDGER / face).rglob("*.py"))


def _imports(source: str, package: str) -> Iterator[tuple[int, str]]:
    """Every module ``source`` (a module of ``package``) imports, as absolute names, anywhere
    in the file: inside functions and ``TYPE_CHECKING`` blocks too. ``from pkg import sub``
    of a top-level package counts as importing ``pkg.sub``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if "." in module:
                yield node.lineno, module
            else:
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}"


def _imports_of(path: Path) -> list[tuple[int, str]]:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return list(_imports(path.read_text(), package))


def _domain_may_import(module: str) -> bool:
    top = module.split(".", maxsplit=1)[0]
    return (
        top in STDLIB
        or top == "pydantic"
        or module == "eventsourcing.domain"
        or module.startswith("eventsourcing.domain.")
        or module == "ledger.errors"
        or module.startswith("ledger.errors.")
        or module == "ledger.domain"
        or module.startswith("ledger.domain.")
    )


def test_the_domain_package_has_modules_to_check() -> None:
    names = {p.stem for p in DOMAIN_MODULES}
    assert {"money", "request", "transaction", "wallet", "escrow"} <= names


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: p.name)
def test_the_domain_imports_only_stdlib_eventsourcing_domain_pydantic_and_itself(
    path: Path,
) -> None:
    offending = [
        f"{path.name}:{lineno} imports {module}"
        for lineno, module in _imports_of(path)
        if not _domain_may_import(module)
    ]
    assert not offending, "; ".join(offending)


@pytest.mark.parametrize("path", LEDGER_MODULES, ids=lambda p: str(p.relative_to(LEDGER)))
def test_nothing_in_ledger_imports_jobs_or_projections(path: Path) -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{lineno} imports {module}"
        for lineno, module in _imports_of(path)
        if module.split(".", maxsplit=1)[0] in {"jobs", "projections"}
    ]
    assert not offending, "jobs and projections depend on ledger, never the other way round: " + (
        "; ".join(offending)
    )


def _face_of(module: str) -> str | None:
    return next((f for f in FACES if module == f or module.startswith(f + ".")), None)


def _foreign_faces(module: str, imports: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The imports of ``module`` (in a face) that reach into another face."""
    own = _face_of(module)
    return [(n, m) for n, m in imports if _face_of(m) not in (None, own)]


def _other_faces(path: Path) -> list[str]:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return [
        f"{path.relative_to(ROOT)}:{lineno} imports {imported}"
        for lineno, imported in _foreign_faces(module, _imports_of(path))
    ]


def test_there_are_faces_to_check() -> None:
    names = {str(p.relative_to(LEDGER)) for p in FACE_MODULES}
    assert {"cli/main.py", "cli/context.py", "api/app.py", "api/runtime.py"} <= names


@pytest.mark.parametrize("path", FACE_MODULES, ids=lambda p: str(p.relative_to(LEDGER)))
def test_a_face_imports_no_other_face(path: Path) -> None:
    offending = _other_faces(path)
    assert not offending, "faces get their parts from ledger.bootstrap, not each other: " + (
        "; ".join(offending)
    )


def test_nothing_in_ledger_outside_the_faces_imports_a_face() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{lineno} imports {module}"
        for path in LEDGER_MODULES
        if path not in FACE_MODULES
        for lineno, module in _imports_of(path)
        if _face_of(module) is not None
    ]
    assert not offending, "the core never depends on a face: " + "; ".join(offending)


def test_the_face_check_would_catch_a_face_importing_another() -> None:
    sample = (
        "from ledger.cli.context import build_ledger\n"
        "from ledger.api import errors\n"
        "from ledger.bootstrap import Components\n"
        "def f() -> None:\n"
        "    import ledger.cli.main\n"
    )
    imports = list(_imports(sample, "ledger.api"))
    foreign = {m for _, m in _foreign_faces("ledger.api.runtime", imports)}
    assert foreign == {"ledger.cli.context", "ledger.cli.main"}


def _annotations(tree: ast.AST) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.arg) and node.annotation is not None:
            yield node.annotation
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            yield node.returns


def _floats(source: str) -> Iterator[str]:
    """Float literals anywhere, and ``float`` in any annotation (also as a string)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, float | complex):
            yield f"line {node.lineno}: literal {node.value!r}"
    for annotation in _annotations(tree):
        for node in ast.walk(annotation):
            if (isinstance(node, ast.Name) and node.id == "float") or (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "float" in node.value
            ):
                yield f"line {annotation.lineno}: annotation {ast.unparse(annotation)}"


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: p.name)
def test_the_domain_has_no_floats(path: Path) -> None:
    found = list(_floats(path.read_text()))
    assert not found, f"{path.name}: money is integer minor units: " + "; ".join(found)


def test_the_float_check_would_catch_a_float() -> None:
    sample = (
        "amount: float = 1\n"
        "rate = 0.5\n"
        "def f(x: 'float', y: int | float) -> list[float]:\n"
        "    return isinstance(x, float)\n"
    )
    found = list(_floats(sample))
    assert len(found) == 5, found  # isinstance(x, float) alone is not money
    assert not list(_floats("def f(x: object) -> bool:\n    return isinstance(x, float)\n"))


def test_the_import_check_would_catch_a_forbidden_import() -> None:
    sample = (
        "import psycopg\n"
        "from eventsourcing.persistence import Mapper\n"
        "from eventsourcing import application\n"
        "from eventsourcing.domain import Aggregate\n"
        "from pydantic import BaseModel\n"
        "from .money import Money\n"
        "from ledger.errors import DomainError\n"
        "from ledger import config\n"
        "from . import ids\n"
        "def f() -> None:\n"
        "    import httpx\n"
    )
    imported = {module for _, module in _imports(sample, "ledger.domain")}
    refused = {module for module in imported if not _domain_may_import(module)}
    assert refused == {
        "psycopg",
        "eventsourcing.persistence",
        "eventsourcing.application",
        "ledger.config",
        "httpx",
    }
    assert {"ledger.domain.money", "ledger.domain", "ledger.errors"} <= imported


def test_an_api_plugin_imports_no_command_line_module() -> None:
    """The plugins' routes (``ledger.api`` entry points) are part of the HTTP face: importing
    a command-line module from them loads the CLI and its plugins into the server (and once
    made a circular import when the API was imported before the CLI)."""
    plugins = [ROOT / "projections" / "api.py"]
    offending = [
        f"{path.relative_to(ROOT)}:{lineno} imports {module}"
        for path in plugins
        for lineno, module in _imports_of(path)
        if module.startswith("ledger.cli") or module.rsplit(".", 1)[-1].startswith("cli")
    ]
    assert not offending, "API plugins import no CLI module: " + "; ".join(offending)
