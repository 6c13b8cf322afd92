"""Settings (ledger.config.load_settings): defaults, validation naming the bad variable,
durations, and secrets kept out of reprs and error messages.

Every test runs in an empty directory (no ``.env``) with the ledger's variables unset.
"""

from datetime import timedelta
from pathlib import Path

import pytest

from ledger.config import Settings, load_settings
from ledger.errors import ConfigError

SECRET = "sk_live_0123456789abcdefSECRET"
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


def test_every_setting_is_named_by_an_environment_variable() -> None:
    assert len(ENV_NAMES) == len(Settings.model_fields)
    assert "LEDGER_PLATFORM_FEE_BPS" in ENV_NAMES
    assert "PAYSTACK_SECRET_KEY" in ENV_NAMES


def test_defaults() -> None:
    settings = load_settings()

    assert settings.database_url == "sqlite:///ledger.db"
    assert settings.platform_fee_bps == 0
    assert settings.payment_verify_after == timedelta(hours=24)
    assert settings.request_timeout == timedelta(hours=48)
    assert settings.payment_give_up_after == timedelta(hours=72)
    assert settings.timezone == "UTC"
    assert settings.paystack_url == "https://api.paystack.co"
    assert settings.paystack_secret_key is None
    assert settings.flutterwave_token_margin == timedelta(seconds=120)
    assert settings.postgres_schema == "public"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_PLATFORM_FEE_BPS", "250")
    monkeypatch.setenv("LEDGER_REQUEST_TIMEOUT", "36h")

    settings = load_settings()

    assert settings.platform_fee_bps == 250
    assert settings.request_timeout == timedelta(hours=36)


def test_settings_come_from_a_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LEDGER_PLATFORM_FEE_BPS=125\n")
    assert load_settings().platform_fee_bps == 125


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_PLATFORM_FEE_BPS", "250")
    assert load_settings(LEDGER_PLATFORM_FEE_BPS=100).platform_fee_bps == 100


@pytest.mark.parametrize("value", ["10000", "-1", "2.5", "lots"])
def test_a_platform_fee_outside_0_to_9999_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LEDGER_PLATFORM_FEE_BPS", value)

    with pytest.raises(ConfigError, match="LEDGER_PLATFORM_FEE_BPS") as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_a_platform_fee_of_9999_is_accepted() -> None:
    assert load_settings(LEDGER_PLATFORM_FEE_BPS=9999).platform_fee_bps == 9999


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("3d", timedelta(days=3)),
        ("PT1H", timedelta(hours=1)),
        ("PT24H", timedelta(hours=24)),
        ("3600", timedelta(seconds=3600)),
    ],
)
@pytest.mark.parametrize(
    "name",
    [
        "LEDGER_PAYMENT_VERIFY_AFTER",
        "LEDGER_REQUEST_TIMEOUT",
        "LEDGER_PAYMENT_GIVE_UP_AFTER",
        "FLUTTERWAVE_TOKEN_MARGIN",
    ],
)
def test_durations_are_accepted_in_every_documented_form(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: timedelta
) -> None:
    monkeypatch.setenv(name, value)
    field = {str(f.validation_alias): n for n, f in Settings.model_fields.items()}[name]
    assert getattr(load_settings(), field) == expected


@pytest.mark.parametrize("value", ["abc", "0s", "0", "PT0S", "-5m", "24 hours", ""])
def test_bad_or_zero_durations_are_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LEDGER_PAYMENT_GIVE_UP_AFTER", value)

    with pytest.raises(ConfigError, match="LEDGER_PAYMENT_GIVE_UP_AFTER"):
        load_settings()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///ledger.db",
        "sqlite:////var/lib/ledger/ledger.db",
        "postgresql://ledger:pw@db.internal:5432/ledger",
        "postgres://ledger@localhost/ledger",
    ],
)
def test_supported_database_urls_are_accepted(url: str) -> None:
    assert load_settings(LEDGER_DATABASE_URL=url).database_url == url


@pytest.mark.parametrize(
    "url",
    ["mysql://root:hunter2@db/ledger", "ledger.db", "sqlite://ledger.db", "http://x", ""],
)
def test_a_bad_database_url_is_a_config_error_without_echoing_the_url(url: str) -> None:
    with pytest.raises(ConfigError, match="LEDGER_DATABASE_URL") as caught:
        load_settings(LEDGER_DATABASE_URL=url)
    assert "hunter2" not in str(caught.value)


def test_the_database_url_with_its_password_is_not_in_the_repr() -> None:
    settings = load_settings(LEDGER_DATABASE_URL="postgresql://ledger:hunter2@db/ledger")
    assert "hunter2" not in repr(settings)


def test_an_unknown_time_zone_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="LEDGER_TIMEZONE"):
        load_settings(LEDGER_TIMEZONE="Mars/Olympus_Mons")


def test_a_time_zone_is_accepted_by_its_iana_name() -> None:
    assert load_settings(LEDGER_TIMEZONE="Africa/Lagos").timezone == "Africa/Lagos"


def test_the_paystack_secret_key_is_never_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTACK_SECRET_KEY", SECRET)
    monkeypatch.setenv("FLUTTERWAVE_CLIENT_SECRET", SECRET + "-fw")

    settings = load_settings()

    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in repr(settings.model_dump())
    assert settings.paystack_secret_key is not None
    assert settings.paystack_secret_key.get_secret_value() == SECRET


@pytest.mark.parametrize(
    "bad",
    [
        {"LEDGER_PLATFORM_FEE_BPS": "10000"},
        {"LEDGER_DATABASE_URL": "mysql://x"},
        {"LEDGER_REQUEST_TIMEOUT": "abc"},
        {"LEDGER_POSTGRES_POOL_SIZE": "0"},
    ],
)
def test_the_paystack_secret_key_is_never_in_an_error_message(
    monkeypatch: pytest.MonkeyPatch, bad: dict[str, str]
) -> None:
    monkeypatch.setenv("PAYSTACK_SECRET_KEY", SECRET)
    for name, value in bad.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert caught.value.__cause__ is None  # ``from None``: pydantic's echo of inputs is dropped


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.platform_fee_bps = 5  # type: ignore[misc]
