"""`make bench-mail`: mail in, measured on the embedded default (`ticketd serve`, SQLite, limits on
with quotas out of reach), with mail out on (each new ticket acknowledged to a local SMTP server).

1. status lookups alone (wrk, as `make bench` drives them);
2. MESSAGES messages posted to POST /api/v1/mail/inbound by 4 clients, while wrk polls lookups:
   messages a second, and the lookups' figures meanwhile;
3. MESSAGES messages put in a Dovecot mailbox and fetched by the server's worker (IMAP, IDLE),
   while wrk polls lookups: messages a second, and the lookups' figures meanwhile;
4. every ticket so made put to pending by another process, each change announced by mail: sending
   alone (the fan-out and SMTP), with the lookups' figures meanwhile.

Every message makes a ticket and an acknowledgement sent over SMTP, so the lookups' figures of 2 and
3 against 1 show what taking mail in and sending mail out cost the polled path."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import httpx2
from aiosmtpd.controller import Controller

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from bench import (  # noqa: E402
    LIMITS_IN_MEMORY,
    LUA,
    NATIVE_STATUS,
    WRK_CORE,
    _wrk_env,
    ensure_wrk,
    free_port,
    load_store,
    run_wrk,
    serve_ticketd,
    stop,
    store_settings,
)
from bench_webhooks import _start_wrk, _stop_wrk  # noqa: E402
from sqlalchemy import select  # noqa: E402
from tests.core.mail.test_sending import Inbox  # noqa: E402
from tests.dovecot_server import PASSWORD, USER, OwnDovecot  # noqa: E402

from ticketd.core import identity, tickets  # noqa: E402
from ticketd.core.lifecycle import Status  # noqa: E402
from ticketd.core.principal import Principal, Role  # noqa: E402
from ticketd.store.engine import build_engine, session_factory, unit_of_work  # noqa: E402
from ticketd.store.tables import MailMessage  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MAIL_MESSAGES", "1000"))
TICKETS = 10_000
CLIENTS = 4


def message(number: int, prefix: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Customer {number % 50} <customer{number % 50}@example.net>"
    mail["To"] = "support@bench.example"
    mail["Subject"] = f"{prefix} request {number}"
    mail["Message-ID"] = f"<{prefix}-{number}@example.net>"
    mail.set_content(f"Please help with {number}.\n\nOn Monday, Support wrote:\n> an earlier answer\n")
    return mail.as_bytes()


def main() -> None:
    wrk = ensure_wrk()
    os.sched_setaffinity(0, {int(WRK_CORE)})
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-bench-mail-"))
    script = workdir / "status.lua"
    script.write_text(LUA)
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    dovecot = OwnDovecot()
    dovecot.start()
    server = None
    try:
        print(f"mail: loading {TICKETS:,} tickets ...", flush=True)
        path = workdir / "store.sqlite3"
        store = load_store(path, TICKETS)
        port = free_port()
        env = {
            **LIMITS_IN_MEMORY,
            "TICKETD_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
            # Every bench customer writes many times: the flood guard stays out of the way.
            "TICKETD_MAIL_NEW_TICKETS_PER_SENDER_HOUR": "1000000",
        }
        server = serve_ticketd(path, port, env, workdir / "server.log")
        client = httpx2.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1", headers={"Authorization": store.basic}, timeout=60
        )
        made = client.post("/channels/email", json={"address": "support@bench.example"})
        made.raise_for_status()
        channel_id = made.json()["id"]
        url = f"http://127.0.0.1:{port}"
        lookups = _wrk_env(NATIVE_STATUS, store.basic, TICKETS, "0")

        print("status lookups alone ...", flush=True)
        alone = run_wrk(wrk, "status lookups alone", url, lookups, script, server.pid)

        print(f"{MESSAGES:,} messages over HTTP, under status lookups ...", flush=True)
        load = _start_wrk(wrk, url, lookups, script)
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            outcomes = list(pool.map(lambda n: _post(client, message(n, "http")), range(MESSAGES)))
        http_seconds = time.perf_counter() - started
        during_http = _stop_wrk(load)
        created = sum(outcome == "created" for outcome in outcomes)

        print(f"{MESSAGES:,} messages over IMAP, under status lookups ...", flush=True)
        # The mailbox is followed first; the messages wait in another folder and are moved into
        # it at once, so the time measured is the fetching's alone.
        imap = {
            "host": "127.0.0.1",
            "port": dovecot.port,
            "user": USER,
            "password": PASSWORD,
            "security": "plain",
        }
        client.patch(f"/channels/email/{channel_id}", json={"imap": imap}).raise_for_status()
        _wait_until_followed(client, channel_id)
        staging = dovecot.client()
        staging.create_folder("Staging")
        for number in range(MESSAGES):
            staging.append("Staging", message(number, "imap"))
        staging.select_folder("Staging")
        load = _start_wrk(wrk, url, lookups, script)
        started = time.perf_counter()
        staging.move(staging.search(["ALL"]), "INBOX")
        staging.logout()
        taken = _wait_for_imap(client, channel_id, MESSAGES)
        imap_seconds = time.perf_counter() - started
        during_imap = _stop_wrk(load)
        sent = _wait_for_sent(client, 2 * MESSAGES)

        print(f"{2 * MESSAGES:,} status notices sent, under status lookups ...", flush=True)
        # Only sending: the status changes are committed by this process on its own connection (as
        # another host would), so the server's part is the fan-out and the SMTP sends alone.
        client.patch(
            f"/channels/email/{channel_id}", json={"announce": ["pending", "solved"]}
        ).raise_for_status()
        changer = StatusChanger(path)
        load = _start_wrk(wrk, url, lookups, script)
        started = time.perf_counter()
        notices = changer.to_pending()
        notified = _wait_for_sent(client, 2 * MESSAGES + notices)
        sending_seconds = time.perf_counter() - started
        during_sending = _stop_wrk(load)
    finally:
        if server is not None:
            stop(server)
        smtp.stop()
        dovecot.remove()

    print()
    print(f"mail: {MESSAGES:,} messages each way in, every one a new ticket acknowledged over SMTP")
    print(
        f"  over HTTP ({CLIENTS} clients): {created:,} tickets in {http_seconds:.1f} s,"
        f" {MESSAGES / http_seconds:,.0f} messages/s"
    )
    print(
        f"  over IMAP (the server's worker, woken by IDLE): {taken:,} taken in {imap_seconds:.1f} s,"
        f" {taken / imap_seconds:,.0f} messages/s"
    )
    print(f"  acknowledgements sent: {sent:,} of {2 * MESSAGES:,}")
    print(
        f"  status notices: {notified - 2 * MESSAGES:,} of {notices:,} sent in {sending_seconds:.1f} s,"
        f" {notices / sending_seconds:,.0f} messages/s (the changes committed by another process)"
    )
    for label, result in (
        ("status lookups alone", alone),
        ("... while mail comes in over HTTP", during_http),
        ("... while mail comes in over IMAP", during_imap),
        ("... while notices are sent", during_sending),
    ):
        ratio = result.requests_per_second / alone.requests_per_second
        print(
            f"  {label:<36}{result.requests_per_second:>9,.0f} req/s ({ratio:.2f}),"
            f" p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, errors {result.errors}"
        )
    errors = alone.errors or during_http.errors or during_imap.errors or during_sending.errors
    if errors or created < MESSAGES or taken < MESSAGES or notified < 2 * MESSAGES + notices:
        sys.exit("some requests failed or some messages were not taken: the figures are void")


class StatusChanger:
    """Puts every ticket that came by mail to pending, a transaction each, on a connection of its own."""

    def __init__(self, path: Path) -> None:
        self.sessions = session_factory(build_engine(store_settings(path)))
        with unit_of_work(self.sessions, write=False) as db:
            admin = identity.user_by_username(db, tenant_id=1, username="bench")
            assert admin is not None
            self.principal = Principal(tenant_id=1, user_id=admin.id, role=Role.ADMIN)
            made = select(MailMessage.ticket_id).where(MailMessage.action == "created")
            self.ids = [ticket_id for ticket_id in db.scalars(made) if ticket_id is not None]

    def to_pending(self) -> int:
        for ticket_id in self.ids:
            with unit_of_work(self.sessions, write=True) as db:
                tickets.transition(db, self.principal, ticket_id, Status.PENDING)
                db.commit()
        return len(self.ids)


def _post(client: httpx2.Client, raw: bytes) -> str:
    answer = client.post("/mail/inbound", content=raw, headers={"Content-Type": "message/rfc822"})
    answer.raise_for_status()
    action: str = answer.json()["action"]
    return action


def _wait_until_followed(client: httpx2.Client, channel_id: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        imap = client.get(f"/channels/email/{channel_id}").json()["imap"]
        if imap and imap["checked_at"]:
            return
        time.sleep(0.2)
    raise SystemExit("the server's worker never looked at the mailbox")


def _wait_for_imap(client: httpx2.Client, channel_id: int, count: int) -> int:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        imap = client.get(f"/channels/email/{channel_id}").json()["imap"]
        if imap and imap["last_uid"] >= count:
            return int(imap["last_uid"])
        time.sleep(0.2)
    return int(client.get(f"/channels/email/{channel_id}").json()["imap"]["last_uid"])


def _wait_for_sent(client: httpx2.Client, count: int) -> int:
    deadline = time.monotonic() + 300
    sent = 0
    while time.monotonic() < deadline:
        sent, before = 0, None
        while True:
            params = {"limit": 200, **({"before": before} if before else {})}
            page = client.get("/mail/messages", params=params).json()
            if not page:
                break
            sent += sum(1 for item in page if item["direction"] == "out" and item["status"] == "sent")
            before = page[-1]["id"]
        if sent >= count:
            return sent
        time.sleep(1)
    return sent


if __name__ == "__main__":
    main()
