"""`ledger users contact`, `ledger notifications list | show | retry` and the summary's counts."""

from ledger.persistence import store_config
from projections.db import ReadDB
from tests.e2e.cli_support import Store, assert_refused, isolated_env, seed, sqlite_store

__all__ = ["isolated_env", "sqlite_store"]  # fixtures, used by name


def test_a_contact_is_set_shown_and_erased_without_touching_the_event_log(
    sqlite_store: Store,
) -> None:
    seed(sqlite_store)
    head = sqlite_store.head()
    shown = sqlite_store.json("users", "contact", "fan-1", "--email", "fan1@mail.example")
    assert (shown["user"], shown["email"], shown["webhook_url"]) == (
        "fan-1",
        "fan1@mail.example",
        None,
    )
    assert sqlite_store.json("users", "contact", "fan-1")["email"] == "fan1@mail.example"
    assert "erased" in sqlite_store.ok("users", "contact", "fan-1", "--erase").stdout
    assert_refused(sqlite_store.run("users", "contact", "fan-1"), 2, "no contact")
    assert sqlite_store.head() == head
    assert_refused(sqlite_store.run("users", "contact", "fan-1", "--email", "nope"), 2, "email")
    assert_refused(sqlite_store.run("users", "contact", "ghost", "--email", "g@x.example"), 2)


def test_operators_list_show_and_retry_messages_and_the_summary_counts_them(
    sqlite_store: Store,
) -> None:
    seed(sqlite_store)
    sqlite_store.ok("jobs", "run", "--job", "send_notifications")
    pending = sqlite_store.json("notifications", "list", "--status", "pending")
    assert {row["channel"] for row in pending} == {"email"}  # no SMTP configured: they wait
    assert {row["template"] for row in pending} == {
        "wallet_created",
        "payment_received",
        "escrow_released",
    }
    skipped = sqlite_store.json("notifications", "list", "--status", "SKIPPED")
    assert {row["last_error"] for row in skipped} == {"no webhook URL"}
    table = sqlite_store.ok("notifications", "list").stdout
    assert "escrow_released" in table
    assert skipped[0]["id"][:12] in table

    shown = sqlite_store.ok("notifications", "show", pending[0]["id"][:10]).stdout
    assert "Subject: " in shown
    assert "NGN 5,000.00" in shown

    retried = sqlite_store.ok("notifications", "retry", skipped[0]["id"][:8]).stdout
    assert retried.startswith("1 notification(s) due again")
    config = store_config(sqlite_store.env["LEDGER_DATABASE_URL"])
    db = ReadDB(config)
    try:
        row = db.fetchone(
            "SELECT status, attempts FROM notifications WHERE id = %s", [skipped[0]["id"]]
        )
    finally:
        db.close()
    assert row == {"status": "PENDING", "attempts": 0}
    assert "0 notification(s)" in sqlite_store.ok("notifications", "retry", "--all-failed").stdout

    summary = sqlite_store.ok("report", "summary").stdout
    assert f"notifications: PENDING {len(pending) + 1}" in summary
    assert_refused(sqlite_store.run("notifications", "retry", "xyz"), 2, "hex digits")
    assert_refused(sqlite_store.run("notifications", "show", "0" * 12), 2, "no notification")
