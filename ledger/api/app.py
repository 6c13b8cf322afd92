"""The HTTP API's app factory: ``create_app(settings, ...)`` -> a FastAPI application.

It assembles, in this order: the error handlers (``ledger.api.errors``: one JSON shape for
every failure), the routes of ``ledger`` itself (commands and queries, webhooks, operations),
then the routes other packages register under the ``ledger.api`` entry-point group (reports,
audit history and the readiness check of the projections: ``ledger`` never imports them, so
the dependency rule holds). Each entry point is a ``fastapi.APIRouter`` or a function
``register(app, runtime)``. Middleware, outermost first: access log and metrics, the body
limit (``ledger.api.body_limit``: 413 for any body over 1 MiB, before anything reads it), then
``Idempotency-Key`` handling.

Nothing here connects to anything: the services are built on first use (``Runtime``), and the
app's lifespan closes them at shutdown. ``app_from_env`` is the factory ``ledger serve`` hands
to uvicorn (each worker process builds its own app from the environment).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import entry_points
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from ledger.api import commands, contacts, ops, webhook_routes
from ledger.api.access import AccessLog
from ledger.api.body_limit import BodyLimit
from ledger.api.deps import reject_unknown_query
from ledger.api.errors import install_error_handlers
from ledger.api.idempotency import IdempotencyMiddleware
from ledger.api.runtime import Runtime
from ledger.application import Ledger
from ledger.config import Settings
from ledger.logs import install_hooks

PLUGIN_GROUP = "ledger.api"

DESCRIPTION = """\
The escrow ledger's HTTP API: the platform's backend registers users, creates requests,
initialises payments and reads state; Paystack delivers its webhooks to
`POST /webhooks/paystack`. Amounts are integers in minor units (500000 is NGN 5,000.00).

Authentication: `Authorization: Bearer TOKEN` with a token from `LEDGER_API_TOKENS` (401 without
one, 403 with an unknown one); webhooks are authenticated by their signature instead, and
`/healthz`, `/readyz`, `/metrics` are open. POSTs take an `Idempotency-Key` header. Every error
is `{"error": CODE, "message": TEXT}`. See docs/api.md.
"""


def _load_plugins(app: FastAPI, runtime: Runtime) -> None:
    for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        plugin: Any = entry.load()
        if isinstance(plugin, APIRouter):
            app.include_router(plugin)
        elif callable(plugin):
            plugin(app, runtime)
        else:
            raise TypeError(f"entry point {entry.value} is neither an APIRouter nor callable")


def create_app(
    settings: Settings | None = None,
    *,
    ledger: Ledger | None = None,
    plugins: bool = True,
) -> FastAPI:
    """The API on ``settings`` (default: from the environment, read on first use).

    ``ledger``: use this ledger instead of building one (tests inject one with a fake
    provider and a fixed clock; the caller closes it). ``plugins=False`` leaves out the
    ``ledger.api`` entry points."""
    runtime = Runtime(settings, ledger=ledger)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.close()

    app = FastAPI(
        title="Escrow ledger API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(commands.router)
    app.include_router(contacts.router)
    app.include_router(webhook_routes.router)
    app.include_router(ops.router)
    if plugins:
        _load_plugins(app, runtime)
    app.add_middleware(
        IdempotencyMiddleware,
        authenticate=lambda header: runtime.auth().try_principal(header),
        store=lambda: runtime.services().idempotency,
    )
    app.add_middleware(
        BodyLimit, refused=lambda scope: webhook_routes.count_refused(runtime.metrics, scope)
    )
    app.add_middleware(AccessLog, metrics=runtime.metrics, templates=lambda: _templates(app))
    return app


def _templates(app: FastAPI) -> dict[str, list[str]]:
    """Each route template of the API and its methods, from the OpenAPI document."""
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    return {template: list(operations) for template, operations in paths.items()}


def close_app(app: FastAPI) -> None:
    """Close what the app's runtime built (what the lifespan does at shutdown)."""
    runtime = app.state.runtime
    assert isinstance(runtime, Runtime)
    runtime.close()


def app_from_env() -> FastAPI:
    """The factory for uvicorn (``ledger.api.app:app_from_env``, ``factory=True``). In each
    worker process it also sends warnings and thread exceptions through logging."""
    install_hooks()
    return create_app()


__all__ = ["PLUGIN_GROUP", "app_from_env", "close_app", "create_app"]
