"""Notification settings and addresses: checked at start-up, secrets never echoed."""

import pytest

from ledger.addresses import check_email, check_webhook_url, parse_smtp_url
from ledger.config import load_settings
from ledger.errors import ConfigError, InvalidInput


def test_an_smtp_url_gives_host_port_tls_mode_and_decoded_credentials() -> None:
    server = parse_smtp_url("smtp://user%40corp:p%40ss@mail.example:587?starttls=required")
    assert (server.host, server.port, server.starttls, server.implicit_tls) == (
        "mail.example",
        587,
        "required",
        False,
    )
    assert (server.username, server.password) == ("user@corp", "p@ss")
    assert "p@ss" not in repr(server)
    assert server.describe() == "smtp://mail.example:587"
    assert parse_smtp_url("smtps://mail.example").port == 465
    assert parse_smtp_url("smtp://mail.example").starttls == "opportunistic"


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        ({"LEDGER_SMTP_URL": "http://u:hunter2@mail.example"}, "LEDGER_SMTP_URL"),
        ({"LEDGER_SMTP_URL": "smtp://u:hunter2@mail.example:0x1"}, "LEDGER_SMTP_URL"),
        ({"LEDGER_SMTP_URL": "smtp://u:hunter2@mail.example?tls=1"}, "LEDGER_SMTP_URL"),
        ({"LEDGER_SMTP_URL": "smtp://u:hunter2@mail.example"}, "LEDGER_SMTP_FROM"),
        ({"LEDGER_NOTIFY_WEBHOOK_URL": "https://p.example/h"}, "LEDGER_NOTIFY_WEBHOOK_SECRET"),
        ({"LEDGER_OPERATOR_EMAILS": "ops@x.example, nobody"}, "LEDGER_OPERATOR_EMAILS"),
        ({"LEDGER_NOTIFY_MAX_ATTEMPTS": "0"}, "LEDGER_NOTIFY_MAX_ATTEMPTS"),
        ({"LEDGER_NOTIFY_WEBHOOK_SECRET": "short"}, "LEDGER_NOTIFY_WEBHOOK_SECRET"),
    ],
)
def test_bad_notification_settings_are_named_and_secrets_not_echoed(
    env: dict[str, str], mentions: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(LEDGER_DATABASE_URL="sqlite:///x.db", **env)
    assert mentions in str(err.value)
    assert "hunter2" not in str(err.value)
    assert "short" not in str(err.value)


def test_good_settings_keep_the_smtp_password_and_webhook_secret_out_of_repr() -> None:
    s = load_settings(
        LEDGER_SMTP_URL="smtps://mailer:hunter2@mail.example",
        LEDGER_SMTP_FROM="ledger@example.com",
        LEDGER_OPERATOR_EMAILS="a@x.example,b@x.example",
        LEDGER_NOTIFY_WEBHOOK_URL="https://platform.example/hook",
        LEDGER_NOTIFY_WEBHOOK_SECRET="whsec_0123456789abcdef",
    )
    assert s.operator_emails == ("a@x.example", "b@x.example")
    assert "hunter2" not in repr(s)
    assert "whsec_" not in repr(s)


@pytest.mark.parametrize("bad", ["a@b.c\r\nBcc: x@y.z", "no-at-sign", "a@", "@b.c", 42])
def test_email_addresses_are_one_line_local_at_domain(bad: object) -> None:
    with pytest.raises(InvalidInput):
        check_email(bad)


@pytest.mark.parametrize("bad", ["ftp://x.example/h", "https://", "https://u:p@x.example/h"])
def test_webhook_urls_are_http_without_credentials(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_webhook_url(bad)
