"""A real browser for the faces' page tests: Debian's Chromium driven by Playwright (browser downloads
are not possible here; `.ci/run` installs the package when it is missing)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = os.environ.get("TICKETD_CHROMIUM", "/usr/bin/chromium")
# Flags for a headless browser on a machine without a network: nothing is fetched but the page.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()
