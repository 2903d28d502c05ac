"""The UI tour of docs/ui-tour.md: `sonet-pipeline demo` in Debian's Chromium, and the screenshots the page shows.

Playwright (the `playwright` package of the dev extras) drives the machine's Chromium
(`/usr/bin/chromium`, never a downloaded browser) through the Dagster UI of a demo started here on
ports picked at run time: it dismisses the first-visit dialog, opens the global asset lineage and
finds both demo tenants' assets, opens a materialization's metadata and the rights matrix the shop
published, and saves each view under the names docs/ui-tour.md shows: in the test's temporary folder,
or, with `SONET_PIPELINE_UPDATE_SCREENSHOTS=1`, in `docs/images/` (so that a test run leaves the
checkout as it was; refresh the docs' pictures on purpose).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from sonet_pipeline.cli.demo import DEMO_TOKENS
from tests.cli.test_demo import read_until, start_demo
from tests.conftest import REPO, require_outside

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
IMAGES = REPO / "docs" / "images"
#: Set to 1 to write the screenshots into docs/images/ (the docs' pictures), not the test's folder.
UPDATE_ENV = "SONET_PIPELINE_UPDATE_SCREENSHOTS"
TOUR_PAGE = REPO / "docs" / "ui-tour.md"
#: The screenshots, by what they show: the names docs/ui-tour.md links.
SHOTS = {
    "lineage": "ui-lineage.png",
    "materialization": "ui-materialization.png",
    "rights": "ui-rights-matrix.png",
}
TENANTS = ("acme", "nordic")
VIEWPORT = {"width": 1280, "height": 800}
UI_TIMEOUT_MS = 30_000


def require_browser() -> None:
    require_outside(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install -y chromium)")
    require_outside(
        importlib.util.find_spec("playwright") is not None,
        f"the playwright package is missing (pip install -e '.[dev]'; no `playwright install`: it drives {CHROMIUM})",
    )


def poll(what: str, seconds: float, probe: Callable[[], Any]) -> Any:
    """`probe()` once it answers something true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(1)
    pytest.fail(f"{what} not within {seconds:.0f} s (last answer: {last!r})")


def graphql(ui: str, query: str) -> dict[str, Any]:
    answer = requests.post(f"{ui}/graphql", json={"query": query}, timeout=30)
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()["data"]
    return data


def lineage_url(ui: str) -> str:
    """The global lineage with both tenants' groups open, in the graph and in the sidebar (the UI's own URL)."""
    groups = [f"global@global:{tenant}" for tenant in TENANTS]
    query = [("expanded", ",".join(groups))] + [(f"open-nodes[{i}]", group) for i, group in enumerate(groups)]
    return f"{ui}/asset-groups?{urlencode(query)}"


def rights_materialized(ui: str) -> bool:
    keys = ", ".join(f'{{path: ["{tenant}", "shop", "rights"]}}' for tenant in TENANTS)
    nodes = graphql(ui, f"{{ assetNodes(assetKeys: [{keys}]) {{ assetMaterializations(limit: 1) {{ runId }} }} }}")
    found = nodes["assetNodes"]
    return len(found) == len(TENANTS) and all(node["assetMaterializations"] for node in found)


def nudge(env: dict[str, str], command: list[str]) -> str:
    """Run `sonet-pipeline COMMAND` against the demo's instance; what came of it, for a failure's message."""
    done = subprocess.run(
        [sys.executable, "-m", "sonet_pipeline.cli", *command], env=env, capture_output=True, text=True, timeout=240
    )
    return f"`{' '.join(command)}` exited {done.returncode}: {done.stderr.strip()[-300:]}"


