"""The API's settings (LEDGER_API_TOKENS, LEDGER_WEBHOOK_ALLOWED_IPS, LEDGER_READY_MAX_LAG) and
the bearer-token check, without a server."""

import pytest

from ledger.api.auth import Authenticator, principal_of
from ledger.api.errors import ApiError
from ledger.config import load_settings
from ledger.errors import ConfigError

TOKEN = "tok_unit_0123456789abcdef"


def test_tokens_are_secret_and_split_on_commas() -> None:
    settings = load_settings(LEDGER_API_TOKENS=f" {TOKEN} , tok_second_0123456789ab")
    assert TOKEN not in repr(settings)
    auth = Authenticator(settings.api_tokens)
    assert auth.principal(f"Bearer {TOKEN}") == principal_of(TOKEN)
    assert auth.principal("bearer tok_second_0123456789ab").startswith("token-")
    assert TOKEN not in principal_of(TOKEN)


@pytest.mark.parametrize("value", ["short", f"{TOKEN},tiny", "tok with spaces 0123456789"])
def test_a_weak_token_is_refused_without_being_echoed(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(LEDGER_API_TOKENS=value)
    assert str(refused.value).startswith("invalid setting LEDGER_API_TOKENS")
    assert "short" not in str(refused.value)
    assert "tiny" not in str(refused.value)


def test_no_tokens_means_the_api_is_not_configured() -> None:
    auth = Authenticator(load_settings(LEDGER_API_TOKENS="").api_tokens)
    assert not auth.configured
    with pytest.raises(ConfigError):
        auth.principal(f"Bearer {TOKEN}")


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("", 401), ("Basic abc", 401), ("Bearer", 401), ("Bearer nope", 403)],
)
def test_a_missing_token_is_401_and_an_unknown_one_403(header: str | None, status: int) -> None:
    auth = Authenticator(load_settings(LEDGER_API_TOKENS=TOKEN).api_tokens)
    with pytest.raises(ApiError) as refused:
        auth.principal(header)
    assert refused.value.status == status
    assert auth.try_principal(header) is None


def test_the_allowlist_takes_addresses_and_networks() -> None:
    settings = load_settings(LEDGER_WEBHOOK_ALLOWED_IPS="52.31.139.75, 10.0.0.0/8,::1")
    assert settings.webhook_allowed_ips == ("52.31.139.75", "10.0.0.0/8", "::1")
    assert load_settings().webhook_allowed_ips == ()
    with pytest.raises(ConfigError, match="LEDGER_WEBHOOK_ALLOWED_IPS"):
        load_settings(LEDGER_WEBHOOK_ALLOWED_IPS="paystack.com")


def test_the_readiness_lag_limit_is_a_count_of_events() -> None:
    assert load_settings().ready_max_lag == 10_000
    assert load_settings(LEDGER_READY_MAX_LAG="0").ready_max_lag == 0
    with pytest.raises(ConfigError, match="LEDGER_READY_MAX_LAG"):
        load_settings(LEDGER_READY_MAX_LAG="-1")
