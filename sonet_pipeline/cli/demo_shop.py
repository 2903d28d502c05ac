"""The demo's simulated web shop (`sonet_pipeline/webshop/`), wired to the demo's tenants and intake.

`shop_tenants` gives each tenant its web shop's view: its name, its intake token (from the demo's
environment, or the Secrets Manager secret it names) and where its files are published. `start_web_shop`
runs the shop in a thread of the demo's process and answers the function that stops it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from sonet_pipeline.cli.aws_clients import secrets_client
from sonet_pipeline.cli.shop import destination
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.config.secrets import TokenUnavailable, resolve_token
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.webshop.intake_client import IntakeClient
from sonet_pipeline.webshop.pace import Pace
from sonet_pipeline.webshop.simulator import ShopTenant, WebShop


def order_prefix(now: datetime, letter: str = "W") -> str:
    """The web shop's order numbers start with this: one letter and the start time (`W261207054856`)."""
    return f"{letter}{now.strftime('%y%m%d%H%M%S')}"


def shop_tenants(tenants: Sequence[Tenant], env: dict[str, str], *, say: Callable[[str], None]) -> list[ShopTenant]:
    """The tenants the web shop can order for (those whose intake token can be read)."""
    found: list[ShopTenant] = []
    for tenant in tenants:
        source = tenant.intake_token_source()
        if source is None:
            say(f"web shop: {tenant.name} has no intake token configured: no orders for it")
            continue
        try:
            token = resolve_token(source, env=env.get, secrets=secrets_client).get_secret_value()
        except TokenUnavailable as exc:
            say(f"web shop: no orders for {tenant.name}: {exc}")
            continue
        guests = tenant.order_rights.guest_orders
        found.append(ShopTenant(tenant.name, token, destination(tenant), guests=guests))
    return found


def start_web_shop(
    intake_url: str, tenants: Sequence[ShopTenant], pace: Pace, *, say: Callable[[str], None]
) -> Callable[[], None]:
    """Run the web shop in a thread until the answered function is called (it waits for the thread)."""
    clock = SystemClock()
    client = IntakeClient(intake_url)
    shop = WebShop(
        client, tenants, pace, clock=clock, rng=random.Random(), report=say, prefix=order_prefix(clock.now())
    )
    stop = threading.Event()

    def work() -> None:
        try:
            shop.run(stop)
        except Exception as exc:  # the demo goes on without its shop, and says why
            say(f"web shop: stopped: {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=work, name="web-shop", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=40)
        client.close()

    return halt
