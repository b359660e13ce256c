"""Mail in through the native API, on both stores: channels (admins only), and raw messages posted
as a mail server posts them, becoming tickets and comments, threaded, deduplicated, and refused or
ignored with a recorded reason."""

from __future__ import annotations

from collections.abc import Generator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World, count_rows, scoped_key
from ticketd.assembly.app import create_app
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import MailMessage, User

API = "/api/v1"
CORPUS = Path(__file__).resolve().parents[2] / "core" / "mail" / "corpus"


@pytest.fixture
def mta(sessions: sessionmaker[Session], world: World) -> tuple[str, str]:
    """A mail server's key: the scope to post mail, nothing else."""
    return scoped_key(sessions, world.admin, "mta", {"mail:inbound"})


@pytest.fixture
def channel(client: TestClient, world: World) -> dict[str, Any]:
    made = client.post(
        f"{API}/channels/email", json={"address": "Support@Acme.example"}, auth=world.admin.basic
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def message(
    sender: str = "ann@customer.example",
    subject: str = "VPN drops",
    body: str = "It drops every ten minutes.",
    to: str = "support@acme.example",
    **headers: str,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Ann Example <{sender}>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = headers.pop("message_id", make_msgid(domain="customer.example"))
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


def deliver(client: TestClient, key: tuple[str, str], raw: bytes) -> dict[str, Any]:
    response = client.post(
        f"{API}/mail/inbound", content=raw, headers={"Content-Type": "message/rfc822"}, auth=key
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_admins_manage_channels_and_an_address_is_one_tenants(
    client: TestClient, world: World, channel: dict[str, Any]
) -> None:
    assert channel["address"] == "support@acme.example"
    assert (channel["unknown_senders"], channel["acknowledge"], channel["on_closed"]) == (
        "create",
        True,
        "reopen",
    )
    listed = client.get(f"{API}/channels/email", auth=world.admin.basic).json()
    assert [item["id"] for item in listed] == [channel["id"]]
    changed = client.patch(
        f"{API}/channels/email/{channel['id']}", json={"on_closed": "new"}, auth=world.admin.basic
    )
    assert changed.status_code == 200 and changed.json()["on_closed"] == "new"
    taken = client.post(
        f"{API}/channels/email", json={"address": "support@acme.example"}, auth=world.outsider.basic
    )
    assert taken.status_code == 409
    bad = client.post(f"{API}/channels/email", json={"address": "not an address"}, auth=world.admin.basic)
    assert bad.status_code == 422
    assert client.get(f"{API}/channels/email", auth=world.agent.basic).status_code == 403
    assert client.get(f"{API}/channels/email/{channel['id']}", auth=world.outsider.basic).status_code == 404
    assert client.delete(f"{API}/channels/email/{channel['id']}", auth=world.admin.basic).status_code == 204
    assert client.get(f"{API}/channels/email", auth=world.admin.basic).json() == []


def test_a_message_becomes_a_ticket_and_its_reply_a_comment(
    client: TestClient, world: World, channel: dict[str, Any], mta: tuple[str, str], engine: Engine
) -> None:
    raw = (CORPUS / "apple_mail_inline_image.eml").read_bytes()
    created = deliver(client, mta, raw)
    assert created["action"] == "created" and created["message_id"] == "<A1B2C3D4-0001@customer.example>"
    ticket_id = created["ticket_id"]
    ticket = client.get(f"{API}/tickets/{ticket_id}", auth=world.agent.basic).json()
    assert ticket["subject"] == "Screen shows stripes" and ticket["channel"] == "email"
    assert ticket["content"] == "The screen shows stripes, see the photo."
    files = client.get(f"{API}/tickets/{ticket_id}/attachments", auth=world.agent.basic).json()
    assert [(f["filename"], f["content_type"]) for f in files] == [
        ("stripes.png", "image/png"),
        ("message.eml", "message/rfc822"),
    ]
    eml = client.get(f"{API}/attachments/{files[1]['id']}/content", auth=world.agent.basic)
    assert eml.content == raw  # nothing of the message is lost
    requester = client.get(f"{API}/tickets/{ticket_id}", auth=world.admin.basic).json()["requester_id"]

    again = deliver(client, mta, raw)
    assert (again["action"], again["ticket_id"], again["reason"]) == ("ignored", ticket_id, "already taken")

    reply = message(
        sender="carla@customer.example",
        subject="Re: Screen shows stripes",
        body="It got worse.\n\nOn Monday, Acme Support wrote:\n> Which model is it?\n",
        In_Reply_To="<A1B2C3D4-0001@customer.example>",
    )
    commented = deliver(client, mta, reply)
    assert (commented["action"], commented["ticket_id"]) == ("commented", ticket_id)
    comments = client.get(f"{API}/tickets/{ticket_id}/comments", auth=world.agent.basic).json()
    assert comments[-1]["body"] == "It got worse." and comments[-1]["author_id"] == requester
    assert [f["filename"] for f in comments[-1]["attachments"]] == ["message.eml"]

    tagged = message(
        sender="carla@customer.example", subject=f"Printer too [acme #{ticket_id}]", body="Also this."
    )
    assert deliver(client, mta, tagged)["action"] == "commented"
    stranger = message(sender="eve@elsewhere.example", subject=f"Re: [acme #{ticket_id}]", body="Let me in.")
    strangers = deliver(client, mta, stranger)
    assert strangers["action"] == "created" and strangers["ticket_id"] != ticket_id
    assert count_rows(engine, "mail_messages") == 4


def test_closed_tickets_reopen_or_give_way_to_new_ones(
    client: TestClient, world: World, channel: dict[str, Any], mta: tuple[str, str]
) -> None:
    first = deliver(client, mta, message(message_id="<first@customer.example>"))
    ticket_id = first["ticket_id"]
    for target in ("open", "solved", "closed"):
        client.post(f"{API}/tickets/{ticket_id}/transitions", json={"to": target}, auth=world.agent.basic)
    reopened = deliver(client, mta, message(subject="Re: VPN drops", In_Reply_To="<first@customer.example>"))
    assert (reopened["action"], reopened["ticket_id"]) == ("commented", ticket_id)
    assert client.get(f"{API}/tickets/{ticket_id}", auth=world.agent.basic).json()["status"] == "open"
    for target in ("solved", "closed"):
        client.post(f"{API}/tickets/{ticket_id}/transitions", json={"to": target}, auth=world.agent.basic)
    client.patch(f"{API}/channels/email/{channel['id']}", json={"on_closed": "new"}, auth=world.admin.basic)
    fresh = deliver(client, mta, message(subject="Re: VPN drops", In_Reply_To="<first@customer.example>"))
    assert fresh["action"] == "created" and fresh["ticket_id"] != ticket_id


def test_bounces_machines_strangers_and_floods_make_no_tickets(
    settings: Settings, world: World, sessions: sessionmaker[Session], engine: Engine
) -> None:
    tight = settings.model_copy(update={"mail_new_tickets_per_sender_hour": 2, "max_mail_bytes": 20_000})
    with TestClient(create_app(tight), raise_server_exceptions=False) as client:
        key = scoped_key(sessions, world.admin, "mta", {"mail:inbound"})
        made = client.post(
            f"{API}/channels/email",
            json={"address": "support@acme.example", "unknown_senders": "refuse"},
            auth=world.admin.basic,
        )
        assert made.status_code == 201
        unknown = deliver(client, key, message())
        assert (unknown["action"], unknown["reason"]) == ("refused", "the sender is not known here")
        client.patch(
            f"{API}/channels/email/{made.json()['id']}",
            json={"unknown_senders": "create"},
            auth=world.admin.basic,
        )
        original = deliver(client, key, message(message_id="<ticketd.42.1@acme.example>"))
        bounce = deliver(client, key, (CORPUS / "dsn_bounce.eml").read_bytes())
        assert (bounce["action"], bounce["ticket_id"]) == ("bounce", original["ticket_id"])
        assert deliver(client, key, message(subject="second"))["action"] == "created"
        flood = deliver(client, key, message(subject="third"))
        assert flood["action"] == "ignored" and "more than 2 new tickets an hour" in flood["reason"]
        elsewhere = deliver(client, key, message(to="sales@acme.example"))
        assert elsewhere["action"] == "ignored" and "no mail channel" in elsewhere["reason"]
        tickets_before = count_rows(engine, "tickets")
        huge = deliver(client, key, message(subject="huge", body="x" * 30_000))
        assert huge["action"] == "refused" and "at most 20000" in huge["reason"]
        assert count_rows(engine, "tickets") == tickets_before
        with unit_of_work(sessions, write=False) as db:
            actions = [row.action for row in db.scalars(select(MailMessage).order_by(MailMessage.id))]
            customer = db.scalar(select(User).where(User.email == "ann@customer.example"))
        assert actions == ["refused", "created", "bounce", "created", "ignored", "ignored", "refused"]
        assert customer is not None and customer.role == "customer" and customer.display_name == "Ann Example"


def test_only_a_mail_servers_key_posts_mail_and_garbage_changes_nothing(
    client: TestClient,
    world: World,
    channel: dict[str, Any],
    mta: tuple[str, str],
    engine: Engine,
    sessions: sessionmaker[Session],
) -> None:
    tickets_only = scoped_key(sessions, world.admin, "tickets", {"tickets:read", "tickets:write", "admin"})
    token = client.post(
        f"{API}/auth/token", json={"tenant": "acme", "username": "admin", "password": world.admin.password}
    ).json()["access_token"]
    for auth in (httpx.BasicAuth(*tickets_only), BearerAuth(token)):
        refused = client.post(
            f"{API}/mail/inbound", content=message(), headers={"Content-Type": "message/rfc822"}, auth=auth
        )
        # A person's token, or a key not given the scope, never writes as a mail server.
        assert refused.status_code == 403, refused.text
    wrong_type = client.post(
        f"{API}/mail/inbound", content=b"{}", headers={"Content-Type": "application/json"}, auth=mta
    )
    assert wrong_type.status_code == 415
    for garbage in (b"", b"\x00\xff garbage", b"From: <>\r\n\r\n"):
        outcome = deliver(client, mta, garbage)
        assert outcome["action"] in ("ignored", "refused")
    assert count_rows(engine, "tickets") == 0


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def test_a_channels_mailbox_is_set_shown_without_its_password_and_removed(
    client: TestClient, world: World, channel: dict[str, Any], engine: Engine
) -> None:
    url = f"{API}/channels/email/{channel['id']}"
    imap = {"host": "imap.acme.example", "user": "support", "password": "s3cret-mailbox", "after": "move"}
    refused = client.patch(url, json={"imap": imap}, auth=world.admin.basic)
    assert refused.status_code == 422  # moved where?
    plain = client.patch(
        url, json={"imap": {**imap, "after": "seen", "security": "plain"}}, auth=world.admin.basic
    )
    assert plain.status_code == 422  # no plain text to another host
    made = client.patch(url, json={"imap": {**imap, "move_to": "Taken"}}, auth=world.admin.basic)
    assert made.status_code == 200, made.text
    shown = made.json()["imap"]
    assert (shown["host"], shown["port"], shown["security"], shown["move_to"]) == (
        "imap.acme.example",
        993,
        "tls",
        "Taken",
    )
    assert "password" not in shown and "s3cret-mailbox" not in made.text
    with engine.connect() as connection:
        sealed = connection.exec_driver_sql("SELECT imap_password_sealed FROM mail_channels").scalar_one()
    assert b"s3cret-mailbox" not in bytes(sealed)
    unchanged = client.patch(url, json={"on_closed": "new"}, auth=world.admin.basic)
    assert unchanged.json()["imap"]["host"] == "imap.acme.example"
    removed = client.patch(url, json={"imap": None}, auth=world.admin.basic)
    assert removed.json()["imap"] is None


def test_admins_read_the_mails_record(
    client: TestClient, world: World, channel: dict[str, Any], mta: tuple[str, str]
) -> None:
    for number in range(3):
        deliver(client, mta, message(subject=f"Request {number}"))
    page = client.get(f"{API}/mail/messages", params={"limit": 2}, auth=world.admin.basic).json()
    assert [(item["direction"], item["subject"], item["action"]) for item in page] == [
        ("in", "Request 2", "created"),
        ("in", "Request 1", "created"),
    ]
    older = client.get(
        f"{API}/mail/messages", params={"before": page[-1]["id"]}, auth=world.admin.basic
    ).json()
    assert [item["subject"] for item in older] == ["Request 0"]
    assert client.get(f"{API}/mail/messages", auth=world.agent.basic).status_code == 403
    assert client.get(f"{API}/mail/messages", auth=world.outsider.basic).json() == []


def test_admins_word_the_tenants_mail(client: TestClient, world: World, channel: dict[str, Any]) -> None:
    listed = client.get(f"{API}/mail/templates", auth=world.admin.basic).json()
    assert [item["kind"] for item in listed] == ["acknowledgement", "reply", "solved", "status"]
    assert not any(item["own"] for item in listed) and "ticket_id" in listed[0]["fields"]
    own = {
        "subject": "Got it: {{ subject }}",
        "text": "Number {{ ticket_id }}",
        "html": "<p>{{ ticket_id }}</p>",
    }
    put = client.put(f"{API}/mail/templates/acknowledgement", json=own, auth=world.admin.basic)
    assert put.status_code == 200 and put.json()["own"] is True
    broken = client.put(
        f"{API}/mail/templates/reply", json={**own, "text": "{{ 1 / 0 }}"}, auth=world.admin.basic
    )
    assert broken.status_code == 422
    assert client.put(f"{API}/mail/templates/fax", json=own, auth=world.admin.basic).status_code == 422
    assert client.put(f"{API}/mail/templates/reply", json=own, auth=world.agent.basic).status_code == 403
    assert client.delete(f"{API}/mail/templates/acknowledgement", auth=world.admin.basic).status_code == 204
    assert not client.get(f"{API}/mail/templates", auth=world.admin.basic).json()[0]["own"]
    announced = client.patch(
        f"{API}/channels/email/{channel['id']}",
        json={"announce": ["solved", "pending"]},
        auth=world.admin.basic,
    )
    assert announced.json()["announce"] == ["pending", "solved"]
