"""The console over plain HTTP: sign-in and sessions (cookie flags, sign-out, a disabled user, a
changed password, throttled failures), CSRF and cross-site refusals, security headers, the queue's
filters and counts, a ticket's page and its actions, the customers' portal seeing only what it may,
escaping, and the admins' pages (users, keys, limits, operations, webhooks, the status page)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.console.console_client import csrf_of, sign_in
from tests.faces.native.test_attachments_api import png
from ticketd.core import attachments, tickets
from ticketd.core.lifecycle import Status
from ticketd.store.engine import unit_of_work

sqlite_only = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


def _ticket(sessions: sessionmaker[Session], world: World, subject: str, **values: object) -> int:
    with unit_of_work(sessions, write=True) as db:
        # Made by the agent for the customer, so that staff-only fields may be set.
        changes = tickets.Changes(values={"subject": subject, **values}, requester_id=world.customer.user_id)
        ticket = tickets.create_ticket(db, world.agent.principal, changes)
        db.commit()
        return ticket.id


def test_pages_need_a_session_and_carry_security_headers(client: TestClient, world: World) -> None:
    for path in ("/console/", "/console/queue", "/console/tickets/1", "/console/admin/users"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/sign-in")
    page = client.get("/console/sign-in")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "<script" not in page.text.replace('<script src="/console/static/console.js" defer></script>', "")


def test_sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session(client: TestClient, world: World) -> None:
    answer = client.post(
        "/console/sign-in",
        data={"tenant": "acme", "username": "agent", "password": world.agent.password},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/queue"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain http here; behind https the cookie is Secure
    token = client.cookies["ticketd_console"]
    csrf = csrf_of(client.get("/console/queue").text)
    assert client.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    # The old cookie, presented again, signs in no one.
    client.cookies.set("ticketd_console", token, path="/console")
    assert client.get("/console/queue", follow_redirects=False).status_code == 303


@sqlite_only
def test_wrong_passwords_are_refused_then_throttled(client: TestClient, world: World) -> None:
    wrong = {"tenant": "acme", "username": "agent", "password": "nope"}
    first = client.post("/console/sign-in", data=wrong)
    assert first.status_code == 401 and "Wrong organisation" in first.text
    assert "ticketd_console" not in first.headers.get("set-cookie", "")
    statuses = [client.post("/console/sign-in", data=wrong).status_code for _ in range(12)]
    assert statuses[-1] == 429 and "retry-after" in client.post("/console/sign-in", data=wrong).headers
    # Blocked for this account from this address, even with the right password, as API logins are.
    right = {**wrong, "password": world.agent.password}
    assert client.post("/console/sign-in", data=right).status_code == 429


@sqlite_only
def test_a_disabled_user_or_a_changed_password_ends_sessions(client: TestClient, world: World) -> None:
    sign_in(client, world.agent)
    admin = TestClient(client.app)
    admin_csrf = sign_in(admin, world.admin)
    reset = admin.post(
        f"/console/admin/users/{world.agent.user_id}/password",
        data={"csrf": admin_csrf, "password": "a-new-password-1"},
        follow_redirects=False,
    )
    assert reset.status_code == 303
    assert client.get("/console/queue", follow_redirects=False).status_code == 303
    world.agent.password = "a-new-password-1"
    sign_in(client, world.agent)
    assert client.get("/console/queue").status_code == 200
    disable = admin.post(
        f"/console/admin/users/{world.agent.user_id}/disable",
        data={"csrf": admin_csrf},
        follow_redirects=False,
    )
    assert disable.status_code == 303
    assert client.get("/console/queue", follow_redirects=False).status_code == 303
    refused = client.post(
        "/console/sign-in", data={"tenant": "acme", "username": "agent", "password": "a-new-password-1"}
    )
    assert refused.status_code == 401


@sqlite_only
def test_state_changes_need_the_csrf_token_and_our_origin(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    ticket_id = _ticket(sessions, world, "Printer on fire")
    csrf = sign_in(client, world.agent)
    path = f"/console/tickets/{ticket_id}/reply"
    body = {"body": "forged", "status": "solved"}
    assert client.post(path, data=body).status_code == 403
    assert client.post(path, data={**body, "csrf": "0" * 64}).status_code == 403
    forged = client.post(path, data={**body, "csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "another site" in forged.text
    cross = client.post(path, data={**body, "csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    login_csrf = client.post(
        "/console/sign-in",
        data={"tenant": "acme", "username": "agent", "password": world.agent.password},
        headers={"Origin": "https://evil.example"},
    )
    assert login_csrf.status_code == 403
    with unit_of_work(sessions, write=False) as db:
        ticket = tickets.get_ticket(db, world.agent.principal, ticket_id)
        assert ticket.status == Status.NEW.value
        assert tickets.list_comments(db, world.agent.principal, ticket_id) == []


def test_the_queue_filters_counts_and_pages(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    for n in range(30):
        _ticket(sessions, world, f"Queue ticket {n}", priority="high" if n % 3 == 0 else "normal")
    _ticket(sessions, world, "VPN is down for everyone")
    sign_in(client, world.agent)
    page = client.get("/console/queue")
    assert page.status_code == 200
    assert re.search(r"new <span class=\"count\">31</span>", page.text)
    assert page.text.count('href="/console/tickets/') == 25
    assert 'rel="next"' in page.text
    following = re.search(r'rel="next" href="([^"]+)"', page.text)
    assert following is not None
    rest = client.get(following.group(1).replace("&amp;", "&"))
    assert rest.text.count('href="/console/tickets/') == 6
    found = client.get("/console/queue", params={"q": "vpn"})
    assert "VPN is down for everyone" in found.text and "Queue ticket" not in found.text
    assert (
        client.get("/console/queue", params={"status": "solved"}).text.count('href="/console/tickets/') == 0
    )
    assert client.get("/console/queue", params={"status": "nonsense"}).status_code == 422
    assert (
        client.get("/console/queue", params={"requester": "customer"}).text.count("/console/tickets/") == 25
    )
    assert client.get("/console/queue", params={"requester": "nobody"}).text.count("/console/tickets/") == 0


def test_an_agent_solves_and_the_customer_sees_only_public_comments(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    ticket_id = _ticket(sessions, world, "Cannot log in", content="Since this morning.")
    csrf = sign_in(client, world.agent)
    page = client.get(f"/console/tickets/{ticket_id}")
    assert page.status_code == 200
    # Only the transitions the lifecycle allows from `new`.
    options = set(re.findall(r'<option value="(\w+)">\1</option>', page.text))
    assert options == {"open", "pending", "solved", "closed", "canceled", "invalid"}
    note = client.post(
        f"/console/tickets/{ticket_id}/reply",
        data={"csrf": csrf, "body": "Internal: reset their MFA", "visibility": "internal"},
        follow_redirects=False,
    )
    assert note.status_code == 303
    solved = client.post(
        f"/console/tickets/{ticket_id}/reply",
        data={"csrf": csrf, "body": "Fixed: please try again", "visibility": "public", "status": "solved"},
    )
    assert solved.status_code == 200 and 'id="ticket-status">solved<' in solved.text
    assert "Response" not in solved.text or "First response" in solved.text
    fields = client.post(
        f"/console/tickets/{ticket_id}/fields",
        data={"csrf": csrf, "priority": "urgent", "assignee": str(world.agent.user_id), "tags": "vpn, login"},
    )
    assert (
        fields.status_code == 200 and "priority urgent" in fields.text and 'class="tag">vpn<' in fields.text
    )
    assert "changed priority: normal → urgent" in fields.text

    customer = TestClient(client.app)
    customer_csrf = sign_in(customer, world.customer)
    portal = customer.get("/console/portal")
    assert "Cannot log in" in portal.text
    theirs = customer.get(f"/console/tickets/{ticket_id}")
    assert 'id="ticket-status">solved<' in theirs.text and "Fixed: please try again" in theirs.text
    assert "Internal: reset their MFA" not in theirs.text and "internal note" not in theirs.text
    assert "SLA" not in theirs.text
    live = customer.get(f"/console/tickets/{ticket_id}/live")
    assert "Fixed: please try again" in live.text and "reset their MFA" not in live.text
    # A customer's own actions: a public reply; no internal notes, no field changes, no queue.
    customer.post(
        f"/console/tickets/{ticket_id}/reply",
        data={"csrf": customer_csrf, "body": "Works now, thanks", "visibility": "internal"},
    )
    with unit_of_work(sessions, write=False) as db:
        comments = tickets.list_comments(db, world.agent.principal, ticket_id)
        assert [(c.body, c.public) for c in comments][-1] == ("Works now, thanks", True)
    assert (
        customer.post(f"/console/tickets/{ticket_id}/fields", data={"csrf": customer_csrf}).status_code == 403
    )
    assert customer.get("/console/queue").status_code == 403
    assert customer.get("/console/admin/keys").status_code == 403


@sqlite_only
def test_customers_see_their_own_tickets_only(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    mine = _ticket(sessions, world, "Mine")
    with unit_of_work(sessions, write=True) as db:
        theirs = tickets.create_ticket(
            db, world.customer2.principal, tickets.Changes(values={"subject": "Someone else's"})
        ).id
        db.commit()
    csrf = sign_in(client, world.customer)
    portal = client.get("/console/portal").text
    assert "Mine" in portal and "Someone else" not in portal
    assert client.get(f"/console/tickets/{theirs}").status_code == 404
    assert client.get(f"/console/tickets/{theirs}/live").status_code == 404
    assert (
        client.post(f"/console/tickets/{theirs}/reply", data={"csrf": csrf, "body": "hi"}).status_code == 404
    )
    created = client.post(
        "/console/portal/new", data={"csrf": csrf, "subject": "Broken chair", "content": "Leg."}
    )
    assert created.status_code == 200 and "Broken chair" in created.text
    assert client.get(f"/console/tickets/{mine}").status_code == 200
    empty = client.post("/console/portal/new", data={"csrf": csrf, "subject": " "})
    assert empty.status_code == 422 and "subject" in empty.text


@sqlite_only
def test_a_hostile_subject_renders_as_text(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    ticket_id = _ticket(sessions, world, "<img src=x onerror=alert(1)>", content="<script>alert(2)</script>")
    sign_in(client, world.agent)
    for path in ("/console/queue", f"/console/tickets/{ticket_id}"):
        page = client.get(path).text
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "<script>alert(2)" not in page


@sqlite_only
def test_an_admin_creates_a_key_whose_secret_works_once_shown(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.admin)
    made = client.post(
        "/console/admin/keys",
        data={"csrf": csrf, "name": "integration", "user": str(world.agent.user_id), "scope": "tickets:read"},
    )
    assert made.status_code == 200
    key_id = re.search(r'id="new-key-id">([^<]+)<', made.text)
    secret = re.search(r'id="new-key-secret">([^<]+)<', made.text)
    assert key_id and secret
    assert client.get("/api/v1/tickets", auth=(key_id.group(1), secret.group(1))).status_code == 200
    listed = client.get("/console/admin/keys").text
    assert secret.group(1) not in listed and key_id.group(1) in listed
    revoked = client.post(f"/console/admin/keys/{key_id.group(1)}/revoke", data={"csrf": csrf})
    assert revoked.status_code == 200
    assert client.get("/api/v1/tickets", auth=(key_id.group(1), secret.group(1))).status_code == 401
    pair = client.post("/console/admin/access-keys", data={"csrf": csrf, "user": str(world.agent.user_id)})
    assert re.search(r'id="new-sk">[^<]{20,}<', pair.text)
    # Another tenant's user or key is not found from here.
    other = client.post(
        "/console/admin/keys", data={"csrf": csrf, "name": "x", "user": str(world.outsider.user_id)}
    )
    assert other.status_code == 404
    foreign = client.post(f"/console/admin/keys/{world.outsider.key_id}/revoke", data={"csrf": csrf})
    assert foreign.status_code == 404


@sqlite_only
def test_admins_manage_users_and_limits(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.admin)
    made = client.post(
        "/console/admin/users",
        data={"csrf": csrf, "username": "newbie", "role": "agent", "password": "long-enough-1"},
    )
    assert made.status_code == 200 and "newbie" in made.text
    newbie = TestClient(client.app)
    answer = newbie.post(
        "/console/sign-in", data={"tenant": "acme", "username": "newbie", "password": "long-enough-1"}
    )
    assert answer.status_code == 200 and "Queue" in answer.text
    short = client.post(
        "/console/admin/users", data={"csrf": csrf, "username": "x", "role": "agent", "password": "1"}
    )
    assert short.status_code == 422
    limits = client.post(
        "/console/admin/limits",
        data={"csrf": csrf, "face": "onecloud", "credential": "50/minute", "service_hours": "08:00-17:00"},
    )
    assert limits.status_code == 200 and "50/minute" in limits.text and "08:00-17:00" in limits.text
    bad = client.post("/console/admin/limits", data={"csrf": csrf, "face": "onecloud", "credential": "lots"})
    assert bad.status_code == 422
    assert client.post("/console/admin/limits", data={"csrf": csrf, "face": "nope"}).status_code == 422
    agent = TestClient(client.app)
    sign_in(agent, world.agent)
    assert agent.get("/console/admin/users").status_code == 403


@sqlite_only
def test_an_admin_imports_and_exports(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.admin)
    upload = b"subject,priority\nImported one,high\nImported two,low\n"
    refused = client.post("/console/admin/imports", content=upload, headers={"Content-Type": "text/csv"})
    assert refused.status_code == 403
    answer = client.post(
        "/console/admin/imports",
        content=upload,
        headers={"Content-Type": "text/csv", "X-CSRF-Token": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 201, answer.text
    page = client.get(answer.headers["location"])
    assert page.status_code == 200 and "import" in page.text
    assert (
        client.post(
            "/console/admin/imports",
            content=b"\x00\x01",
            headers={"Content-Type": "text/csv", "X-CSRF-Token": csrf},
        ).status_code
        == 422
    )
    wrong_type = client.post(
        "/console/admin/imports", content=b"{}", headers={"Content-Type": "image/png", "X-CSRF-Token": csrf}
    )
    assert wrong_type.status_code == 415
    export = client.post(
        "/console/admin/exports", data={"csrf": csrf, "format": "csv"}, follow_redirects=False
    )
    assert export.status_code == 303
    assert client.get(export.headers["location"]).status_code == 200
    assert client.post("/console/admin/exports", data={"csrf": csrf, "format": "exe"}).status_code == 422


@sqlite_only
def test_an_admin_manages_webhooks_and_the_status_page(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.admin)
    made = client.post(
        "/console/admin/webhooks",
        data={"csrf": csrf, "url": "https://93.184.216.34/ticketd", "event": "ticket.created"},
    )
    assert made.status_code == 200 and re.search(r'id="new-webhook-secret">whsec_[A-Za-z0-9+/=]+<', made.text)
    private = client.post("/console/admin/webhooks", data={"csrf": csrf, "url": "http://127.0.0.1/x"})
    assert private.status_code == 422 and "url" in private.text
    endpoint_id = re.search(r'href="/console/admin/webhooks/([^"]+)"', made.text)
    assert endpoint_id
    log = client.get(f"/console/admin/webhooks/{endpoint_id.group(1)}")
    assert log.status_code == 200 and "Nothing delivered yet" in log.text

    assert client.post(
        "/console/admin/status-page/page", data={"csrf": csrf, "name": "Acme", "published": "yes"}
    )
    client.post("/console/admin/status-page/component", data={"csrf": csrf, "name": "Email"})
    component = client.get("/status/acme/api/v2/components.json").json()["components"][-1]
    posted = client.post(
        "/console/admin/status-page/incident",
        data={
            "csrf": csrf,
            "name": "Mail delayed",
            "body": "Investigating slow mail.",
            "impact": "minor",
            f"component:{component['id']}": "degraded_performance",
        },
    )
    assert posted.status_code == 200 and "Mail delayed" in posted.text
    summary = client.get("/status/acme/api/v2/summary.json").json()
    assert [incident["name"] for incident in summary["incidents"]] == ["Mail delayed"]
    assert summary["components"][-1]["status"] == "degraded_performance"


@sqlite_only
def test_bad_requests_get_html_errors_and_change_nothing(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.agent)
    assert client.get("/console/tickets/abc").status_code == 422
    assert client.get("/console/tickets/99999").status_code == 404
    assert client.get("/console/nowhere").status_code == 404
    wrong_method = client.delete("/console/queue")
    assert wrong_method.status_code == 405 and wrong_method.headers["content-type"].startswith("text/html")
    big = client.post("/console/portal/new", data={"csrf": csrf, "subject": "x" * 100_000})
    assert big.status_code == 413 and big.headers["content-type"].startswith("text/html")
    as_json = client.post("/console/portal/new", json={"subject": "x"})
    assert as_json.status_code == 415
    garbage = client.post(
        "/console/portal/new",
        content=b"%%%\xff\xfe=&&==",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code == 403  # no token in it: refused before anything is read further
    stranger = TestClient(client.app)
    for cookie in ("a" * 40, "a" * 5000, "%00%ff"):
        stranger.cookies.set("ticketd_console", cookie, path="/console")
        assert stranger.get("/console/queue", follow_redirects=False).status_code == 303
    for answer in (wrong_method, big, as_json, garbage):
        assert "Traceback" not in answer.text


@sqlite_only
def test_another_tenants_admin_finds_nothing_of_ours(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    ticket_id = _ticket(sessions, world, "Acme only")
    csrf = sign_in(client, world.outsider, tenant="other")
    assert "Acme only" not in client.get("/console/queue").text
    assert client.get(f"/console/tickets/{ticket_id}").status_code == 404
    assert client.get(f"/console/tickets/{ticket_id}/live").status_code == 404
    for path, body in (
        (f"/console/tickets/{ticket_id}/reply", {"body": "x", "status": "solved"}),
        (f"/console/tickets/{ticket_id}/fields", {"priority": "low"}),
        (f"/console/admin/users/{world.agent.user_id}/disable", {}),
        (f"/console/admin/users/{world.agent.user_id}/password", {"password": "long-enough-2"}),
        (f"/console/admin/keys/{world.agent.key_id}/revoke", {}),
    ):
        assert client.post(path, data={"csrf": csrf, **body}).status_code == 404, path
    users = client.get("/console/admin/users").text
    assert "<td>agent</td>" not in users and "<td>outsider</td>" in users
    # Signing in to the wrong organisation with a right password is refused.
    wrong = TestClient(client.app).post(
        "/console/sign-in", data={"tenant": "other", "username": "agent", "password": world.agent.password}
    )
    assert wrong.status_code == 401
    with unit_of_work(sessions, write=False) as db:
        assert tickets.get_ticket(db, world.agent.principal, ticket_id).status == Status.NEW.value


def test_replies_and_requests_carry_files_and_internal_notes_keep_theirs(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    customer = TestClient(client.app)
    customer_csrf = sign_in(customer, world.customer)
    created = customer.post(
        "/console/portal/new",
        data={"csrf": customer_csrf, "subject": "Printer jams", "content": "photo attached"},
        files=[("files", ("jam.png", png(), "image/png")), ("files", ("notes.txt", b"tray 2", "text/plain"))],
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    ticket_page = customer.get(created.headers["location"])
    assert "jam.png" in ticket_page.text and "notes.txt" in ticket_page.text
    thumbnail = re.search(r'<img src="(/console/files/\d+)" alt="jam.png"', ticket_page.text)
    assert thumbnail is not None
    picture = customer.get(thumbnail.group(1))
    assert picture.status_code == 200 and picture.content == png()
    assert picture.headers["content-disposition"].startswith("inline;")
    ticket_id = int(created.headers["location"].rsplit("/", 1)[1])

    csrf = sign_in(client, world.agent)
    note = client.post(
        f"/console/tickets/{ticket_id}/reply",
        data={"csrf": csrf, "body": "Internal: vendor log", "visibility": "internal"},
        files=[("files", ("vendor.log", b"E42 fuser", "text/plain"))],
        follow_redirects=False,
    )
    assert note.status_code == 303, note.text
    empty_input = client.post(  # a browser sends an empty part when no file is chosen
        f"/console/tickets/{ticket_id}/reply",
        data={"csrf": csrf, "body": "We are on it", "visibility": "public"},
        files=[("files", ("", b"", "application/octet-stream"))],
        follow_redirects=False,
    )
    assert empty_input.status_code == 303, empty_input.text
    staff_view = client.get(f"/console/tickets/{ticket_id}").text
    assert "vendor.log" in staff_view and "attached vendor.log" in staff_view
    customer_view = customer.get(f"/console/tickets/{ticket_id}").text
    assert "vendor.log" not in customer_view and "We are on it" in customer_view
    with unit_of_work(sessions, write=False) as db:
        (hidden,) = [f for f in attachments.of_ticket(db, ticket_id) if f.filename == "vendor.log"]
    assert customer.get(f"/console/files/{hidden.id}").status_code == 404
    assert client.get(f"/console/files/{hidden.id}").content == b"E42 fuser"
    bare = client.post(
        f"/console/tickets/{ticket_id}/reply",
        data={"csrf": csrf, "body": "", "visibility": "public"},
        files=[("files", ("more.txt", b"x", "text/plain"))],
    )
    assert bare.status_code == 422 and "a few words" in bare.text
    forged = client.post(  # files do not get past the CSRF check either
        f"/console/tickets/{ticket_id}/reply",
        data={"csrf": "0" * 64, "body": "x"},
        files=[("files", ("forged.txt", b"x", "text/plain"))],
    )
    assert forged.status_code == 403
    with unit_of_work(sessions, write=False) as db:
        assert len(attachments.of_ticket(db, ticket_id)) == 3

    admin = TestClient(client.app)
    sign_in(admin, world.admin)
    limits = admin.get("/console/admin/limits").text
    assert "Storage for files" in limits and re.search(r"\d+ bytes of [\d.]+ GB used", limits)


def test_admins_manage_mail_channels_and_wording(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.admin)
    added = client.post(
        "/console/admin/mail/channels",
        data={
            "csrf": csrf,
            "address": "help@acme.example",
            "unknown_senders": "refuse",
            "on_closed": "new",
            "announce": "solved",
            "imap_host": "imap.acme.example",
            "imap_user": "help",
            "imap_password": "mailbox-secret",
        },
    )
    assert added.status_code == 200, added.text
    assert (
        "help@acme.example" in added.text and "Fetched from help at imap.acme.example:993 (tls)" in added.text
    )
    assert "mailbox-secret" not in added.text
    saved = client.post(
        "/console/admin/mail/templates/reply",
        data={
            "csrf": csrf,
            "subject": "Re: {{ subject }}",
            "text": "{{ body }}",
            "html": "<p>{{ body }}</p>",
        },
    )
    assert saved.status_code == 200 and "Reply (your wording)" in saved.text
    broken = client.post(
        "/console/admin/mail/templates/reply",
        data={"csrf": csrf, "subject": "x", "text": "{{ 1 / 0 }}", "html": "x"},
    )
    assert broken.status_code == 422 and "does not render" in broken.text
    agent = TestClient(client.app)
    sign_in(agent, world.agent)
    assert agent.get("/console/admin/mail").status_code == 403
