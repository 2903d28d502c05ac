"""An alert reaches a webhook as the documented JSON and a mailbox as an e-mail over SMTP; each channel
gets it once, a failing channel is reported without stopping the others, and no password is logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from sonet_pipeline.alerts.alert import Alert
from sonet_pipeline.alerts.notifier import Notifier
from sonet_pipeline.config.alerts import AlertChannels
from sonet_pipeline.config.secrets import TokenSource, resolve_token
from tests.alerts.receivers import free_port, smtp_server, webhook_receiver

# The test's SMTP server takes a login without TLS, on loopback only.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

AT = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
ALERT = Alert(
    "credentials_refused",
    "credentials_refused:acme",
    "Sonet refused the credentials of tenant 'acme'",
    AT,
    "acme",
    details={"run_id": "r1"},
)


def email(port: int, **more) -> dict:
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "p@example.com",
        "to": ["o@example.com"],
    } | more


def notifier(default: dict | None = None, **tenants: dict) -> Notifier:
    return Notifier(
        default=AlertChannels.model_validate(default) if default else None,
        tenants={name: AlertChannels.model_validate(section) for name, section in tenants.items()},
        password=resolve_token,
    )


def test_the_webhook_gets_the_documented_json():
    """One POST, JSON with source, version, kind, state, key, tenant, summary, at (UTC, Z), details, text."""
    with webhook_receiver() as (url, received):
        delivery = notifier(acme={"webhook": f"{url}/hook/secret-part"}).notify(ALERT)
        (path, headers, body), *rest = received.wait_for(1)
    assert delivery.delivered == 1 and not delivery.failures and not rest
    assert path == "/hook/secret-part" and headers["Content-Type"].startswith("application/json")
    assert body == {
        "source": "sonet-pipeline",
        "version": 1,
        "kind": "credentials_refused",
        "state": "open",
        "key": "credentials_refused:acme",
        "tenant": "acme",
        "summary": "Sonet refused the credentials of tenant 'acme'",
        "at": "2026-11-28T07:00:00Z",
        "details": {"run_id": "r1"},
        "text": "[sonet-pipeline] acme: credentials_refused: Sonet refused the credentials of tenant 'acme'",
    }


def test_an_email_goes_through_smtp_with_a_login(monkeypatch):
    """The password comes from the variable `password_env` names; the e-mail's subject says the incident."""
    monkeypatch.setenv("ACME_SMTP_PASSWORD", "s3cret")
    with smtp_server(login=("pipeline", "s3cret")) as (port, received):
        section = {"email": email(port, username="pipeline", password_env="ACME_SMTP_PASSWORD")}
        delivery = notifier(acme=section).notify(ALERT)
        (sender, recipients, message), *rest = received.wait_for(1)
    assert delivery.delivered == 1 and not delivery.failures and not rest
    assert sender == "p@example.com" and recipients == ["o@example.com"]
    assert " ".join(str(message["Subject"]).split()) == ALERT.subject and message["To"] == "o@example.com"
    text = message.get_payload(decode=True).decode()
    assert "key: credentials_refused:acme" in text and "run_id: r1" in text


def test_the_tenant_and_the_deployment_each_get_it_once():
    """A tenant's incident goes to its channels and the deployment's; a channel both name gets it once."""
    with webhook_receiver() as (url, received), smtp_server() as (port, mails):
        routes = notifier(
            {"webhook": f"{url}/ops", "email": email(port)}, acme={"webhook": f"{url}/acme", "email": email(port)}
        )
        delivery = routes.notify(ALERT)
        hooks, sent = received.wait_for(2), mails.wait_for(1)
        other = routes.notify(Alert("run_failed", "run_failed:retention", "run failed", AT))
    assert delivery.delivered == 3 and sorted(p for p, _, _ in hooks) == ["/acme", "/ops"] and len(sent) == 1
    assert other.delivered == 2  # no tenant: the deployment's webhook and e-mail


def test_a_channel_that_does_not_want_the_kind_or_clears_gets_nothing():
    """`incidents` filters the kinds; `notify_cleared: false` drops the clears."""
    with webhook_receiver() as (url, received):
        routes = notifier(acme={"webhook": url, "incidents": ["order_failed"], "notify_cleared": False})
        assert not routes.notify(ALERT).addressed
        order = Alert("order_failed", "order_failed:acme:m1", "1 order failed", AT, "acme")
        assert routes.notify(order).delivered == 1
        assert not routes.notify(order.cleared(AT, "over")).addressed
        assert len(received.wait_for(1)) == 1


def test_a_failing_channel_is_reported_and_the_others_still_get_it(monkeypatch, caplog):
    """A webhook answering 500 and an unreachable SMTP server are failures naming the host only; the
    working webhook still gets the alert; the password and the webhook's path are not logged."""
    monkeypatch.setenv("ACME_SMTP_PASSWORD", "s3cret")
    caplog.set_level(logging.WARNING)
    closed = free_port()
    with webhook_receiver(status=500) as (bad, _), webhook_receiver() as (good, received):
        section = {
            "webhook": f"{bad}/secret-path",
            "email": email(closed, username="u", password_env="ACME_SMTP_PASSWORD"),
        }
        delivery = notifier({"webhook": good}, acme=section).notify(ALERT)
        assert len(received.wait_for(1)) == 1
    assert delivery.delivered == 1 and delivery.reached_anyone
    assert any("HTTP 500" in f for f in delivery.failures) and any(
        f"127.0.0.1:{closed}" in f for f in delivery.failures
    )
    assert (
        "secret-path" not in caplog.text and "s3cret" not in caplog.text and "secret-path" not in str(delivery.failures)
    )


def test_a_password_that_cannot_be_read_is_a_failure_not_a_crash():
    """An unset password variable fails that channel, naming the variable."""
    routes = Notifier(
        default=AlertChannels.model_validate({"email": email(free_port(), username="u", password_env="UNSET_VAR_X")}),
        tenants={},
        password=lambda source: resolve_token(source, env=lambda _: None),
    )
    delivery = routes.notify(ALERT)
    assert not delivery.reached_anyone and "UNSET_VAR_X is not set" in delivery.failures[0]


def test_the_password_reader_gets_the_named_source():
    """The notifier asks its reader for the source the channel names (env var or secret), never the file."""
    asked: list[TokenSource] = []

    def reader(source: TokenSource) -> SecretStr:
        asked.append(source)
        return SecretStr("pw")

    with smtp_server(login=("u", "pw")) as (port, received):
        routes = Notifier(
            default=AlertChannels.model_validate({"email": email(port, username="u", password_secret="smtp-pw")}),
            tenants={},
            password=reader,
        )
        assert routes.notify(ALERT).delivered == 1
        assert len(received.wait_for(1)) == 1
    assert asked[0].secret is not None and asked[0].secret.id == "smtp-pw"
