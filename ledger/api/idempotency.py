"""``Idempotency-Key`` on the API's POSTs: the same key and request give the first answer again.

A POST that carries ``Idempotency-Key`` (1 to 255 printable ASCII characters) from an
authenticated caller is claimed in the ``idempotency_keys`` table (one row per principal and
key: method, path, SHA-256 of the body, then the answer's status and body):

- a new key: the request runs; a final answer (below 500, and not a ``conflict``) is stored,
  any other answer releases the key so that a retry runs again;
- the same key and the same method, path and body: the stored answer is replayed (same status,
  same body, plus ``Idempotent-Replayed: true``); nothing runs;
- the same key with another method, path or body: 422 ``idempotency_key_reused``;
- the same key while its first request is still running: 409 ``idempotency_in_progress``
  (``Retry-After: 1``). The claim is an INSERT on the primary key, so of two concurrent
  requests exactly one runs. A claim left by a crashed process is taken over after
  ``STALE_AFTER``; keys are forgotten after ``KEEP_FOR``.

Keys are per principal (two callers may use the same key). Without the header a POST runs as
usual: the ledger's commands are idempotent by themselves where they can be (``PUT``-like ids),
and the header is for the rest (a payment initialisation, say). Webhooks are not covered:
Paystack does not send the header, and deliveries are deduplicated by the ledger.
"""

import hashlib
import json
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.body_limit import read_body, replaying
from ledger.api.errors import RETRYABLE_CODES, ApiError, error_response, note_database_lost
from ledger.clock import Clock, system_clock
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.sidetables import SideTables, is_unique_violation, read_time

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
STALE_AFTER = timedelta(seconds=60)
KEEP_FOR = timedelta(hours=24)

_INSERT = (
    "INSERT INTO idempotency_keys (principal, key, method, path, body_sha256, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
_SELECT = (
    "SELECT method, path, body_sha256, status, response, created_at FROM idempotency_keys "
    "WHERE principal = %s AND key = %s"
)
_TAKE_OVER = (
    "UPDATE idempotency_keys SET method = %s, path = %s, body_sha256 = %s, status = NULL, "
    "response = NULL, created_at = %s, completed_at = NULL "
    "WHERE principal = %s AND key = %s AND created_at = %s"
)
_COMPLETE = (
    "UPDATE idempotency_keys SET status = %s, response = %s, completed_at = %s "
    "WHERE principal = %s AND key = %s AND status IS NULL"
)
_RELEASE = "DELETE FROM idempotency_keys WHERE principal = %s AND key = %s AND status IS NULL"


class ClaimKind(Enum):
    NEW = "new"  # this request runs
    REPLAY = "replay"  # the stored answer is sent again
    MISMATCH = "mismatch"  # the key belongs to another request
    IN_PROGRESS = "in_progress"  # the first request with this key is still running


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    status: int | None = None
    response: str | None = None


@dataclass(frozen=True)
class Fingerprint:
    method: str
    path: str
    body_sha256: str


class IdempotencyStore:
    """``idempotency_keys`` in the ledger's database (see ``ledger.sidetables``; the table
    is ``ledger.schema``'s)."""

    def __init__(self, tables: SideTables, *, clock: Clock = system_clock) -> None:
        self._tables = tables
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock = system_clock
    ) -> "IdempotencyStore":
        return cls(SideTables.from_settings(settings), clock=clock)

    def close(self) -> None:
        self._tables.close()

    def claim(self, principal: str, key: str, request: Fingerprint) -> Claim:
        """Claim ``key`` for ``request``, or say why not (see the module docstring)."""
        for _ in range(3):
            now = self._clock()
            with self._tables.connection() as conn:
                try:
                    conn.execute(
                        _INSERT,
                        (principal, key, request.method, request.path, request.body_sha256, now),
                    )
                    return Claim(ClaimKind.NEW)
                except Exception as exc:
                    if not is_unique_violation(exc):
                        raise
                row = conn.execute(_SELECT, (principal, key)).fetchone()
                if row is None:
                    continue  # released meanwhile: claim again
                method, path, body_sha256, status, response, created = row
                created_at = read_time(created)
                expired = now - created_at >= KEEP_FOR
                stale = status is None and now - created_at >= STALE_AFTER
                if expired or stale:
                    taken = conn.execute(
                        _TAKE_OVER,
                        (
                            request.method,
                            request.path,
                            request.body_sha256,
                            now,
                            principal,
                            key,
                            created,
                        ),
                    )
                    if taken.rowcount == 1:
                        return Claim(ClaimKind.NEW)
                    continue
                if (method, path, body_sha256) != (
                    request.method,
                    request.path,
                    request.body_sha256,
                ):
                    return Claim(ClaimKind.MISMATCH)
                if status is None:
                    return Claim(ClaimKind.IN_PROGRESS)
                return Claim(ClaimKind.REPLAY, int(status), str(response or ""))
        return Claim(ClaimKind.IN_PROGRESS)

    def complete(self, principal: str, key: str, status: int, response: str) -> None:
        with self._tables.connection() as conn:
            conn.execute(_COMPLETE, (status, response, self._clock(), principal, key))

    def release(self, principal: str, key: str) -> None:
        with self._tables.connection() as conn:
            conn.execute(_RELEASE, (principal, key))


