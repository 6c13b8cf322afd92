"""The API's request metrics are labelled with the route template for every answer, also
those given before routing (an idempotent replay, a reused key, a body over the limit, a
method the route does not take); only a path no route knows is ``unmatched``. No
``_created`` series are exposed."""

from tests.api_support import Api
from tests.ops_support import samples, value

USER = {"user_id": "fan-1", "role": "fan"}


def requests_counted(api: Api, method: str, route: str, status: int) -> float:
    found = samples(api.get("/metrics", token=None).text)
    labels = {"method": method, "route": route, "status": str(status)}
    key = ("ledger_http_requests_total", frozenset(labels.items()))
    return found.get(key, 0.0)


def test_replays_and_reused_keys_are_counted_under_their_route(api: Api) -> None:
    key = {"Idempotency-Key": "k-1"}
    assert api.post("/users", json=USER, headers=key).status_code == 201
    replay = api.post("/users", json=USER, headers=key)
    assert replay.headers["idempotent-replayed"] == "true"
    reused = api.post("/users", json={**USER, "user_id": "fan-2"}, headers=key)
    assert reused.status_code == 422
    assert requests_counted(api, "POST", "/users", 201) == 2
    assert requests_counted(api, "POST", "/users", 422) == 1
    assert requests_counted(api, "POST", "unmatched", 201) == 0
    assert requests_counted(api, "POST", "unmatched", 422) == 0


def test_a_body_over_the_limit_and_a_wrong_method_are_counted_under_their_route(
    api: Api,
) -> None:
    big = api.post("/requests", content=b"x" * (1024 * 1024 + 1))
    assert big.status_code == 413
    assert api.request("DELETE", "/requests").status_code == 405
    assert api.post("/users/fan-1/verify").status_code == 404  # a route, an unknown user
    assert api.get("/no/such/route").status_code == 404
    assert requests_counted(api, "POST", "/requests", 413) == 1
    assert requests_counted(api, "DELETE", "/requests", 405) == 1
    assert requests_counted(api, "POST", "/users/{user_id}/verify", 404) == 1
    assert requests_counted(api, "GET", "unmatched", 404) == 1


def test_no_created_series_are_exposed(api: Api) -> None:
    api.get("/healthz", token=None)
    text = api.get("/metrics", token=None).text
    assert "_created" not in text
    found = samples(text)
    assert value(found, "ledger_http_requests_total", method="GET", route="/healthz", status="200")
