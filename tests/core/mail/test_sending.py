"""Mail out against a real SMTP server (aiosmtpd), on both stores: what is sent for a ticket that came
by mail (the acknowledgement, an agent's public reply with its files, the solved notice) and what
never is (internal notes, answers to machines); threading both ways; a 4xx tried again, a 5xx
given up; STARTTLS with the server's own authority."""

from __future__ import annotations

import io
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from tests.web.test_server import _free_port
from ticketd.core import attachments, tickets
from ticketd.core.errors import Forbidden, InvalidInput
from ticketd.core.lifecycle import Status
from ticketd.core.mail import channels, templates
from ticketd.core.mail.channels import ChannelSettings
from ticketd.core.mail.inbound import MailLimits, Outcome, take
from ticketd.core.mail.sending import MailOut, SmtpServer
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import MailOutbox, Tenant

LIMITS = MailLimits(1_000_000, 20, attachments.Limits(1_000_000, 100, 10_000_000))


@dataclass
class Inbox:
    """What the SMTP server was given; `refuse` answers the next attempts with these replies."""

    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def _mail_out(sessions: sessionmaker[Session], port: int, **server: Any) -> MailOut:
    smtp = SmtpServer("127.0.0.1", port, False, None, None, 10.0, None)
    return MailOut(sessions, replace(smtp, **server), (0, 60, 600))


def _take(sessions: sessionmaker[Session], raw: bytes) -> Outcome:
    with unit_of_work(sessions, write=True) as db:
        tenant = db.get(Tenant, 1)
        assert tenant is not None
        outcome = take(db, tenant, raw, LIMITS)
        db.commit()
    return outcome


