"""An alert to a webhook: one POST of its JSON (`Alert.payload`); any answer but 2xx is a failed delivery."""

from __future__ import annotations

import json

import requests

from sonet_pipeline.alerts.alert import Alert, DeliveryError
from sonet_pipeline.config.alerts import webhook_host

TIMEOUT_SECONDS = 10.0


def post_alert(url: str, alert: Alert, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """POST `alert`'s JSON to `url`; raises `DeliveryError` naming only the URL's host."""
    body = json.dumps(alert.payload(), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "sonet-pipeline-alerts"}
    try:
        answer = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook {webhook_host(url)}: {type(exc).__name__}") from None
    if not 200 <= answer.status_code < 300:
        raise DeliveryError(f"webhook {webhook_host(url)}: HTTP {answer.status_code}")
