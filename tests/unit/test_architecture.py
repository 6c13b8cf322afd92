"""The dependency rule (docs/design.md "Layout"), checked on the source with ``ast``.

``ledger/domain`` imports only the standard library, ``eventsourcing.domain``, pydantic and
itself (plus ``ledger.errors``); nothing in ``ledger/`` imports ``jobs`` or ``projections``;
money in the domain is integer, so it has no float annotations or float literals.
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
