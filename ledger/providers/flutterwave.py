"""The Flutterwave v4 access token: fetched with OAuth2 client credentials, shared by every
process through the ``provider_tokens`` table of the ledger's database.

Invariants:
- The token lives in ``provider_tokens`` (one row per provider), never in the event log, a
  log line, an exception or a repr.
- Single flight: a refresh happens with the provider's row locked (PostgreSQL
  ``SELECT ... FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``) and re-checks the expiry after taking
  the lock, so processes refreshing together make one call to Flutterwave and end with the
  same token. The lock is held for that one call (bounded by ``FLUTTERWAVE_TIMEOUT`` from
  connect to last byte).
- ``refresh_if_needed`` refreshes when less than ``FLUTTERWAVE_TOKEN_MARGIN`` remains; with
  Flutterwave not configured it answers ``disabled`` and touches nothing.

What it deliberately does not do: retry a failed token call (the job runs every minute and the
margin leaves two more runs before expiry), or keep the token in memory between calls (the
table is the one copy, so every process sees the same token).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictInt

from ledger.clock import Clock, system_clock
from ledger.config import Settings
from ledger.errors import ConfigError, ProviderUnavailable
from ledger.providers.deadline import deadline_transport
from ledger.providers.http import (
    Caller,
    OwnsHttpClient,
    RetryPolicy,
    misconfigured,
    one_line,
    parse,
    read_json,
)
from ledger.schema.dialect import insert_ignore, is_lock_timeout
from ledger.sidetables import SideTables

PROVIDER = "flutterwave"
log = logging.getLogger("ledger.providers.flutterwave")


class TokenOutcome(StrEnum):
    """What ``refresh_if_needed`` did."""

    REFRESHED = "refreshed"  # fetched a new token and stored it
    FRESH = "fresh"  # the stored token has more than the margin left
    DISABLED = "disabled"  # Flutterwave is not configured


@dataclass(frozen=True)
class StoredToken:
    """A ``provider_tokens`` row (all None when there is none yet)."""

    access_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    refreshed_at: datetime | None = None

    def fresh(self, now: datetime, margin: timedelta) -> bool:
        """At least ``margin`` left before expiry."""
        return (
            bool(self.access_token)
            and self.expires_at is not None
            and self.expires_at - now >= margin
        )


class TokenStore(Protocol):
    def peek(self, provider: str) -> StoredToken:
        """The row as it is, without locking."""
        ...

    def under_lock(
        self, provider: str, update: Callable[[StoredToken], StoredToken | None]
    ) -> tuple[StoredToken, bool]:
        """Lock the row (creating it if missing), call ``update`` with it and store what it
        returns; None keeps the row. Returns the row after and whether it was updated. If
        ``update`` raises, nothing is stored."""
        ...


_INSERT = insert_ignore("provider_tokens", ("provider",), ("provider",))
_SELECT = "SELECT access_token, expires_at, refreshed_at FROM provider_tokens WHERE provider = %s"
_UPDATE = (
    "UPDATE provider_tokens SET access_token = %s, expires_at = %s, refreshed_at = %s "
    "WHERE provider = %s"
)


class SqlTokenStore:
    """``provider_tokens`` in the ledger's database (the table is ``ledger.schema``'s), on
    either backend. The lock is the row's: PostgreSQL ``SELECT ... FOR UPDATE`` (the row is
    inserted first when missing, so there is always a row to lock); SQLite ``BEGIN
    IMMEDIATE``, the database's write lock (ledger writes wait while a refresh is in flight,
    at most one token call). Waiting longer than ``lock_timeout`` is ``ProviderUnavailable``."""

    def __init__(self, tables: SideTables, *, lock_timeout: timedelta) -> None:
        self._tables = tables
        self._lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"SqlTokenStore(kind={self._tables.kind!r})"

    def close(self) -> None:
        self._tables.close()

    def peek(self, provider: str) -> StoredToken:
        with self._tables.connection() as conn:
            return _row(conn.execute(_SELECT, (provider,)).fetchone())

    def under_lock(
        self, provider: str, update: Callable[[StoredToken], StoredToken | None]
    ) -> tuple[StoredToken, bool]:
        try:
            with self._tables.transaction(lock_timeout=self._lock_timeout) as conn:
                conn.execute(_INSERT, (provider,))
                current = _row(conn.execute(_SELECT + conn.for_update, (provider,)).fetchone())
                new = update(current)
                if new is not None:
                    row = (new.access_token, new.expires_at, new.refreshed_at, provider)
                    conn.execute(_UPDATE, row)
        except Exception as exc:
            if not is_lock_timeout(exc):
                raise
            raise ProviderUnavailable(
                f"{provider} token: another process kept the token row locked; try again"
            ) from None
        return (current, False) if new is None else (new, True)


def _instant(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _row(row: tuple[object, ...] | None) -> StoredToken:
    if row is None:
        return StoredToken()
    token, expires_at, refreshed_at = row
    return StoredToken(
        access_token=token if isinstance(token, str) else None,
        expires_at=_instant(expires_at),
        refreshed_at=_instant(refreshed_at),
    )


class _TokenAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: str = Field(min_length=1)
    expires_in: StrictInt = Field(gt=0)


class FlutterwaveTokenManager(OwnsHttpClient):
    """Keeps one valid Flutterwave access token in ``provider_tokens`` for all processes."""

    def __init__(
        self,
        *,
        store: TokenStore,
        client_id: str | None,
        client_secret: SecretStr | str | None,
        token_url: str | None,
        margin: timedelta = timedelta(seconds=120),
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._secret = SecretStr(client_secret) if isinstance(client_secret, str) else client_secret
        self.client_id = (client_id or "").strip() or None
        self.token_url = (token_url or "").strip() or None
        self.margin = margin
        self.timeout = timeout
        self._store = store
        self._clock = clock
        self._owns_client = client is None
        self._client = client or httpx.Client(
            transport=transport or deadline_transport(), timeout=timeout
        )
        # ``timeout`` bounds the whole token call (connect to last byte): the row lock is
        # held that long at most.
        self._caller = Caller(
            self._client, PROVIDER, RetryPolicy(max_retries=0), log, timeout=timeout
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = system_clock,
    ) -> "FlutterwaveTokenManager":
        """A manager on the ledger's database (``LEDGER_DATABASE_URL``) configured by the
        ``FLUTTERWAVE_*`` settings. Connects to nothing until used."""
        # A refresher holds the lock for one token call; waiting twice that is plenty.
        wait = settings.flutterwave_timeout * 2 + timedelta(seconds=5)
        tables = SideTables.from_settings(settings, pool_size=0)
        store = SqlTokenStore(tables, lock_timeout=wait)
        return cls(
            store=store,
            client_id=settings.flutterwave_client_id,
            client_secret=settings.flutterwave_client_secret,
            token_url=settings.flutterwave_token_url,
            margin=settings.flutterwave_token_margin,
            timeout=settings.flutterwave_timeout.total_seconds(),
            client=client,
            transport=transport,
            clock=clock,
        )

    @property
    def enabled(self) -> bool:
        """Whether client id, client secret and token URL are all set."""
        secret = self._secret.get_secret_value().strip() if self._secret else ""
        return bool(self.client_id and secret and self.token_url)

    def __repr__(self) -> str:
        return (
            f"FlutterwaveTokenManager(token_url={self.token_url!r}, "
            f"client_id={self.client_id!r}, store={self._store!r})"
        )

    def refresh_if_needed(self, now: datetime | None = None) -> TokenOutcome:
        """Fetch and store a new token when less than the margin remains (single flight).

        ``now`` defaults to the wall clock; pass wall time, not simulated business time: the
        token's lifetime is real. Raises ``ProviderUnavailable`` when a retry may help
        (network, deadline, 429, 5xx), ``ProviderMisconfigured`` when Flutterwave refuses the
        credentials or the URL answers something else (any 4xx, a body that is not JSON),
        ``ProviderAnswerInvalid`` for a 2xx without a usable token; the stored token is
        then kept."""
        if not self.enabled:
            return TokenOutcome.DISABLED
        return self._ensure(now)[0]

    def current_token(self, now: datetime | None = None) -> str:
        """A token with at least the margin left, refreshing it first if needed.
        ``ConfigError`` when Flutterwave is not configured."""
        if not self.enabled:
            raise ConfigError(
                "Flutterwave is not configured: set FLUTTERWAVE_CLIENT_ID, "
                "FLUTTERWAVE_CLIENT_SECRET and FLUTTERWAVE_TOKEN_URL"
            )
        token = self._ensure(now)[1].access_token
        assert token is not None
        return token

    def replace_rejected(self, rejected: str, now: datetime | None = None) -> str:
        """A token other than ``rejected``, which Flutterwave just answered 401 to although it
        looked fresh (revoked, or the clocks disagree). Single flight like the refresh: under
        the row lock, a row that already holds another fresh token (another process replaced
        it) is used as it is; otherwise one token call replaces it. Raises as
        ``refresh_if_needed`` does; ``ConfigError`` when Flutterwave is not configured."""
        if not self.enabled:
            return self.current_token(now)  # raises the ConfigError

        def at() -> datetime:
            return now if now is not None else self._clock()

        def update(locked: StoredToken) -> StoredToken | None:
            if locked.access_token != rejected and locked.fresh(at(), self.margin):
                return None
            return self._fetch(at())

        row, refreshed = self._store.under_lock(PROVIDER, update)
        if refreshed:
            log.info("provider=%s token=replaced_after_401", PROVIDER)
        assert row.access_token is not None
        return row.access_token

    def _ensure(self, now: datetime | None) -> tuple[TokenOutcome, StoredToken]:
        def at() -> datetime:
            return now if now is not None else self._clock()

        stored = self._store.peek(PROVIDER)
        if stored.fresh(at(), self.margin):
            return TokenOutcome.FRESH, stored

        def update(locked: StoredToken) -> StoredToken | None:
            if locked.fresh(at(), self.margin):  # another process refreshed while we waited
                return None
            return self._fetch(at())

        row, refreshed = self._store.under_lock(PROVIDER, update)
        if not refreshed:
            return TokenOutcome.FRESH, row
        log.info(
            "provider=%s token=refreshed expires_at=%s",
            PROVIDER,
            row.expires_at.isoformat() if row.expires_at else "none",
        )
        return TokenOutcome.REFRESHED, row

    def _fetch(self, at: datetime) -> StoredToken:
        """One client-credentials call. ``at`` (taken before the call) starts the lifetime,
        so the stored expiry is never later than the real one."""
        assert self.token_url is not None
        assert self.client_id is not None
        assert self._secret is not None
        secret = self._secret.get_secret_value()
        request = self._client.build_request(
            "POST",
            self.token_url,
            data={
                "client_id": self.client_id,
                "client_secret": secret,
                "grant_type": "client_credentials",
            },
            headers={"Accept": "application/json"},
            timeout=self.timeout,
        )
        path = httpx.URL(self.token_url).path
        response = self._caller.send(request, call="token", path=path)
        what = "the token request"
        code = response.status_code
        if code >= 400:
            # Every OAuth2 error of a token endpoint (RFC 6749 5.2: invalid_client,
            # invalid_grant, ...) and a 404 from a wrong URL mean our credentials or
            # settings are wrong: nothing a retry or the next run can fix.
            reason = f"refused (HTTP {code}): {_oauth_message(response, secret)}"
            raise misconfigured(PROVIDER, what, response, reason)
        payload = read_json(response, provider=PROVIDER, what=what)
        if not 200 <= code < 300:
            raise misconfigured(PROVIDER, what, response, f"unexpected HTTP {code}")
        answer = parse(_TokenAnswer, payload, provider=PROVIDER, what=what, response=response)
        return StoredToken(
            access_token=answer.access_token,
            expires_at=at + timedelta(seconds=answer.expires_in),
            refreshed_at=at,
        )


def _oauth_message(response: httpx.Response, secret: str) -> str:
    """An OAuth2 error answer's ``error_description`` (or ``error``), safe for one line."""
    try:
        payload = response.json()
    except ValueError:
        return "no message"
    if not isinstance(payload, dict):
        return "no message"
    text = payload.get("error_description") or payload.get("error") or payload.get("message")
    if not isinstance(text, str) or not text.strip():
        return "no message"
    return one_line(text.replace(secret, "***"))


__all__ = [
    "FlutterwaveTokenManager",
    "SqlTokenStore",
    "StoredToken",
    "TokenOutcome",
    "TokenStore",
]
