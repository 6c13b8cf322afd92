"""PUT/GET/DELETE /users/{user_id}/contact: the HTTP side of ``ledger users contact``."""

from tests.api_support import Api


def test_a_contact_is_set_shown_and_erased_over_http(api: Api) -> None:
    api.ok("POST", "/users", json={"user_id": "fan-1", "role": "fan"})
    body = {"email": "fan1@mail.example", "webhook_url": None}
    saved = api.ok("PUT", "/users/fan-1/contact", json=body)
    assert (saved["user_id"], saved["email"]) == ("fan-1", "fan1@mail.example")
    assert api.ok("GET", "/users/fan-1/contact")["email"] == "fan1@mail.example"
    assert api.ok("DELETE", "/users/fan-1/contact")["changed"] is True
    assert api.get("/users/fan-1/contact").status_code == 404
    bad = api.request("PUT", "/users/fan-1/contact", json={"email": "not an address"})
    assert bad.status_code in (400, 422)
    assert api.request("PUT", "/users/ghost/contact", json=body).status_code == 404
    assert api.get("/users/fan-1/contact", token=None).status_code == 401
