"""The payout settings: FLUTTERWAVE_URL (no default: sandbox or production is a choice),
FLUTTERWAVE_MAX_RETRIES, and the secret FLUTTERWAVE_WEBHOOK_SECRET, which never shows in a
repr or an error; and the transfers client built from them, refusing to start half configured.

Every test runs in an empty directory (no ``.env``) with the ledger's variables unset.
"""

from pathlib import Path

import pytest

from ledger.config import Settings, load_settings
from ledger.errors import ConfigError
from ledger.providers.flutterwave_transfers import FlutterwaveTransfers

WEBHOOK_SECRET = "flw_secret_hash_never_print_42"
ENV_NAMES = sorted(
    str(field.validation_alias)
    for field in Settings.model_fields.values()
    if field.validation_alias is not None
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_payouts_are_off_until_a_url_is_set() -> None:
    settings = load_settings()
    assert settings.flutterwave_url is None
    assert settings.flutterwave_webhook_secret is None
    assert settings.flutterwave_max_retries == 3
    assert load_settings(FLUTTERWAVE_URL="  ").flutterwave_url is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"FLUTTERWAVE_URL": "ftp://flutterwave.test"}, "FLUTTERWAVE_URL: expected an http"),
        ({"FLUTTERWAVE_MAX_RETRIES": "11"}, "FLUTTERWAVE_MAX_RETRIES"),
        ({"FLUTTERWAVE_WEBHOOK_SECRET": "short"}, "FLUTTERWAVE_WEBHOOK_SECRET: must be at least"),
    ],
)
def test_a_bad_payout_setting_is_an_error_naming_it(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**overrides)


def test_the_webhook_secret_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUTTERWAVE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    settings = load_settings()
    assert WEBHOOK_SECRET not in repr(settings)
    assert WEBHOOK_SECRET not in repr(settings.model_dump())
    assert settings.flutterwave_webhook_secret is not None
    assert settings.flutterwave_webhook_secret.get_secret_value() == WEBHOOK_SECRET
    with pytest.raises(ConfigError) as err:
        load_settings(FLUTTERWAVE_WEBHOOK_SECRET=WEBHOOK_SECRET, LEDGER_PLATFORM_FEE_BPS="-1")
    assert WEBHOOK_SECRET not in str(err.value)


def test_the_client_needs_the_url_and_the_credentials(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    with pytest.raises(ConfigError, match="set FLUTTERWAVE_URL"):
        FlutterwaveTransfers.from_settings(load_settings(LEDGER_DATABASE_URL=database))
    url_only = load_settings(LEDGER_DATABASE_URL=database, FLUTTERWAVE_URL="https://fw.test")
    with pytest.raises(ConfigError, match="set FLUTTERWAVE_CLIENT_ID"):
        FlutterwaveTransfers.from_settings(url_only)


def test_the_client_takes_its_url_timeout_and_retries_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings(
        LEDGER_DATABASE_URL=f"sqlite:///{tmp_path / 'ledger.db'}",
        FLUTTERWAVE_URL="https://fw.test/",
        FLUTTERWAVE_CLIENT_ID="id",
        FLUTTERWAVE_CLIENT_SECRET="secret-never-print",
        FLUTTERWAVE_TOKEN_URL="https://idp.fw.test/token",
        FLUTTERWAVE_TIMEOUT="7s",
        FLUTTERWAVE_MAX_RETRIES="1",
    )
    with FlutterwaveTransfers.from_settings(settings) as client:
        assert repr(client) == (
            "FlutterwaveTransfers(base_url='https://fw.test', timeout=7.0, max_retries=1)"
        )
