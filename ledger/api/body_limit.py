"""The API's body limit: no request body over ``MAX_BODY_BYTES`` reaches a route.

``BodyLimit`` is ASGI middleware in front of every route (and of ``Idempotency-Key``
handling). A request whose ``Content-Length`` is over the limit is answered 413
``payload_too_large`` at once, nothing of its body read; any other request's body is read
into memory up to the limit (a chunked body, with no ``Content-Length``, is cut off as soon as
it passes the limit and answered 413 too) and handed on whole. So nothing over the limit is
parsed, hashed or stored, whatever the route and whether it takes a body at all.

What it deliberately does not do: look at the body (its type, its syntax): the routes do.
"""

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.errors import error_response
from ledger.webhooks import MAX_BODY_BYTES  # the webhooks' limit is the API's: one number


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request's whole body from ``receive``; ``None`` as soon as it passes ``limit``
    (the rest is not read). A disconnect ends the body where it is."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that gives ``body`` (already read) first, then what ``receive`` gives
    (a disconnect, for routes that listen for one)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            text = bytes(value).decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class BodyLimit:
    """ASGI middleware applying the module docstring. ``refused(scope)`` is called for each
    request answered 413 (the app counts refused webhook deliveries with it)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int = MAX_BODY_BYTES,
        refused: Callable[[Scope], None] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self._refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        body = None if declared is not None and declared > self.limit else b""
        if body is not None:
            body = await read_body(receive, self.limit)
        if body is None:
            if self._refused is not None:
                self._refused(scope)
            message = f"request body over {self.limit} bytes"
            response = error_response(413, "payload_too_large", message, {"Connection": "close"})
            await response(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


__all__ = ["MAX_BODY_BYTES", "BodyLimit", "read_body", "replaying"]
