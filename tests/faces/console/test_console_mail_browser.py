"""Mail in the console, in Chromium, against `ticketd serve` with a real SMTP server (aiosmtpd): an
admin adds the demo's mail channel on the mail page, a customer's message comes in through the
mail server's pipe (`ticketd mail deliver`), and an agent's answer on the ticket's page arrives at
the SMTP server, threaded to the customer's message. The mail page passes axe-core."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx2
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, expect

from tests.core.mail.test_sending import Inbox
from tests.faces.console.test_console_browser import _check_axe, _sign_in
from tests.web.test_server import _demo, _env, _free_port, _native_key, serving
from ticketd.settings import Settings

MESSAGE = (
    b"From: Ann Example <ann@customer.example>\r\nTo: support@demo.example\r\n"
    b"Subject: Projector in room 7 is dark\r\nMessage-ID: <room7@customer.example>\r\n\r\n"
    b"It stays dark since this morning.\r\n"
)


def test_an_agents_answer_to_mail_goes_out_by_mail(tmp_path: Path, browser: Browser) -> None:
    settings = Settings(database_path=tmp_path / "mail.sqlite3")
    demo = _demo(settings)
    _, admin_key = _native_key(demo)
    passwords: dict[str, str] = demo["console"]["users"]  # type: ignore[index]
    handler = Inbox()
    smtp = Controller(handler, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    port = _free_port()
    try:
        with serving(settings, port, TICKETD_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}"):
            base = f"http://127.0.0.1:{port}"
            admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
            agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
            try:
                admin = _sign_in(admin_context, base, "admin", passwords["admin"])
                admin.goto(f"{base}/console/admin/mail")
                admin.get_by_label("Address customers write to").fill("support@demo.example")
                admin.get_by_role("button", name="Add channel").click()
                expect(admin.get_by_role("heading", name="support@demo.example")).to_be_visible()

                delivered = subprocess.run(
                    [sys.executable, "-m", "ticketd", "mail", "deliver", "--tenant", "demo"],
                    input=MESSAGE,
                    env=_env(settings),
                    capture_output=True,
                    check=True,
                )
                assert b'"action": "created"' in delivered.stdout, delivered.stdout
                found = httpx2.get(f"{base}/api/v1/tickets", params={"q": "room 7"}, auth=admin_key).json()
                (ticket,) = found["items"]
                assert ticket["channel"] == "email"

                # The acknowledgement goes out by itself; then the agent answers on the page.
                deadline = time.monotonic() + 20
                while not handler.received and time.monotonic() < deadline:
                    time.sleep(0.1)
                # (A long subject may be folded at its start: the words are what a client shows.)
                assert [" ".join(m["Subject"].split()) for m in handler.received][:1] == [
                    f"Your request has been received: Projector in room 7 is dark [demo #{ticket['id']}]"
                ]
                agent = _sign_in(agent_context, base, "agent", passwords["agent"])
                agent.goto(f"{base}/console/tickets/{ticket['id']}")
                agent.get_by_label("Comment").fill("A technician is on the way with a new lamp.")
                agent.get_by_role("button", name="Send").click()
                expect(agent.get_by_text("A technician is on the way with a new lamp.")).to_be_visible()
                deadline = time.monotonic() + 20
                while len(handler.received) < 2 and time.monotonic() < deadline:
                    time.sleep(0.1)
                answer = handler.received[1]
                assert handler.envelopes[1] == ["ann@customer.example"]
                assert (
                    " ".join(answer["Subject"].split())
                    == f"Re: Projector in room 7 is dark [demo #{ticket['id']}]"
                )
                assert "<room7@customer.example>" in answer["References"]
                body = answer.get_body(("plain",))
                assert body is not None and "A technician is on the way" in body.get_content()

                admin.goto(f"{base}/console/admin/mail")
                expect(admin.get_by_role("cell", name="Projector in room 7 is dark").first).to_be_visible()
                _check_axe(admin)
            finally:
                admin_context.close()
                agent_context.close()
    finally:
        smtp.stop()
