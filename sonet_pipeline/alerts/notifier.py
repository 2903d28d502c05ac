"""Who hears of an alert: the tenant's channels (its `alerts:` section) and the deployment's default, each
channel once, as far as it wants that kind of incident; what reached them, and what did not.

Delivery never raises: a channel that fails is reported (`Delivery.failures`), and the others still get
the alert. The sensors keep an incident unnotified, to try again next tick, when no channel got it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from pydantic import SecretStr

from sonet_pipeline.alerts.alert import Alert, DeliveryError
from sonet_pipeline.alerts.mail import send_alert
from sonet_pipeline.alerts.webhook import post_alert
from sonet_pipeline.config.alerts import AlertChannels, EmailChannel, webhook_host
from sonet_pipeline.config.secrets import TokenSource

_LOG = logging.getLogger(__name__)

#: Reads a password from where the channel's config says (an env var, a secret); raises when it cannot.
PasswordReader = Callable[[TokenSource], SecretStr]
Webhook = Callable[[str, Alert], None]
Email = Callable[[EmailChannel, Alert, SecretStr | None], None]


@dataclass
class Delivery:
    """How many channels got the alert, and why each other one did not."""

    delivered: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def reached_anyone(self) -> bool:
        return self.delivered > 0

    @property
    def addressed(self) -> bool:
        """Whether any channel was meant to get it (none: nobody wants this kind)."""
        return self.delivered > 0 or bool(self.failures)


@dataclass
class Notifier:
    default: AlertChannels | None
    tenants: Mapping[str, AlertChannels]
    password: PasswordReader
    post: Webhook = post_alert
    email: Email = send_alert

    @property
    def configured(self) -> bool:
        """Whether any channel exists at all (else the sensors have nothing to do)."""
        return self.default is not None or bool(self.tenants)

    def channels(self, alert: Alert) -> list[tuple[str, AlertChannels]]:
        """The sections that route `alert`: the tenant's, then the deployment's; those that want it."""
        sections = [(f"tenant {alert.tenant!r}", self.tenants.get(alert.tenant or ""))]
        sections.append(("the deployment", self.default))
        wanted = [(owner, s) for owner, s in sections if s is not None and s.wants(alert.kind)]
        if alert.state == "cleared":
            wanted = [(owner, s) for owner, s in wanted if s.notify_cleared]
        return wanted

    def notify(self, alert: Alert) -> Delivery:
        delivery, done = Delivery(), set[str]()
        for owner, section in self.channels(alert):
            url = section.webhook
            if url is not None and f"webhook {url}" not in done:
                done.add(f"webhook {url}")
                self._attempt(delivery, partial(self.post, url, alert))
            email = section.email
            if email is not None and f"email {email.host}:{email.port} {email.to}" not in done:
                done.add(f"email {email.host}:{email.port} {email.to}")
                self._attempt(delivery, partial(self._mail, email, owner, alert))
        for failure in delivery.failures:
            _LOG.warning("alert %s (%s) not delivered: %s", alert.key, alert.state, failure)
        return delivery

    def _mail(self, channel: EmailChannel, owner: str, alert: Alert) -> None:
        source = channel.password_source(owner)
        self.email(channel, alert, None if source is None else self.password(source))

    @staticmethod
    def _attempt(delivery: Delivery, send: Callable[[], None]) -> None:
        try:
            send()
            delivery.delivered += 1
        except DeliveryError as exc:
            delivery.failures.append(str(exc))
        except Exception as exc:  # a password that cannot be read, a bug: reported, the rest still go
            delivery.failures.append(f"{type(exc).__name__}: {exc}")


def describe_channels(section: AlertChannels) -> str:
    """A section for logs and the UI: its channels' hosts and recipients, never a password or a URL path."""
    parts = [f"webhook {webhook_host(section.webhook)}"] if section.webhook else []
    if section.email is not None:
        parts.append(section.email.describe())
    return ", ".join(parts)
