"""Operations endpoints, open without a token (they carry no ids, per-payment amounts or
secrets): ``/healthz`` (the process answers), ``/readyz`` (the database answers and every
registered readiness check passes, e.g. the projections plugin's lag check), ``/metrics``
(Prometheus text format: requests by route and status, latency, webhook outcomes; merged
across the worker processes of ``ledger serve --workers N``).

While the database is lost (a request or a readiness probe met a dropped connection),
``/readyz`` answers 503 at once, without trying it again: a background probe with backoff
finds when it is back (``ledger.outage.DatabaseWatch``: one log line each way).

``/readyz`` answers 503 with the error shape plus ``checks`` when anything fails, so a load
balancer stops sending traffic; ``/healthz`` stays 200 (restarting would not help).
"""

from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from ledger.api.deps import runtime_of
from ledger.api.models import Health, NotReady, Readiness
from ledger.api.runtime import Check, Runtime
from ledger.outage import describe, is_connection_error, probe_database

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _database(runtime: Runtime) -> Check:
    probe_database(runtime.store(), timeout=2.0)  # a fresh connection: fails fast when down
    head = runtime.services().ledger.recorder.max_notification_id() or 0
    runtime.watch().ok()
    return Check(True, f"ok (head {head})")


def _run_checks(runtime: Runtime) -> dict[str, Check]:
    results: dict[str, Check] = {}
    try:
        watch = runtime.watch()
    except Exception as exc:  # no settings
        results["database"] = Check(False, f"not configured ({type(exc).__name__})")
        return results
    if not watch.up:  # a background probe tells when it is back
        results["database"] = Check(False, f"unavailable for {watch.down_for():.0f}s")
        return results
    try:
        results["database"] = _database(runtime)
    except Exception as exc:  # any failure is "not ready"; its text may hold a DSN
        if is_connection_error(exc):
            runtime.database_lost(exc)
        results["database"] = Check(False, f"unreachable ({describe(exc)})")
        return results
    services = runtime.services()
    for name, check in runtime.readiness:
        try:
            results[name] = check(services)
        except Exception as exc:
            results[name] = Check(False, f"check failed ({type(exc).__name__})")
    return results


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": NotReady, "description": "Not ready; see checks."}},
    summary="Ready for traffic: database reachable, projection lag under the limit",
)
async def readyz(request: Request) -> Any:
    results = await run_in_threadpool(_run_checks, runtime_of(request))
    checks = {name: check.detail for name, check in results.items()}
    failed = [name for name, check in results.items() if not check.ok]
    if failed:
        body = {"error": "not_ready", "message": f"failing: {', '.join(failed)}", "checks": checks}
        return JSONResponse(body, status_code=503)
    return {"status": "ready", "checks": checks}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    registry = runtime_of(request).metrics.scrape()
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


__all__ = ["router"]
