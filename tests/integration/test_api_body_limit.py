"""No body over 1 MiB reaches a route: 413 ``payload_too_large`` on every route, before the
body is parsed (declared by ``Content-Length`` or sent chunked without one), nothing written."""

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ledger.api.body_limit import MAX_BODY_BYTES
from tests.api_support import Api, head

TEN_MB = b"x" * (10 * 1000 * 1000)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _routes(api: Api) -> list[tuple[str, str]]:
    """Every (method, path) of the app's schema, path parameters filled in."""
    found = []
    for template, operations in api.app.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", template)
        found.extend((method.upper(), path) for method in sorted(operations))
    return found


def _is_payload_too_large(response: Any) -> bool:
    return response.status_code == 413 and response.json() == {
        "error": "payload_too_large",
        "message": f"request body over {MAX_BODY_BYTES} bytes",
    }


def test_a_ten_megabyte_post_requests_is_413_not_parsed(api: Api) -> None:
    body = b'{"fan": "fan-1", "celebrity": "star-1", "amount": 5, "currency": "NGN", "pad": "'
    response = api.post("/requests", content=body + TEN_MB + b'"}')
    assert _is_payload_too_large(response)
    assert head(api) == 0


def test_every_route_answers_413_to_a_ten_megabyte_body(api: Api) -> None:
    routes = _routes(api)
    assert ("POST", "/requests") in routes
    assert ("GET", "/reports/escrow") in routes  # the projections' routes too
    assert ("DELETE", "/users/00000000-0000-4000-8000-000000000000/contact") in routes
    for method, path in routes:
        response = api.request(method, path, content=TEN_MB)
        assert _is_payload_too_large(response), (method, path, response.status_code)
    assert head(api) == 0


def test_an_oversized_body_is_413_with_or_without_a_token_or_an_idempotency_key(
    api: Api,
) -> None:
    assert _is_payload_too_large(api.post("/users", content=TEN_MB, token=None))
    keyed = api.post("/users", content=TEN_MB, headers={"Idempotency-Key": "k-1"})
    assert _is_payload_too_large(keyed)
    assert _is_payload_too_large(api.webhook(TEN_MB))


def test_a_chunked_body_is_cut_off_at_the_limit(api: Api) -> None:
    chunk = b"x" * 65_536
    sent = {"chunks": 0}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(160):  # 10 MiB, without a Content-Length
            sent["chunks"] += 1
            yield chunk

    response = api.post("/requests", content=chunks())
    assert _is_payload_too_large(response)
    assert "content-length" not in response.request.headers
    assert sent["chunks"] <= MAX_BODY_BYTES // len(chunk) + 2  # the rest is never read


def test_a_body_at_the_limit_still_reaches_the_route(api: Api) -> None:
    body = b'{"user_id": "fan-1", "role": "fan", "pad": "'
    body += b" " * (MAX_BODY_BYTES - len(body) - 2) + b'"}'
    assert len(body) == MAX_BODY_BYTES
    response = api.post("/users", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422  # the route parsed it (the unknown field "pad")
    assert response.json()["error"] == "invalid_request"
    created = api.post("/users", json={"user_id": "fan-1", "role": "fan"})
    assert created.status_code in (200, 201)
