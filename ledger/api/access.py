"""Access logs and request metrics: one structured line per request, no secrets.

Each request is logged as ``event=http_request method=... path=... route=... status=...
duration_ms=... request_id=... principal=...`` on the ``ledger.api.access`` logger, and
counted in the Prometheus metrics by route *template* (``/requests/{request_id}``, so ids do
not explode the label space), answers given before routing included (idempotent replays,
reused keys, bodies over the limit: their template is found by matching the path). What it
deliberately does not log: headers (``Authorization``, ``x-paystack-signature``), query
strings and bodies. ``X-Request-ID`` is echoed when the
caller sends a sane one (at most 64 of ``A-Za-z0-9-_.``), else a fresh one is made.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.runtime import Metrics

log = logging.getLogger("ledger.api.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name.lower() == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


def _path(scope: Scope) -> str:
    """The path as sent (percent-encoded, so no spaces or control characters), sans query."""
    raw = scope.get("raw_path")
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope["path"])
    text = text.split("?", 1)[0]
    return "".join(c if c.isprintable() and not c.isspace() else "?" for c in text)[:300]


Templates = Mapping[str, Iterable[str]]  # route template -> its methods (OpenAPI's paths)


class _Matcher:
    """Finds the template of a path among the app's routes, as routing would have (the
    first template whose pattern matches; with the method, else without it: a 405)."""

    def __init__(self, templates: Templates) -> None:
        self.patterns = [
            (template, compile_path(template)[0], {m.upper() for m in methods})
            for template, methods in templates.items()
        ]

    def template(self, path: str, method: str) -> str | None:
        other = None
        for template, pattern, methods in self.patterns:
            if pattern.match(path):
                if method in methods or (method == "HEAD" and "GET" in methods):
                    return template
                other = other or template
        return other


def route_template(scope: Scope, matcher: _Matcher | None = None) -> str:
    """The template of the route that answered (``/requests/{request_id}``). An answer given
    before routing (an idempotent replay, a reused key, a body over the limit) has no route
    in its scope: the template is then found by matching the path against the app's routes.
    Only a path no route knows is ``unmatched``."""
    route: Any = scope.get("route")
    path: object = getattr(route, "path", None)
    if path:
        return str(path)
    if matcher is not None:
        found = matcher.template(str(scope.get("path", "")), str(scope.get("method", "")))
        if found is not None:
            return found
    return "unmatched"


class AccessLog:
    """ASGI middleware: the access log line, the request metrics and ``X-Request-ID``.
    ``templates``: the app's route templates and their methods (the OpenAPI paths), to
    label answers given before routing."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        templates: Callable[[], Templates] = dict,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self._templates = templates
        self._matcher: _Matcher | None = None

    def matcher(self) -> _Matcher:
        if self._matcher is None:  # on the first answer given before routing
            self._matcher = _Matcher(self._templates())
        return self._matcher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope, None if "route" in scope else self.matcher())
            method = str(scope["method"])
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(elapsed)
            principal = scope.get("state", {}).get("principal", "-")
            log.info(
                "event=http_request method=%s path=%s route=%s status=%d duration_ms=%.2f "
                "request_id=%s principal=%s",
                method,
                _path(scope),
                route,
                status,
                elapsed * 1000,
                request_id,
                principal,
            )


__all__ = ["AccessLog", "route_template"]
