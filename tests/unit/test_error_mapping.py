"""Every class of the error tree is mapped explicitly by both faces: an exit code for the CLI
(``ledger.cli.errors.EXIT_CODES``) and a status and code for the API
(``ledger.api.errors.LEDGER_ERRORS``). A new ``LedgerError`` subclass without a row in either
fails here, instead of falling through to a generic answer in production."""

import importlib
from collections.abc import Iterator

import pytest

from ledger.api.errors import LEDGER_ERRORS, RETRY_AFTER_CODES, RETRYABLE_CODES, status_for
from ledger.cli.errors import EXIT_BAD_INPUT, EXIT_CODES, EXIT_FAILED, exit_code_for
from ledger.cli.main import cli
from ledger.errors import (
    Conflict,
    DomainError,
    LedgerError,
    PaymentBusy,
    ProviderUnavailable,
)

# Everything that could define an error class is imported: the CLI loads its plugins (jobs,
# projections) on import; the API's plugins and faces are imported here.
assert cli
for _module in ("ledger.api.app", "projections.api", "ledger.simulator.paystack"):
    importlib.import_module(_module)


def _tree(root: type[LedgerError]) -> Iterator[type[LedgerError]]:
    yield root
    for sub in root.__subclasses__():
        yield from _tree(sub)


PRODUCT_ERRORS = sorted(
    {cls for cls in _tree(LedgerError) if not cls.__module__.startswith("tests")},
    key=lambda cls: cls.__name__,
)


def test_the_tree_has_the_classes_the_faces_promise() -> None:
    names = {cls.__name__ for cls in PRODUCT_ERRORS}
    assert {"DomainError", "NotFound", "ConfigError", "Conflict", "PaymentBusy"} <= names


@pytest.mark.parametrize("cls", PRODUCT_ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_class_has_an_exit_code(cls: type[LedgerError]) -> None:
    assert cls in EXIT_CODES, f"{cls.__module__}.{cls.__name__} has no exit code"
    assert EXIT_CODES[cls] in (EXIT_FAILED, EXIT_BAD_INPUT)


@pytest.mark.parametrize("cls", PRODUCT_ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_class_has_an_http_status(cls: type[LedgerError]) -> None:
    assert cls in LEDGER_ERRORS, f"{cls.__module__}.{cls.__name__} has no HTTP status"
    status, code = LEDGER_ERRORS[cls]
    assert 400 <= status < 600
    assert code


@pytest.mark.parametrize("cls", [Conflict, PaymentBusy], ids=lambda cls: cls.__name__)
def test_transient_refusals_are_409_with_retry_after_and_exit_1(cls: type[LedgerError]) -> None:
    status, code = status_for(cls("busy"))
    assert status == 409
    assert code in RETRY_AFTER_CODES
    assert code in RETRYABLE_CODES  # never stored for replay under an Idempotency-Key
    assert exit_code_for(cls("busy")) == EXIT_FAILED


def test_the_mapping_check_would_catch_an_unmapped_class() -> None:
    class Unmapped(DomainError):
        pass

    assert Unmapped in set(_tree(LedgerError))
    assert Unmapped not in EXIT_CODES
    assert Unmapped not in LEDGER_ERRORS
    # ...while at run time it still gets its nearest ancestor's answer, never a crash.
    assert status_for(Unmapped("x")) == LEDGER_ERRORS[DomainError]
    assert exit_code_for(Unmapped("x")) == EXIT_BAD_INPUT


def test_a_subclass_is_answered_by_its_own_row_not_its_parents() -> None:
    assert status_for(ProviderUnavailable("down")) == (503, "provider_unavailable")
    assert exit_code_for(ProviderUnavailable("down")) == EXIT_FAILED
