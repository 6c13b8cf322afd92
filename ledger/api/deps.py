"""FastAPI dependencies the routes share: the runtime, the services, the bearer token, and
the documented ``Idempotency-Key`` header (applied by ``ledger.api.idempotency``)."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials

from ledger.api.auth import bearer_scheme
from ledger.api.errors import ApiError
from ledger.api.runtime import Runtime, Services


def runtime_of(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


def require_token(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> str:
    """The caller's principal; 401 without a bearer token, 403 with an unknown one."""
    principal = runtime_of(request).auth().principal(request.headers.get("authorization"))
    request.state.principal = principal
    return principal


_KNOWN_QUERY: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> Iterator[str]:
    for param in dependant.query_params:
        yield param.alias
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def reject_unknown_query(request: Request) -> None:
    """422 for a query parameter the route does not take (a misspelt report filter must not
    silently return everything), or one given twice. (Not on webhooks: a provider may add
    its own.)"""
    if not request.query_params or request.url.path.startswith("/webhooks/paystack"):
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _KNOWN_QUERY.get(id(route))
    if known is None:
        known = frozenset(_query_names(route.dependant))
        _KNOWN_QUERY[id(route)] = known
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        names = ", ".join(repr(name[:40]) for name in unknown[:3])
        raise ApiError(422, "invalid_request", f"unknown query parameter {names}")
    # No route takes a list: a repeated parameter is ambiguous (which one filters?), not "the
    # last one wins".
    repeated = sorted(
        {
            name
            for name, _ in request.query_params.multi_items()
            if len(request.query_params.getlist(name)) > 1
        }
    )
    if repeated:
        names = ", ".join(repr(name[:40]) for name in repeated[:3])
        raise ApiError(422, "invalid_request", f"query parameter {names} given more than once")


def services(request: Request) -> Services:
    """The ledger and its stores (503 while the database cannot be reached)."""
    return runtime_of(request).services()


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=r"^[!-~]+$",
            description="Makes a retry safe: the same key and body return the first answer "
            "(see docs/api.md).",
        ),
    ] = None,
) -> str | None:
    return key


Authenticated = Annotated[str, Depends(require_token)]
Svc = Annotated[Services, Depends(services)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]

__all__ = [
    "Authenticated",
    "IdempotencyKey",
    "Svc",
    "idempotency_key",
    "reject_unknown_query",
    "require_token",
    "runtime_of",
    "services",
]