@pytest.fixture
def demo_ui(tmp_path: Path) -> Iterator[str]:
    """A demo with 50 items a company on free ports; its UI's address once both tenants' rights are published."""
    require_browser()
    demo, env, _ = start_demo(tmp_path, DEMO_TOKENS)  # the tokens as the demo's
    try:
        ui = read_until(demo, "Dagster UI:", seconds=240).split()[-1]
        # The first sync now, through Dagster as the daemon's schedule would (not up to a minute later; a run
        # the schedule started first holds the tenants and this one waits for it); the shop sensor (every 30 s)
        # then publishes the shop's files.
        synced = nudge(env, ["sync", "--wait", "120"])
        poll(f"both tenants' rights published (materializations of <tenant>/shop/rights; {synced})", 150,
             lambda: rights_materialized(ui))  # fmt: skip
        yield ui
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=90)


def test_ui_tour_shows_both_tenants_their_metadata_and_the_rights_matrix(demo_ui: str, tmp_path: Path):
    """The operator's tour of docs/ui-tour.md works in the UI as shipped: the first-visit dialog goes with
    Skip, the global lineage lists both tenants' assets with their rights published, a materialization
    shows its metadata, and the rights matrix opens; each view is saved where the page shows it."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)
    shots = IMAGES if os.environ.get(UPDATE_ENV) == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    ui = demo_ui
    show_nux = graphql(ui, "{ shouldShowNux }")["shouldShowNux"]
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root without it (CI containers)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(UI_TIMEOUT_MS)
        try:
            page.goto(ui)
            if show_nux:  # Dagster's first-visit dialog, shown a second after load on a new instance
                skip = page.get_by_role("dialog").get_by_role("button", name="Skip")
                skip.click()
                expect(skip).to_be_hidden()

            # The global asset lineage, both tenants' groups open in the graph and in the sidebar.
            page.locator('a[href="/asset-groups"]').click()
            expect(page.get_by_text("Global asset lineage")).to_be_visible()
            page.goto(lineage_url(ui))
            rights = page.get_by_role("button").filter(has=page.locator('[title="rights"]'))
            expect(rights).to_have_count(len(TENANTS))  # one under each tenant's group
            expect(rights.filter(has=page.get_by_role("img", name="run_success"))).to_have_count(len(TENANTS))
            for tenant in TENANTS:
                expect(page.get_by_role("button").filter(has=page.locator(f'[title="{tenant}"]')).first).to_be_visible()
            page.screenshot(path=shots / SHOTS["lineage"], animations="disabled")

            # A materialization's metadata: acme's latest rights file, as the Events tab shows it.
            page.goto(f"{ui}/assets/acme/shop/rights?view=events")
            expect(page.get_by_text("Materialized in run").first).to_be_visible()
            for key in ("records", "logins", "may_order", "by_rule"):
                expect(page.get_by_role("cell", name=key, exact=True).first).to_be_visible()
            by_rule = page.get_by_role("row").filter(has=page.get_by_role("cell", name="by_rule", exact=True)).first
            expect(by_rule.get_by_role("cell", name="contractors", exact=True)).to_be_visible()  # its table drawn
            page.screenshot(path=shots / SHOTS["materialization"], animations="disabled")

            # The rights matrix: who may see prices and order, up to what, and the rule that decided.
            page.get_by_role("row").filter(has=page.get_by_role("cell", name="matrix_sample", exact=True)).get_by_text(
                "[Show Markdown]"
            ).first.click()
            matrix = page.get_by_role("dialog")
            for header in ("login", "can see prices", "can order", "order limit", "rule"):
                expect(matrix.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
            expect(matrix.get_by_role("cell", name="contractors", exact=True).first).to_be_attached()
            matrix.get_by_text("matrix_sample", exact=True).first.scroll_into_view_if_needed()
            page.screenshot(path=shots / SHOTS["rights"], animations="disabled")
        except Exception:
            page.screenshot(path=tmp_path / "failed.png")  # what the page showed, for the failure's reader
            print(f"the page at the failure: {tmp_path / 'failed.png'} ({page.url})")
            raise
        finally:
            browser.close()
    page_text = TOUR_PAGE.read_text(encoding="utf-8")
    for name in SHOTS.values():
        assert (shots / name).stat().st_size > 0 and (IMAGES / name).is_file()
        assert f"images/{name}" in page_text, f"{TOUR_PAGE.name} does not show {name}"
