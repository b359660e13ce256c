"""The console in a real browser (Debian's Chromium, driven by Playwright) against `ticketd serve`
on the embedded default with the demo tenant:

- a customer sends a new request with a screenshot and a log (the image shows as a thumbnail), and
  an agent answers it with an 8 MB file, watching its upload's progress bar;
- an agent signs in, finds a ticket by text, and solves it with a public reply (after an internal
  note); in a second browser context the customer, already on that ticket's page, sees the new
  status and the reply without reloading, and never the internal note;
- an admin creates an API key, and the secret the page shows works against the API; uploads an
  import from the operations page and watches it complete; adds a webhook endpoint;
- a form on another site posting to the console changes nothing;
- a ticket whose subject is `<img src=x onerror=alert(1)>` shows it as text: no dialog opens;
- an incident an admin posts appears on the status page and in summary.json;
- every page passes axe-core with no serious or critical violation;
- screenshots of the queue, a ticket, the portal and the status page at 1280 and 390 px wide go to
  `screenshots/`.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

from tests.faces.native.test_attachments_api import png
from tests.web.test_server import _demo, _free_port, _native_key, serving
from ticketd.settings import Settings

SCREENSHOTS = Path(__file__).resolve().parents[3] / "screenshots"
WIDTHS = (1280, 390)


def _check_axe(page: Page) -> None:
    results = Axe().run(page)
    serious = [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], (page.url, serious)


def _sign_in(context: BrowserContext, base: str, username: str, password: str) -> Page:
    page = context.new_page()
    page.goto(f"{base}/console/sign-in?tenant=demo")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)
    return page


def _bearer(base: str, username: str, password: str) -> dict[str, str]:
    answer = httpx2.post(
        f"{base}/api/v1/auth/token", json={"tenant": "demo", "username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _record_dialog(seen: list[str], dialog: Dialog) -> None:
    seen.append(dialog.message)
    dialog.dismiss()


@contextmanager
def _other_site(html: str) -> Iterator[str]:
    """A page served from another origin (localhost, not 127.0.0.1: another site to the browser)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_console_flows_in_a_browser(tmp_path: Path, browser: Browser) -> None:
    settings = Settings(database_path=tmp_path / "console.sqlite3")
    demo = _demo(settings)
    _, admin_key = _native_key(demo)
    console = demo["console"]
    assert isinstance(console, dict)
    passwords: dict[str, str] = console["users"]
    port = _free_port()
    SCREENSHOTS.mkdir(exist_ok=True)
    # Webhooks may go to this machine (the endpoint the admin adds is on it).
    with serving(settings, port, TICKETD_WEBHOOK_ALLOW_PRIVATE="true"):
        base = f"http://127.0.0.1:{port}"
        customer_auth = _bearer(base, "customer", passwords["customer"])
        made = httpx2.post(
            f"{base}/api/v1/tickets",
            headers=customer_auth,
            json={"subject": "Projector in room 4 flickers", "content": "Since the firmware update."},
        )
        assert made.status_code == 201, made.text
        ticket_id = made.json()["id"]
        hostile = httpx2.post(
            f"{base}/api/v1/tickets", headers=customer_auth, json={"subject": "<img src=x onerror=alert(1)>"}
        ).json()["id"]

        agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
        customer_context = browser.new_context(viewport={"width": 1280, "height": 900})
        admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        for context in (agent_context, customer_context, admin_context):
            context.on("dialog", lambda dialog: _record_dialog(dialogs, dialog))
        try:
            # The customer waits on the ticket's page, which follows the event stream.
            customer = _sign_in(customer_context, base, "customer", passwords["customer"])
            customer.goto(f"{base}/console/tickets/{ticket_id}")
            expect(customer.locator("#ticket-status")).to_have_text("new")
            customer.wait_for_timeout(500)  # the stream is open before the agent acts

            # The agent finds it by text, notes something internal, then solves it with a reply.
            agent = _sign_in(agent_context, base, "agent", passwords["agent"])
            agent.get_by_label("Text").fill("projector")
            agent.get_by_role("button", name="Filter").click()
            agent.get_by_role("link", name="Projector in room 4 flickers").click()
            agent.get_by_label("Comment").fill("Internal: vendor ticket 8812 opened")
            agent.get_by_label("staff only (internal note)").check()
            agent.get_by_role("button", name="Send").click()
            expect(agent.get_by_text("Internal: vendor ticket 8812 opened")).to_be_visible()
            agent.get_by_label("Comment").fill("Firmware rolled back; it should be steady now.")
            agent.get_by_label("New status").select_option("solved")
            agent.get_by_role("button", name="Send").click()
            expect(agent.locator("#ticket-status")).to_have_text("solved")

            # The customer's page changed by itself, and shows nothing internal.
            expect(customer.locator("#ticket-status")).to_have_text("solved", timeout=15_000)
            expect(customer.get_by_text("Firmware rolled back; it should be steady now.")).to_be_visible()
            assert "vendor ticket 8812" not in customer.content()
            assert customer.evaluate("document.getElementById('live').dataset.refreshed") is not None

            # The customer asks again with a screenshot and a log; both show on the new request,
            # the image as a thumbnail.
            screen, log = tmp_path / "screen.png", tmp_path / "projector.log"
            screen.write_bytes(png(40, 30))
            log.write_text("lamp hours 2210\n" * 50)
            customer.goto(f"{base}/console/portal/new")
            customer.get_by_label("Subject").fill("Projector in room 5 too")
            customer.get_by_label("What happened?").fill("Screenshot and log attached.")
            customer.get_by_label("Add files").set_input_files([str(screen), str(log)])
            customer.get_by_role("button", name="Send").click()
            customer.wait_for_url(re.compile(r".*/console/tickets/\d+$"))
            thumbnail = customer.get_by_role("img", name="screen.png")
            expect(thumbnail).to_be_visible()
            expect(thumbnail).to_have_js_property("naturalWidth", 40)
            expect(customer.get_by_role("link", name="projector.log")).to_be_visible()
            with_files = customer.url.removeprefix(base)

            # The agent answers with a large file and sees its upload's progress (the bar's values
            # are kept in sessionStorage, which outlives the page the upload leaves).
            firmware = tmp_path / "firmware.bin"
            firmware.write_bytes(os.urandom(8 * 1024 * 1024))
            agent.goto(base + with_files)
            agent.evaluate(
                """() => {
                  const bar = document.querySelector(".upload-progress");
                  new MutationObserver(() => sessionStorage.setItem("progress",
                    (sessionStorage.getItem("progress") || "") + (bar.hidden ? "" : bar.value + ","))
                  ).observe(bar, { attributes: true });
                }"""
            )
            agent.get_by_label("Comment").fill("The firmware image we rolled back to.")
            agent.get_by_label("Add files").set_input_files(str(firmware))
            agent.get_by_role("button", name="Send").click()
            expect(agent.get_by_role("link", name="firmware.bin")).to_be_visible(timeout=30_000)
            progress = [
                int(value)
                for value in agent.evaluate("sessionStorage.getItem('progress')").split(",")
                if value
            ]
            assert progress and progress[-1] == 100, progress
            files = httpx2.get(
                f"{base}/api/v1/tickets/{with_files.rsplit('/', 1)[1]}/attachments", auth=admin_key
            )
            stored = {item["filename"]: item["sha256"] for item in files.json()}
            assert stored["firmware.bin"] == hashlib.sha256(firmware.read_bytes()).hexdigest()
            assert set(stored) == {"screen.png", "projector.log", "firmware.bin"}
            expect(customer.get_by_role("link", name="firmware.bin")).to_be_visible(timeout=15_000)

            # An admin's new API key works against the API with the secret the page showed.
            admin = _sign_in(admin_context, base, "admin", passwords["admin"])
            admin.goto(f"{base}/console/admin/keys")
            admin.get_by_label("Name").fill("reporting")
            admin.get_by_role("button", name="Create API key").click()
            key_id = admin.locator("#new-key-id").inner_text()
            secret = admin.locator("#new-key-secret").inner_text()
            listed = httpx2.get(f"{base}/api/v1/tickets/{ticket_id}/status", auth=(key_id, secret))
            assert listed.status_code == 200 and listed.json()["status"] == "solved"

            # A form on another site, posting into the console with the agent's cookies: refused.
            forged_form = (
                f'<form id="f" method="post" action="{base}/console/tickets/{ticket_id}/reply">'
                '<input name="body" value="forged"><input name="status" value="closed"></form>'
                "<script>document.getElementById('f').submit()</script>"
            )
            with _other_site(forged_form) as evil:
                forged = agent_context.new_page()
                forged.goto(evil)
                forged.wait_for_load_state("networkidle")
                forged.close()
            state = httpx2.get(f"{base}/api/v1/tickets/{ticket_id}", auth=admin_key).json()
            assert state["status"] == "solved"
            comments = httpx2.get(f"{base}/api/v1/tickets/{ticket_id}/comments", auth=admin_key).json()
            assert all(comment["body"] != "forged" for comment in comments)

            # A hostile subject is text wherever it shows.
            for path in (f"/console/queue?q={'%3Cimg'}", f"/console/tickets/{hostile}"):
                agent.goto(base + path)
                expect(agent.get_by_text("<img src=x onerror=alert(1)>").first).to_be_visible()
            customer.goto(f"{base}/console/portal")
            expect(customer.get_by_text("<img src=x onerror=alert(1)>")).to_be_visible()
            assert dialogs == []

            # An incident posted from the console is on the public page and in summary.json.
            admin.goto(f"{base}/console/admin/status-page")
            admin.get_by_label("Title").fill("Ticket search is slow")
            admin.get_by_label("What is happening").fill("Searches take up to a minute; we are on it.")
            admin.get_by_role("button", name="Post", exact=True).click()
            expect(admin.get_by_role("heading", name="Ticket search is slow")).to_be_visible()
            summary = httpx2.get(f"{base}/status/demo/api/v2/summary.json").json()
            assert [incident["name"] for incident in summary["incidents"]] == ["Ticket search is slow"]
            status = admin_context.new_page()
            status.goto(f"{base}/status/demo")
            expect(status.get_by_role("heading", name="Ticket search is slow")).to_be_visible()
            status.close()

            # An import uploaded from the operations page (the page's script sends the file), watched
            # until it completes; then an export to download; and a webhook endpoint with its log.
            upload = tmp_path / "tickets.csv"
            upload.write_text("subject,priority\nImported from the console,high\nAnd another,low\n")
            admin.goto(f"{base}/console/admin/operations")
            admin.get_by_label("A CSV file").set_input_files(str(upload))
            admin.get_by_role("button", name="Upload and import").click()
            admin.wait_for_url("**/console/admin/operations/*")
            expect(admin.locator("#operation-status")).to_have_text("completed", timeout=30_000)
            operation_page = admin.url
            found = httpx2.get(
                f"{base}/api/v1/tickets", params={"q": "Imported from the console"}, auth=admin_key
            )
            assert [ticket["subject"] for ticket in found.json()["items"]] == ["Imported from the console"]
            admin.goto(f"{base}/console/admin/webhooks")
            admin.get_by_label("URL (https or http)").fill(f"http://127.0.0.1:{port}/nowhere")
            admin.get_by_role("button", name="Add endpoint").click()
            expect(admin.locator("#new-webhook-secret")).to_contain_text("whsec_")
            admin.get_by_role("link", name=f"http://127.0.0.1:{port}/nowhere").click()
            webhook_page = admin.url

            # Every page, checked by axe-core.
            pages = {
                agent: [
                    "/console/queue",
                    f"/console/tickets/{ticket_id}",
                    with_files,
                ],
                customer: [
                    "/console/portal",
                    "/console/portal/new",
                    f"/console/tickets/{ticket_id}",
                    with_files,
                ],
                admin: [
                    "/console/admin/users",
                    "/console/admin/keys",
                    "/console/admin/limits",
                    "/console/admin/operations",
                    "/console/admin/webhooks",
                    "/console/admin/status-page",
                    operation_page.removeprefix(base),
                    webhook_page.removeprefix(base),
                ],
            }
            for page, paths in pages.items():
                for path in paths:
                    page.goto(base + path)
                    _check_axe(page)
            signed_out = browser.new_page()
            signed_out.goto(f"{base}/console/sign-in")
            _check_axe(signed_out)
            signed_out.close()

            # Screenshots at desktop and phone widths.
            shots = {
                "console-queue": (agent, "/console/queue"),
                "console-ticket": (agent, f"/console/tickets/{ticket_id}"),
                "console-ticket-files": (customer, with_files),
                "console-portal": (customer, "/console/portal"),
                "console-status-page": (customer, "/status/demo"),
            }
            for width in WIDTHS:
                for name, (page, path) in shots.items():
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto(base + path)
                    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 1, (name, width, overflow)
        finally:
            for context in (agent_context, customer_context, admin_context):
                context.close()
