"""The checked-in OpenAPI document (docs/openapi.json) is the one the app serves."""

import json
from pathlib import Path

import anyio
import httpx

from ledger.api import create_app
from ledger.api.openapi import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = ".venv/bin/python -m ledger.api.openapi docs/openapi.json"


def test_the_checked_in_spec_is_the_served_one() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), f"docs/openapi.json is stale: {REGENERATE}"


def test_the_spec_is_served_without_a_token_or_a_database() -> None:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger.test") as c:
            return await c.get("/openapi.json")

    served = anyio.run(fetch)
    assert served.status_code == 200
    assert served.json() == json.loads(DOC.read_text(encoding="utf-8"))


def test_every_operation_documents_the_error_shape() -> None:
    spec = json.loads(DOC.read_text(encoding="utf-8"))
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/readyz":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (
                        method,
                        path,
                        status,
                    )
