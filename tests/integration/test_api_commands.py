"""The command and query API in-process (httpx ASGI transport): every route, its statuses and
the one error shape, on SQLite and PostgreSQL."""

import uuid
from typing import Any

import pytest

from tests.api_support import OTHER_TOKEN, Api

CREATE = {"fan": "fan-1", "celebrity": "star-1", "amount": 500000, "currency": "NGN"}


def is_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}, body
    assert body["error"] == code, body
    assert body["message"]
    assert "\n" not in body["message"]
    return dict(body)


def seed_users(api: Api) -> None:
    api.ok("POST", "/users", json={"user_id": "fan-1", "role": "fan"})
    api.ok("POST", "/users", json={"user_id": "star-1", "role": "celebrity", "verified": True})


def paid_request(api: Api) -> tuple[str, str]:
    """A request whose payment is held: (request id, transaction id)."""
    rid = api.ok("POST", "/requests", json=CREATE)["id"]
    tid = api.ok("POST", f"/requests/{rid}/payments/record", json={"reference": f"ref-{rid}"})["id"]
    ledger = api.app.state.runtime.services().ledger
    ledger.confirm_payment(uuid.UUID(tid), amount=500000, currency="NGN")
    return rid, tid


def test_registering_a_user_answers_201_then_200_when_already_registered(api: Api) -> None:
    first = api.post("/users", json={"user_id": "fan-1", "role": "fan"})
    again = api.post("/users", json={"user_id": "fan-1", "role": "fan"})
    assert first.status_code == 201
    assert first.json()["changed"] is True
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert first.json()["id"] == again.json()["id"]
    shown = api.ok("GET", "/users/fan-1")
    assert shown["role"] == "fan"
    assert shown["verified"] is False


def test_verifying_a_user_is_idempotent(api: Api) -> None:
    api.ok("POST", "/users", json={"user_id": "star-1", "role": "celebrity"})
    assert api.ok("POST", "/users/star-1/verify")["changed"] is True
    assert api.ok("POST", "/users/star-1/verify")["changed"] is False
    assert api.ok("GET", "/users/star-1")["verified"] is True


def test_a_request_goes_from_created_to_paid_to_completed(api: Api) -> None:
    seed_users(api)
    rid, tid = paid_request(api)
    shown = api.ok("GET", f"/requests/{rid}")
    assert shown["status"] == "IN_PROGRESS"
    assert shown["fan"] == "fan-1"
    assert shown["payment_status"] == "COMPLETED"
    assert shown["transaction_id"] == tid
    assert api.ok("POST", f"/requests/{rid}/complete")["changed"] is True
    assert api.ok("POST", f"/requests/{rid}/complete")["changed"] is False
    txn = api.ok("GET", f"/transactions/{tid}")
    assert txn["held"] is True
    assert txn["amount"] == 500000
    assert api.ok("GET", f"/transactions/by-reference/ref-{rid}")["id"] == tid


def test_creating_a_request_with_its_id_twice_is_already_done(api: Api) -> None:
    seed_users(api)
    rid = str(uuid.uuid4())
    first = api.post("/requests", json={**CREATE, "id": rid})
    again = api.post("/requests", json={**CREATE, "id": rid})
    assert (first.status_code, again.status_code) == (201, 200)
    clash = api.post("/requests", json={**CREATE, "id": rid, "amount": 1})
    is_error(clash, 409, "rule_violation")


def test_declining_refunds_a_held_payment_through_the_provider(api: Api) -> None:
    seed_users(api)
    rid, tid = paid_request(api)
    result = api.ok("POST", f"/requests/{rid}/decline", json={"reason": "no time"})
    assert result["changed"] is True
    assert api.ok("GET", f"/requests/{rid}")["status"] == "DECLINED"
    assert api.ok("GET", f"/transactions/{tid}")["escrow_status"] == "REFUNDED"