def _message(sender: str, subject: str, body: str, message_id: str, **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@acme.example"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


@pytest.fixture
def channel(sessions: sessionmaker[Session], world: World) -> None:
    with unit_of_work(sessions, write=True) as db:
        channels.create(db, world.admin.principal, "support@acme.example", ChannelSettings())
        db.commit()


def test_a_ticket_by_mail_is_acknowledged_answered_and_solved_by_mail(
    sessions: sessionmaker[Session], world: World, channel: None, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    mail = _mail_out(sessions, port)
    mail.turn()  # the fan-out's cursor starts at the log's end: only news is sent
    opened = _take(
        sessions, _message("Ann <ann@customer.example>", "Printer jams", "Tray 2.", "<m1@customer.example>")
    )
    assert opened.action == "created" and opened.ticket_id is not None
    ticket_id = opened.ticket_id
    mail.turn()
    (ack,) = handler.received
    assert handler.envelopes == [["ann@customer.example"]]
    assert ack["Subject"] == f"Your request has been received: Printer jams [acme #{ticket_id}]"
    assert ack["In-Reply-To"] == "<m1@customer.example>" and ack["Auto-Submitted"] == "auto-replied"
    assert ack["From"] == "support@acme.example" and ack["Message-ID"].endswith("@acme.example>")
    assert ack.get_body(("plain",)) is not None and ack.get_body(("html",)) is not None

    with unit_of_work(sessions, write=True) as db:
        tickets.add_comment(
            db, world.agent.principal, ticket_id, body="Internal: order a roller", public=False
        )
        reply = tickets.add_comment(
            db, world.agent.principal, ticket_id, body="A new roller is on its way.", public=True
        )
        source = io.BytesIO(b"%PDF-1.4\n")
        file = attachments.IncomingFile(
            "delivery.pdf", "application/pdf", source, 9, attachments.sha256_of(b"%PDF-1.4\n")
        )
        held = attachments.add(db, world.agent.principal, file, LIMITS.files, ticket_id=None)
        ticket = tickets.get_ticket(db, world.agent.principal, ticket_id)
        attachments.claim(db, world.agent.principal, ticket, [held.id], LIMITS.files, comment=reply)
        db.commit()
    mail.turn()
    assert len(handler.received) == 2  # the internal note went nowhere
    answer = handler.received[1]
    assert answer["Subject"] == f"Re: Printer jams [acme #{ticket_id}]" and "Auto-Submitted" not in answer
    assert "A new roller is on its way." in answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert [part.get_filename() for part in answer.iter_attachments()] == ["delivery.pdf"]
    assert ack["Message-ID"] in answer["References"]

    # The customer answers the agent's mail: it threads by In-Reply-To to the ticket.
    thanks = _take(
        sessions,
        _message(
            "ann@customer.example",
            "Re: Printer jams",
            "Thanks!",
            "<m2@customer.example>",
            In_Reply_To=answer["Message-ID"],
        ),
    )
    assert (thanks.action, thanks.ticket_id) == ("commented", ticket_id)
    # A copy of ticketd's own message coming back is dropped.
    echo = _take(sessions, _message("support@acme.example", "x", "x", answer["Message-ID"]))
    assert (echo.action, echo.reason) == ("ignored", "one of ticketd's own messages")
    mail.turn()
    assert len(handler.received) == 2  # the customer's words go back to no one

    with unit_of_work(sessions, write=True) as db:
        tickets.transition(db, world.agent.principal, ticket_id, Status.SOLVED)
        db.commit()
    mail.turn()
    solved = handler.received[2]
    assert (
        solved["Subject"].startswith("Solved: Printer jams") and solved["Auto-Submitted"] == "auto-generated"
    )


def test_machines_get_no_acknowledgement(
    sessions: sessionmaker[Session], world: World, channel: None, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    mail = _mail_out(sessions, port)
    mail.turn()
    robot = _message(
        "robot@customer.example",
        "Out of office",
        "Away.",
        "<ooo@customer.example>",
        Auto_Submitted="auto-replied",
    )
    assert _take(sessions, robot).action == "created"
    mail.turn()
    assert handler.received == []


def test_a_4xx_is_tried_again_and_a_5xx_given_up(
    sessions: sessionmaker[Session], world: World, channel: None, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    mail = _mail_out(sessions, port)
    mail.turn()
    handler.refuse = ["451 4.3.0 try again later"]
    _take(sessions, _message("ann@customer.example", "One", "x", "<r1@customer.example>"))
    mail.turn()
    with unit_of_work(sessions, write=False) as db:
        (row,) = db.scalars(select(MailOutbox))
        assert (row.status, row.attempts) == ("pending", 1) and row.last_error is not None
        assert row.last_error.startswith("451")
        due = row.created_at + timedelta(seconds=60)
    assert mail.send_due(due - timedelta(seconds=1)) == 0
    assert mail.send_due(due) == 1
    assert len(handler.received) == 1
    handler.refuse = ["550 5.1.1 no such user"]
    _take(sessions, _message("gone@customer.example", "Two", "x", "<r2@customer.example>"))
    mail.turn()
    with unit_of_work(sessions, write=False) as db:
        statuses = [
            (row.status, row.attempts) for row in db.scalars(select(MailOutbox).order_by(MailOutbox.id))
        ]
    assert statuses == [("sent", 2), ("failed", 1)]


def test_starttls_with_the_servers_own_authority(
    sessions: sessionmaker[Session], world: World, channel: None, tmp_path: Path
) -> None:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    handler = Inbox()
    controller = Controller(
        handler, hostname="127.0.0.1", port=_free_port(), tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        mail = _mail_out(sessions, controller.port, ca_file=ca_file)
        mail.turn()
        _take(sessions, _message("ann@customer.example", "Secure", "x", "<tls@customer.example>"))
        mail.turn()
        assert len(handler.received) == 1
        untrusting = _mail_out(sessions, controller.port)  # the system's authorities only: refused
        _take(sessions, _message("ann@customer.example", "Again", "x", "<tls2@customer.example>"))
        untrusting.turn()
        with unit_of_work(sessions, write=False) as db:
            rows = list(db.scalars(select(MailOutbox).order_by(MailOutbox.id)))
        assert rows[-1].status == "pending" and rows[-1].last_error is not None
    finally:
        controller.stop()


def test_a_tenants_own_wording_and_the_statuses_it_announces(
    sessions: sessionmaker[Session], world: World, channel: None, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    mail = _mail_out(sessions, port)
    mail.turn()
    with unit_of_work(sessions, write=True) as db:
        templates.save(
            db,
            world.admin.principal,
            "acknowledgement",
            "We have it: {{ subject }}",
            "Dear {{ requester }}, number {{ ticket_id }}.{{ ''.__class__ }}",
            "<p>{{ requester }}</p>",
        )
        (only,) = channels.list_channels(db, world.admin.principal)
        channels.update(db, world.admin.principal, only.id, ChannelSettings(announce=(Status.PENDING,)))
        db.commit()
    opened = _take(
        sessions, _message("Ann <ann@customer.example>", "Fan <noisy>", "x", "<w1@customer.example>")
    )
    assert opened.ticket_id is not None
    with unit_of_work(sessions, write=True) as db:
        for target in (Status.PENDING, Status.SOLVED):
            tickets.transition(db, world.agent.principal, opened.ticket_id, target)
        db.commit()
    mail.turn()
    subjects = [message["Subject"] for message in handler.received]
    assert subjects == [
        f"We have it: Fan <noisy> [acme #{opened.ticket_id}]",
        f"Now pending: Fan <noisy> [acme #{opened.ticket_id}]",
    ]
    ack = handler.received[0]
    assert ack.get_body(("plain",)).get_content().startswith("Dear Ann, number")  # type: ignore[union-attr]
    html = ack.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.strip() == "<p>Ann</p>"


def test_a_template_that_cannot_render_or_reaches_outside_is_refused(
    sessions: sessionmaker[Session], world: World
) -> None:
    for text in (
        "{{ unclosed",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% for x in range(10**9) %}{% endfor %}",
    ):
        with unit_of_work(sessions, write=True) as db, pytest.raises(InvalidInput):
            templates.save(db, world.admin.principal, "reply", "s", text, "h")
    with unit_of_work(sessions, write=True) as db, pytest.raises(Forbidden):
        templates.save(db, world.agent.principal, "reply", "s", "t", "h")