def check_key(value: str) -> str:
    """The key, if well formed; ``ApiError`` 422 otherwise."""
    if not 1 <= len(value) <= MAX_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in value):
        raise ApiError(
            422,
            "invalid_request",
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, no spaces",
        )
    return value


def _final(status: int, body: bytes) -> bool:
    """Whether an answer is final (stored for replay) rather than worth retrying."""
    if status >= 500:
        return False
    if status == 409:
        try:
            code = json.loads(body).get("error")
        except (ValueError, AttributeError):
            return True
        return code not in RETRYABLE_CODES
    return True


class IdempotencyMiddleware:
    """ASGI middleware applying the module docstring to authenticated POSTs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Callable[[str | None], str | None],
        store: Callable[[], IdempotencyStore],
    ) -> None:
        self.app = app
        self._authenticate = authenticate
        self._store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        raw_key = headers.get(HEADER.lower())
        path: str = scope["path"]
        if raw_key is None or path.startswith("/webhooks/"):
            await self.app(scope, receive, send)
            return
        authorization = headers.get("authorization")
        principal = self._authenticate(
            authorization.decode("latin-1") if authorization is not None else None
        )
        if principal is None:  # the route refuses it (401/403/503) as usual
            await self.app(scope, receive, send)
            return
        try:
            key = check_key(raw_key.decode("latin-1"))
        except ApiError as exc:
            await error_response(exc.status, exc.code, exc.message)(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            await error_response(413, "payload_too_large", "request body too large")(
                scope, receive, send
            )
            return
        fingerprint = Fingerprint("POST", path, hashlib.sha256(body).hexdigest())
        try:
            store = await run_in_threadpool(self._store)
            claim = await run_in_threadpool(store.claim, principal, key, fingerprint)
        except LedgerError as exc:
            note_database_lost(scope.get("app"), exc)
            await error_response(503, "not_configured", str(exc))(scope, receive, send)
            return
        except Exception as exc:
            note_database_lost(scope.get("app"), exc)
            message = f"idempotency store unavailable ({type(exc).__name__})"
            await error_response(503, "database_unavailable", message)(scope, receive, send)
            return
        if claim.kind is ClaimKind.REPLAY:
            await _replay(claim, scope, receive, send)
        elif claim.kind is ClaimKind.MISMATCH:
            message = f"{HEADER} {key!r} was used for another request"
            await error_response(422, "idempotency_key_reused", message)(scope, receive, send)
        elif claim.kind is ClaimKind.IN_PROGRESS:
            message = f"a request with {HEADER} {key!r} is still running; retry shortly"
            response = error_response(409, "idempotency_in_progress", message, {"Retry-After": "1"})
            await response(scope, receive, send)
        else:
            await self._run(scope, body, receive, send, store, principal, key)

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        store: IdempotencyStore,
        principal: str,
        key: str,
    ) -> None:
        captured: MutableMapping[str, Any] = {"status": 500, "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = int(message["status"])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replaying(body, receive), capture)
        except BaseException:
            await run_in_threadpool(store.release, principal, key)
            raise
        status, answer = captured["status"], captured["body"]
        if _final(status, answer):
            text = answer.decode("utf-8", errors="replace")
            await run_in_threadpool(store.complete, principal, key, status, text)
        else:
            await run_in_threadpool(store.release, principal, key)


async def _replay(claim: Claim, scope: Scope, receive: Receive, send: Send) -> None:
    body = (claim.response or "").encode()
    await send(
        {
            "type": "http.response.start",
            "status": claim.status or 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"idempotent-replayed", b"true"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "HEADER",
    "Claim",
    "ClaimKind",
    "Fingerprint",
    "IdempotencyMiddleware",
    "IdempotencyStore",
    "check_key",
]
