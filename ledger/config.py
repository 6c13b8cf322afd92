"""Settings, from environment variables and an optional ``.env`` file, validated at start-up.

Every setting is named by its environment variable. A bad or missing one raises
``ConfigError`` with one line naming it; secret values never appear in that line, in
``repr(settings)`` or in logs (they are ``SecretStr``).
Durations accept seconds (``3600``), ``90s``, ``30m``, ``24h``, ``3d``, ``2w`` or ISO 8601
(``PT24H``): ``ledger.clock.parse_duration``, the parser of every duration.
"""

import ipaddress
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from ledger.addresses import check_email, check_webhook_url, parse_smtp_url
from ledger.clock import parse_duration
from ledger.domain.fees import MAX_FEE_BPS
from ledger.domain.money import CURRENCIES
from ledger.errors import ConfigError, InvalidInput


def _parse_duration(value: Any) -> Any:
    """Strings through the one duration parser (``ledger.clock.parse_duration``); anything
    it does not read is left to pydantic, which says what is wrong with it."""
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except InvalidInput:
            return value
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]


class Settings(BaseSettings):
    """All settings of the ledger. Construct with ``load_settings()``."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=False, frozen=True
    )

    database_url: str = Field(
        "sqlite:///ledger.db", validation_alias="LEDGER_DATABASE_URL", repr=False
    )
    postgres_schema: str = Field("public", validation_alias="LEDGER_POSTGRES_SCHEMA")
    postgres_pool_size: int = Field(5, ge=1, le=100, validation_alias="LEDGER_POSTGRES_POOL_SIZE")
    platform_fee_bps: int = Field(
        0, ge=0, le=MAX_FEE_BPS, validation_alias="LEDGER_PLATFORM_FEE_BPS"
    )
    payment_verify_after: Duration = Field(
        timedelta(hours=24), validation_alias="LEDGER_PAYMENT_VERIFY_AFTER"
    )
    request_timeout: Duration = Field(
        timedelta(hours=48), validation_alias="LEDGER_REQUEST_TIMEOUT"
    )
    payment_give_up_after: Duration = Field(
        timedelta(hours=72), validation_alias="LEDGER_PAYMENT_GIVE_UP_AFTER"
    )
    timezone: str = Field("UTC", validation_alias="LEDGER_TIMEZONE")
    wallet_currencies: Annotated[tuple[str, ...], NoDecode] = Field(
        ("NGN",), validation_alias="LEDGER_WALLET_CURRENCIES"
    )
    job_batch_size: int = Field(500, ge=1, le=100_000, validation_alias="LEDGER_JOB_BATCH_SIZE")
    aggregate_cache_size: int = Field(
        10_000, ge=0, le=10_000_000, validation_alias="LEDGER_AGGREGATE_CACHE_SIZE"
    )
    payment_lock_timeout: Duration = Field(
        timedelta(seconds=10), validation_alias="LEDGER_PAYMENT_LOCK_TIMEOUT"
    )
    conflict_retries: int = Field(5, ge=0, le=100, validation_alias="LEDGER_CONFLICT_RETRIES")
    # Who runs the CLI's interventions when --operator is not given (ledger.operators: a
    # shared account such as root is refused when the command runs, not here, so commands
    # that name nobody still work with it set).
    operator: str | None = Field(None, validation_alias="LEDGER_OPERATOR")

    # Notifications (docs/operations.md "Notifications"): the SMTP server (its URL may hold a
    # password: secret), the From address, the operators' addresses, the platform webhook and
    # its signing secret (secret), and the delivery job's timeouts and retries.
    smtp_url: SecretStr | None = Field(None, validation_alias="LEDGER_SMTP_URL")
    smtp_from: str | None = Field(None, validation_alias="LEDGER_SMTP_FROM", validate_default=True)
    smtp_ca_file: str | None = Field(None, validation_alias="LEDGER_SMTP_CA_FILE")
    operator_emails: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias="LEDGER_OPERATOR_EMAILS"
    )
    notify_webhook_url: str | None = Field(None, validation_alias="LEDGER_NOTIFY_WEBHOOK_URL")
    notify_webhook_secret: SecretStr | None = Field(
        None, validation_alias="LEDGER_NOTIFY_WEBHOOK_SECRET", validate_default=True
    )
    notify_timeout: Duration = Field(
        timedelta(seconds=10), validation_alias="LEDGER_NOTIFY_TIMEOUT"
    )
    notify_max_attempts: int = Field(
        10, ge=1, le=100, validation_alias="LEDGER_NOTIFY_MAX_ATTEMPTS"
    )
    notify_retry_after: Duration = Field(
        timedelta(minutes=1), validation_alias="LEDGER_NOTIFY_RETRY_AFTER"
    )
    notify_max_age: Duration = Field(timedelta(days=7), validation_alias="LEDGER_NOTIFY_MAX_AGE")

    paystack_secret_key: SecretStr | None = Field(None, validation_alias="PAYSTACK_SECRET_KEY")
    # PAYSTACK_PUBLIC_KEY is accepted and ignored (unknown variables are): the public key
    # belongs to a checkout page, and the ledger has none.
    paystack_url: str = Field("https://api.paystack.co", validation_alias="PAYSTACK_URL")
    paystack_timeout: Duration = Field(timedelta(seconds=10), validation_alias="PAYSTACK_TIMEOUT")
    paystack_max_retries: int = Field(3, ge=0, le=10, validation_alias="PAYSTACK_MAX_RETRIES")
    provider_concurrency: int = Field(
        8, ge=1, le=64, validation_alias="LEDGER_PROVIDER_CONCURRENCY"
    )

    flutterwave_client_id: str | None = Field(None, validation_alias="FLUTTERWAVE_CLIENT_ID")
    flutterwave_client_secret: SecretStr | None = Field(
        None, validation_alias="FLUTTERWAVE_CLIENT_SECRET"
    )
    flutterwave_token_url: str | None = Field(None, validation_alias="FLUTTERWAVE_TOKEN_URL")
    flutterwave_token_margin: Duration = Field(
        timedelta(seconds=120), validation_alias="FLUTTERWAVE_TOKEN_MARGIN"
    )
    flutterwave_timeout: Duration = Field(
        timedelta(seconds=5), validation_alias="FLUTTERWAVE_TIMEOUT"
    )
    # Payouts (docs/providers.md "Flutterwave transfers"): the v4 API's base URL (no default:
    # sandbox or production is a choice), retries of a call, and the webhook secret hash.
    flutterwave_url: str | None = Field(None, validation_alias="FLUTTERWAVE_URL")
    flutterwave_max_retries: int = Field(3, ge=0, le=10, validation_alias="FLUTTERWAVE_MAX_RETRIES")
    flutterwave_webhook_secret: SecretStr | None = Field(
        None, validation_alias="FLUTTERWAVE_WEBHOOK_SECRET"
    )

    # The HTTP API (`ledger serve`): bearer tokens, comma-separated (secret), the optional
    # source-address allowlist of the Paystack webhook, and /readyz's projection-lag limit.
    api_tokens: SecretStr | None = Field(None, validation_alias="LEDGER_API_TOKENS")
    webhook_allowed_ips: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias="LEDGER_WEBHOOK_ALLOWED_IPS"
    )
    ready_max_lag: int = Field(10_000, ge=0, validation_alias="LEDGER_READY_MAX_LAG")

    # Running it (docs/deployment.md): the services' log lines (ledger.logs), how often the
    # job runner refreshes its read-table gauges, and the reconnection backoff's ceiling.
    log_format: Literal["logfmt", "json"] = Field("logfmt", validation_alias="LEDGER_LOG_FORMAT")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias="LEDGER_LOG_LEVEL"
    )
    metrics_refresh: Duration = Field(
        timedelta(seconds=30), validation_alias="LEDGER_METRICS_REFRESH"
    )
    reconnect_max_delay: Duration = Field(
        timedelta(seconds=10), validation_alias="LEDGER_RECONNECT_MAX_DELAY"
    )

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("metrics_refresh")
    @classmethod
    def _check_metrics_refresh(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=1):
            raise ValueError("must be between 1s and 60s (the gauges are at most a minute old)")
        return value

    @field_validator("reconnect_max_delay")
    @classmethod
    def _check_reconnect_max_delay(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=5):
            raise ValueError("must be between 1s and 5m")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("expected sqlite:///PATH or postgresql://USER@HOST:PORT/DBNAME")
        return value

    @field_validator("paystack_url", "flutterwave_token_url", "flutterwave_url")
    @classmethod
    def _check_http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.field_name != "paystack_url" and not (value or "").strip():
            return None  # empty: Flutterwave not configured
        if value is None or not value.startswith(("https://", "http://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("wallet_currencies", mode="before")
    @classmethod
    def _split_currencies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("wallet_currencies")
    @classmethod
    def _check_currencies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one currency, e.g. NGN or NGN,GHS")
        for currency in value:
            if currency not in CURRENCIES:
                raise ValueError(f"unsupported currency {currency!r}")
        return value

    @field_validator("api_tokens")
    @classmethod
    def _check_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        for part in value.get_secret_value().split(","):
            token = part.strip()
            if len(token) < 16 or any(c.isspace() or not c.isprintable() for c in token):
                raise ValueError("each token needs at least 16 printable characters, no spaces")
        return value

    @field_validator("webhook_allowed_ips", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("webhook_allowed_ips")
    @classmethod
    def _check_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {network!r}") from None
        return value

    @field_validator("postgres_schema")
    @classmethod
    def _check_schema(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
            raise ValueError("expected a lower-case SQL identifier")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown IANA time zone") from None
        return value

    @field_validator(
        "payment_verify_after",
        "request_timeout",
        "payment_give_up_after",
        "flutterwave_token_margin",
        "paystack_timeout",
        "flutterwave_timeout",
    )
    @classmethod
    def _check_positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration")
        return value

    @field_validator("flutterwave_webhook_secret")
    @classmethod
    def _check_flutterwave_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (the secret hash set on Flutterwave)")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_smtp_url(value.get_secret_value())  # its ValueError never quotes the URL
        return value

    @field_validator("smtp_from")
    @classmethod
    def _check_smtp_from(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not (value or "").strip():
            if info.data.get("smtp_url") is not None:
                raise ValueError("required when LEDGER_SMTP_URL is set")
            return None
        return _address(check_email, value)

    @field_validator("operator_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("operator_emails")
    @classmethod
    def _check_emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_address(check_email, address) for address in value)

    @field_validator("notify_webhook_url")
    @classmethod
    def _check_notify_url(cls, value: str | None) -> str | None:
        if not (value or "").strip():
            return None
        return _address(check_webhook_url, value)

    @field_validator("notify_webhook_secret")
    @classmethod
    def _check_notify_secret(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            if info.data.get("notify_webhook_url") is not None:
                raise ValueError("required when LEDGER_NOTIFY_WEBHOOK_URL is set")
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("notify_timeout", "notify_retry_after", "notify_max_age")
    @classmethod
    def _check_notify_durations(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration")
        return value


def _address(check: Callable[[object], str], value: object) -> str:
    try:
        return check(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise ``ConfigError`` naming the first bad one.

    ``overrides`` take precedence over the environment (by environment-variable name)."""
    try:
        return Settings(**overrides)
    except SettingsError as exc:  # a value the source could not even parse
        raise ConfigError(f"invalid settings: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "settings"
        field = Settings.model_fields.get(name)  # a default checked is named by its field
        if field is not None and isinstance(field.validation_alias, str):
            name = field.validation_alias
        message = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {name}: {message}") from None


__all__ = ["Settings", "load_settings"]