def test_completing_a_request_while_its_refund_is_in_flight_is_409_payment_busy(
    api: Api, provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: this answered 500 internal_error (PaymentBusy had no mapping)."""
    seed_users(api)
    rid, tid = paid_request(api)
    ledger = api.app.state.runtime.services().ledger
    answers: list[Any] = []
    refund = provider.refund

    def refund_while_the_celebrity_completes(**kwargs: Any) -> Any:
        answers.append(api.post(f"/requests/{rid}/complete"))
        return refund(**kwargs)

    monkeypatch.setattr(provider, "refund", refund_while_the_celebrity_completes)
    assert ledger.decline_request(uuid.UUID(rid)).changed is True  # holds the payment
    busy = is_error(answers[0], 409, "payment_busy")
    assert answers[0].headers["retry-after"] == "1"
    assert "busy" in busy["message"]
    assert api.ok("GET", f"/requests/{rid}")["status"] == "DECLINED"
    assert api.ok("GET", f"/transactions/{tid}")["escrow_status"] == "REFUNDED"


def test_declining_without_a_body_is_accepted(api: Api) -> None:
    seed_users(api)
    rid = api.ok("POST", "/requests", json=CREATE)["id"]
    assert api.post(f"/requests/{rid}/decline").status_code == 200


def test_initiating_a_payment_returns_the_authorization_url(api: Api) -> None:
    seed_users(api)
    rid = api.ok("POST", "/requests", json=CREATE)["id"]
    response = api.post(f"/requests/{rid}/payments", json={"email": "fan@example.com"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"] == f"esc_{uuid.UUID(rid).hex}"
    assert body["authorization_url"].startswith("https://")
    again = api.post(f"/requests/{rid}/payments", json={"email": "fan@example.com"})
    is_error(again, 409, "rule_violation")


def test_a_provider_outage_is_503_and_a_refusal_502(make_api: Any, provider: Any) -> None:
    api = make_api()
    seed_users(api)
    rid = api.ok("POST", "/requests", json=CREATE)["id"]
    provider.down = True
    down = api.post(f"/requests/{rid}/payments", json={"email": "fan@example.com"})
    is_error(down, 503, "provider_unavailable")
    assert down.headers["retry-after"] == "1"
    provider.down = False
    paid_rid, _ = paid_request(api)
    provider.refuse_refunds = True
    is_error(api.post(f"/requests/{paid_rid}/decline"), 502, "provider_refused")


def test_wallets_open_once_and_show_their_balance(api: Api) -> None:
    seed_users(api)
    assert api.post("/wallets", json={"user_id": "star-1"}).status_code == 201
    assert api.post("/wallets", json={"user_id": "star-1", "currency": "NGN"}).status_code == 200
    wallet = api.ok("GET", "/wallets/star-1", params={"currency": "NGN"})
    assert wallet["balance"] == 0
    assert wallet["user_id"] == "star-1"
    is_error(api.get("/wallets/star-1", params={"currency": "GHS"}), 404, "not_found")
    is_error(api.post("/wallets", json={"user_id": "fan-1"}), 409, "rule_violation")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
class TestErrors:
    def test_no_token_is_401_with_a_bearer_challenge(self, api: Api) -> None:
        response = api.get("/users/fan-1", token=None)
        is_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        is_error(
            api.get("/users/fan-1", headers={"Authorization": "Basic x"}, token=None),
            401,
            "unauthorized",
        )

    def test_an_unknown_token_is_403_and_any_configured_token_works(self, api: Api) -> None:
        is_error(api.get("/users/fan-1", token="tok_not_a_configured_token_0000"), 403, "forbidden")
        is_error(api.get("/users/fan-1", token=OTHER_TOKEN), 404, "not_found")

    def test_no_tokens_configured_is_503(self, make_api: Any) -> None:
        api = make_api(LEDGER_API_TOKENS="")
        is_error(api.get("/users/fan-1"), 503, "not_configured")

    def test_unknown_ids_are_404(self, api: Api) -> None:
        unknown = str(uuid.UUID(int=42))
        for url in (
            f"/requests/{unknown}",
            f"/transactions/{unknown}",
            "/users/nobody",
            "/transactions/by-reference/ref-unknown",
            "/wallets/nobody",
        ):
            is_error(api.get(url), 404, "not_found")
        is_error(api.post(f"/requests/{unknown}/complete"), 404, "not_found")

    def test_malformed_input_is_422_never_500(self, api: Api) -> None:
        seed_users(api)
        cases = [
            ("GET", "/requests/not-a-uuid", None),
            ("POST", "/users", {"user_id": "fan-2"}),
            ("POST", "/users", {"user_id": "fan 2", "role": "fan"}),
            ("POST", "/users", {"user_id": "fan-2", "role": "admin"}),
            ("POST", "/requests", {**CREATE, "amount": 0}),
            ("POST", "/requests", {**CREATE, "amount": "500000"}),
            ("POST", "/requests", {**CREATE, "amount": 10**13}),
            ("POST", "/requests", {**CREATE, "currency": "EUR"}),
            ("POST", "/requests", {**CREATE, "extra": 1}),
            ("POST", "/requests", [1, 2]),
            ("GET", "/wallets/star-1?currency=EUR", None),
        ]
        for method, url, body in cases:
            is_error(api.request(method, url, json=body), 422, "invalid_request")
        is_error(api.post("/requests", json={**CREATE, "id": "nope"}), 422, "invalid_request")
        is_error(api.get("/reports/payments", params={"after": "nope"}), 422, "invalid_input")
        bad_json = api.post(
            "/users", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        is_error(bad_json, 422, "invalid_request")

    def test_an_unknown_or_repeated_query_parameter_is_422(self, api: Api) -> None:
        is_error(api.get("/reports/payments?curency=NGN"), 422, "invalid_request")
        repeated = api.get("/reports/payments?currency=NGN&currency=GHS")
        is_error(repeated, 422, "invalid_request")
        assert "more than once" in repeated.json()["message"]

    def test_a_domain_rule_is_409(self, api: Api) -> None:
        seed_users(api)
        is_error(api.post("/requests", json={**CREATE, "fan": "star-1"}), 409, "rule_violation")
        rid = api.ok("POST", "/requests", json=CREATE)["id"]
        is_error(api.post(f"/requests/{rid}/complete"), 409, "rule_violation")

    def test_unknown_routes_and_methods_use_the_error_shape(self, api: Api) -> None:
        is_error(api.get("/nowhere"), 404, "not_found")
        is_error(api.request("DELETE", "/users"), 405, "method_not_allowed")
        is_error(api.request("PUT", "/webhooks/paystack", token=None), 405, "method_not_allowed")

    def test_an_internal_error_is_500_without_its_text(self, api: Api, monkeypatch: Any) -> None:
        ledger = api.app.state.runtime.services().ledger

        def boom(*_: Any, **__: Any) -> None:
            raise RuntimeError("postgresql://user:hunter2@db/secret")

        monkeypatch.setattr(ledger, "get_user", boom)
        response = api.get("/users/fan-1")
        body = is_error(response, 500, "internal_error")
        assert "hunter2" not in body["message"]

    def test_the_database_unreachable_is_503(self, make_api: Any, tmp_path: Any) -> None:
        from ledger.api import close_app, create_app
        from ledger.config import load_settings
        from tests.api_support import API_ENV
        from tests.api_support import Api as Client

        settings = load_settings(
            LEDGER_DATABASE_URL=f"sqlite:///{tmp_path}/missing/dir/ledger.db", **API_ENV
        )
        app = create_app(settings)
        api = make_api()  # for its portal
        client = Client(app, api._portal)
        try:
            is_error(client.get("/users/fan-1"), 503, "not_configured")
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["error"] == "not_ready"
        finally:
            client.close()
            close_app(app)


def test_requests_are_logged_without_headers(api: Api, caplog: Any) -> None:
    caplog.set_level("INFO", logger="ledger.api.access")
    api.get("/users/fan-1", headers={"X-Request-ID": "req-123"})
    line = next(r.getMessage() for r in caplog.records if r.name == "ledger.api.access")
    assert "event=http_request method=GET path=/users/fan-1 route=/users/{user_id}" in line
    assert "status=404" in line
    assert "request_id=req-123" in line
    assert "principal=token-" in line
    assert "Bearer" not in line
    assert "tok_test" not in line


def test_ops_endpoints_need_no_token(api: Api) -> None:
    assert api.get("/healthz", token=None).json() == {"status": "ok"}
    ready = api.get("/readyz", token=None)
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"database", "projections"}
    api.get("/users/nobody")
    metrics = api.get("/metrics", token=None)
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'ledger_http_requests_total{method="GET",route="/users/{user_id}",status="404"}' in (
        metrics.text
    )
    assert "ledger_projection_lag_events" in metrics.text
