"""The status page in a real browser (Debian's Chromium, driven by Playwright) against `ticketd
serve`: an incident an admin posts appears on the page and in summary.json; axe-core finds no
serious or critical accessibility violation; screenshots at 1280 and 390 pixels go to
`screenshots/` for anyone to look at."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from tests.web.test_server import _demo, _free_port, _native_key, serving
from ticketd.settings import Settings

SCREENSHOTS = Path(__file__).resolve().parents[3] / "screenshots"


@pytest.mark.slow
def test_an_incident_shows_on_the_page_and_passes_axe(tmp_path: Path, browser: Browser) -> None:
    settings = Settings(database_path=tmp_path / "status.sqlite3")
    _, auth = _native_key(_demo(settings))
    port = _free_port()
    SCREENSHOTS.mkdir(exist_ok=True)
    with serving(settings, port):
        base = f"http://127.0.0.1:{port}"
        components = httpx2.get(f"{base}/api/v1/status-page/components", auth=auth).json()
        api = components[0]["id"]
        posted = httpx2.post(
            f"{base}/api/v1/status-page/incidents",
            auth=auth,
            json={
                "name": "Slow ticket search",
                "body": "Searches take up to a minute; we are on it.",
                "impact": "minor",
                "components": {api: "degraded_performance"},
            },
        )
        assert posted.status_code == 201, posted.text
        summary = httpx2.get(f"{base}/status/demo/api/v2/summary.json").json()
        assert [incident["name"] for incident in summary["incidents"]] == ["Slow ticket search"]
        for width in (1280, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            try:
                page.goto(f"{base}/status/demo")
                assert page.get_by_role("heading", name="Slow ticket search").is_visible()
                assert page.get_by_role("status").inner_text() == "Minor Service Outage"
                assert page.get_by_text("Degraded performance").is_visible()
                page.screenshot(path=str(SCREENSHOTS / f"status-page-{width}.png"), full_page=True)
                results = Axe().run(page)
                serious = [
                    f"{violation['id']} ({violation['impact']})"
                    for violation in results.response["violations"]
                    if violation["impact"] in ("serious", "critical")
                ]
                assert serious == [], results.generate_report()
            finally:
                page.close()
