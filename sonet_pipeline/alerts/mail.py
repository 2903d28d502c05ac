"""An alert by e-mail: one message over SMTP (smtplib), STARTTLS, SSL or plain as the channel says."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pydantic import SecretStr

from sonet_pipeline.alerts.alert import Alert, DeliveryError
from sonet_pipeline.config.alerts import EmailChannel

TIMEOUT_SECONDS = 20.0


def message_of(channel: EmailChannel, alert: Alert) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = formatdate(alert.at.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid(domain=channel.sender.rsplit("@", 1)[-1])
    message.set_content(alert.body())
    return message


def send_alert(
    channel: EmailChannel, alert: Alert, password: SecretStr | None, *, timeout: float = TIMEOUT_SECONDS
) -> None:
    """Send `alert` through `channel`'s server; raises `DeliveryError` naming the server, never the password."""
    try:
        smtp: smtplib.SMTP
        if channel.security == "ssl":
            smtp = smtplib.SMTP_SSL(channel.host, channel.port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(channel.host, channel.port, timeout=timeout)
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if channel.username is not None and password is not None:
                smtp.login(channel.username, password.get_secret_value())
            smtp.send_message(message_of(channel, alert))
    except (OSError, smtplib.SMTPException) as exc:
        detail = f"SMTP {exc.smtp_code}" if isinstance(exc, smtplib.SMTPResponseException) else type(exc).__name__
        raise DeliveryError(f"e-mail via {channel.host}:{channel.port}: {detail}") from None
