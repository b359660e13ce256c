"""Webhooks through the native API, delivered by the embedded worker to a real receiver that
verifies every signature with the `standardwebhooks` package."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from urllib.parse import urlsplit

import httpx2
import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from tests.conftest import World
from tests.web.test_server import _free_port, serving
from tests.webhook_receiver import Receiver, running_receiver
from ticketd.assembly.app import create_app
from ticketd.core.webhooks.endpoints import MAX_ENDPOINTS_PER_TENANT
from ticketd.settings import Settings

FAST = {
    "webhook_allow_private": True,
    "events_poll_seconds": 0.02,
    "webhook_retry_schedule": "0,0.05,0.05,0.05",
}


@pytest.fixture
def hooked(settings: Settings, world: World) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=FAST))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


def _endpoint(client: TestClient, world: World, receiver: Receiver, **body: object) -> dict[str, object]:
    response = client.post("/api/v1/webhooks", auth=world.admin.basic, json={"url": receiver.url, **body})
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    receiver.secrets.append(str(created["secret"]))
    return created


def _ticket(client: TestClient, world: World) -> int:
    response = client.post("/api/v1/tickets", auth=world.agent.basic, json={"subject": "Printer on fire"})
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["id"]
    return ticket_id


def _attempts(outcome: str) -> float:
    return REGISTRY.get_sample_value("ticketd_webhook_attempts_total", {"outcome": outcome}) or 0.0


def test_a_status_change_is_delivered_signed(hooked: TestClient, world: World, receiver: Receiver) -> None:
    succeeded_before = _attempts("succeeded")
    timed_before = REGISTRY.get_sample_value("ticketd_webhook_attempt_duration_seconds_count") or 0.0
    created = _endpoint(hooked, world, receiver, events=["ticket.status_changed"])
    assert str(created["secret"]).startswith("whsec_")
    ticket_id = _ticket(hooked, world)
    moved = hooked.post(
        f"/api/v1/tickets/{ticket_id}/transitions", auth=world.agent.basic, json={"to": "open"}
    )
    assert moved.status_code == 200, moved.text
    (delivery,) = receiver.wait_for(1)
    assert delivery.verified
    message = delivery.message
    assert message["type"] == "ticket.status_changed"
    assert message["data"]["ticket_id"] == ticket_id
    assert message["data"]["change"] == {"field": "status", "old": "new", "new": "open"}
    assert len(delivery.body) < 20_000
    time.sleep(0.3)
    assert len(receiver.deliveries) == 1  # the creation was not asked for
    # Counted for /metrics: the attempt and its duration.
    assert _attempts("succeeded") == succeeded_before + 1
    assert REGISTRY.get_sample_value("ticketd_webhook_attempt_duration_seconds_count") == timed_before + 1


def test_comments_and_field_changes_carry_what_changed(
    hooked: TestClient, world: World, receiver: Receiver
) -> None:
    """Public comments and internal notes are separate types with the comment's text; a field
    change names the field, its old and new value, and the ticket as it now stands."""
    _endpoint(
        hooked, world, receiver, events=["ticket.commented", "ticket.commented_internal", "ticket.updated"]
    )
    ticket_id = _ticket(hooked, world)
    for body, public in (("We are on it", True), ("Customer is a VIP", False)):
        made = hooked.post(
            f"/api/v1/tickets/{ticket_id}/comments",
            auth=world.agent.basic,
            json={"body": body, "public": public},
        )
        assert made.status_code == 201, made.text
    changed = hooked.patch(f"/api/v1/tickets/{ticket_id}", auth=world.agent.basic, json={"priority": "high"})
    assert changed.status_code == 200, changed.text
    deliveries = receiver.wait_for(3)
    assert all(delivery.verified for delivery in deliveries)
    by_type = {delivery.message["type"]: delivery.message["data"] for delivery in deliveries}
    assert by_type["ticket.commented"]["comment"] == {
        "id": by_type["ticket.commented"]["comment"]["id"],
        "public": True,
        "body": "We are on it",
    }
    assert by_type["ticket.commented_internal"]["comment"]["body"] == "Customer is a VIP"
    assert by_type["ticket.commented_internal"]["comment"]["public"] is False
    updated = by_type["ticket.updated"]
    assert updated["change"] == {"field": "priority", "old": "normal", "new": "high"}
    assert updated["ticket"]["priority"] == "high" and updated["ticket"]["id"] == ticket_id


def test_files_added_and_removed_are_told(hooked: TestClient, world: World, receiver: Receiver) -> None:
    _endpoint(hooked, world, receiver, events=["ticket.attachment_added", "ticket.attachment_removed"])
    ticket_id = _ticket(hooked, world)
    added = hooked.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        auth=world.agent.basic,
        content=b"%PDF-1.4\n",
        headers={"Content-Disposition": 'attachment; filename="invoice.pdf"'},
    )
    assert added.status_code == 201, added.text
    removed = hooked.delete(f"/api/v1/attachments/{added.json()['id']}", auth=world.agent.basic)
    assert removed.status_code == 204
    deliveries = receiver.wait_for(2)
    assert all(delivery.verified for delivery in deliveries)
    told = [(d.message["type"], d.message["data"]["attachment"]) for d in deliveries]
    expected = {
        "attachment_id": added.json()["id"],
        "filename": "invoice.pdf",
        "content_type": "application/pdf",
        "size": 9,
        "comment_id": None,
        "public": True,
    }
    assert told == [("ticket.attachment_added", expected), ("ticket.attachment_removed", expected)]


def test_secret_is_never_shown_again(hooked: TestClient, world: World, receiver: Receiver) -> None:
    created = _endpoint(hooked, world, receiver)
    listed = hooked.get("/api/v1/webhooks", auth=world.admin.basic).json()
    one = hooked.get(f"/api/v1/webhooks/{created['id']}", auth=world.admin.basic).json()
    assert "secret" not in listed[0]
    assert "secret" not in one
    assert str(created["secret"]) not in str(listed) + str(one)


def _transition(client: TestClient, world: World, ticket_id: int, target: str) -> None:
    moved = client.post(
        f"/api/v1/tickets/{ticket_id}/transitions", auth=world.agent.basic, json={"to": target}
    )
    assert moved.status_code == 200, moved.text


def _log(client: TestClient, world: World, endpoint_id: object) -> list[dict[str, object]]:
    response = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries", auth=world.admin.basic)
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()
    return found


def _wait(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_failures_are_retried_with_the_same_id_until_a_2xx(
    hooked: TestClient, world: World, receiver: Receiver
) -> None:
    # A redirect and a server error are failures too; the third attempt succeeds.
    answers = {0: (302, {"location": "http://127.0.0.1:9/elsewhere"}), 1: (500, {})}
    receiver.answer = lambda n: answers.get(n, (200, {}))
    created = _endpoint(hooked, world, receiver, events=["ticket.created"])
    _ticket(hooked, world)
    deliveries = receiver.wait_for(3)
    assert len({delivery.webhook_id for delivery in deliveries}) == 1
    assert all(delivery.verified for delivery in deliveries)
    # Each attempt is signed at its own time.
    assert [d.headers["webhook-signature"].startswith("v1,") for d in deliveries] == [True] * 3
    _wait(lambda: len(_log(hooked, world, created["id"])) == 3)
    log = _log(hooked, world, created["id"])
    assert [entry["status_code"] for entry in log] == [200, 500, 302]
    assert {entry["delivery_status"] for entry in log} == {"succeeded"}
    assert all(isinstance(entry["latency_ms"], int) for entry in log)
    assert log[0]["response"] == "ok"


def test_retry_after_is_honoured(settings: Settings, world: World, receiver: Receiver) -> None:
    app = create_app(settings.model_copy(update={**FAST, "webhook_retry_schedule": "0,0.05,0.05"}))
    receiver.answer = lambda n: (429, {"retry-after": "1"}) if n == 0 else (204, {})
    with TestClient(app, raise_server_exceptions=False) as client:
        _endpoint(client, world, receiver, events=["ticket.created"])
        _ticket(client, world)
        first, second = receiver.wait_for(2)
    assert second.received_at - first.received_at >= 0.95


def test_gone_disables_the_endpoint_and_tells_the_others(
    hooked: TestClient, world: World, receiver: Receiver
) -> None:
    with running_receiver() as watcher:
        receiver.answer = lambda _n: (410, {})
        gone = _endpoint(hooked, world, receiver, events=["ticket.created"])
        _endpoint(hooked, world, watcher, events=["webhook.disabled"])
        _ticket(hooked, world)
        (notice,) = watcher.wait_for(1)
        assert notice.verified
        assert notice.message["type"] == "webhook.disabled"
        assert notice.message["data"]["endpoint_id"] == gone["id"]
        # Its host, not its path or query (where receivers keep secrets).
        assert notice.message["data"]["host"] == urlsplit(receiver.url).netloc
        assert "url" not in notice.message["data"]
        assert b"/hook" not in notice.body
    state = hooked.get(f"/api/v1/webhooks/{gone['id']}", auth=world.admin.basic).json()
    assert state["disabled"] is True
    assert "410" in state["disabled_reason"]
    assert len(receiver.deliveries) == 1  # one attempt, then no more


def test_an_endpoint_failing_for_the_whole_window_is_disabled(
    settings: Settings, world: World, receiver: Receiver
) -> None:
    update = {**FAST, "webhook_disable_after_seconds": 0.3, "webhook_retry_schedule": "0" + ",0.1" * 20}
    receiver.answer = lambda _n: (503, {})
    with TestClient(create_app(settings.model_copy(update=update)), raise_server_exceptions=False) as client:
        created = _endpoint(client, world, receiver, events=["ticket.created"])
        _ticket(client, world)
        _wait(
            lambda: client.get(f"/api/v1/webhooks/{created['id']}", auth=world.admin.basic).json()["disabled"]
        )
        count = len(receiver.deliveries)
        assert count >= 3
        time.sleep(0.3)
        assert len(receiver.deliveries) == count  # nothing more once disabled


def test_rotation_signs_with_both_secrets_during_the_overlap(
    hooked: TestClient, world: World, receiver: Receiver
) -> None:
    created = _endpoint(hooked, world, receiver, events=["ticket.created"])
    old_secret = str(created["secret"])
    rotated = hooked.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", auth=world.admin.basic)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != old_secret
    _ticket(hooked, world)
    (delivery,) = receiver.wait_for(1)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, new_secret):
        receiver.secrets = [secret]
        assert receiver.verify(delivery.headers, delivery.body)
    # Tampered or stale, it fails the receiver's check.
    assert not receiver.verify(delivery.headers, delivery.body.replace(b"ticket", b"tocket"))
    stale = {**delivery.headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert not receiver.verify(stale, delivery.body)


def test_a_slow_endpoint_does_not_delay_another(settings: Settings, world: World) -> None:
    update = {**FAST, "webhook_timeout_seconds": 3, "webhook_concurrency": 2}
    with (
        running_receiver() as slow,
        running_receiver() as fast,
        TestClient(create_app(settings.model_copy(update=update)), raise_server_exceptions=False) as client,
    ):

        def sleepy(_n: int) -> tuple[int, dict[str, str]]:
            time.sleep(2)
            return (204, {})

        slow.answer = sleepy
        _endpoint(client, world, slow, events=["ticket.created"])
        _endpoint(client, world, fast, events=["ticket.created"])
        started = time.monotonic()
        for _ in range(10):
            _ticket(client, world)
        fast.wait_for(10, timeout=5)
        assert time.monotonic() - started < 2.5  # the slow one has answered at most twice by now
        assert len(slow.deliveries) <= 4


def test_operations_announce_their_end(hooked: TestClient, world: World, receiver: Receiver) -> None:
    _endpoint(hooked, world, receiver, events=["operation.completed", "operation.failed"])
    started = hooked.post("/api/v1/operations/exports", auth=world.admin.basic, json={})
    assert started.status_code == 202, started.text
    (delivery,) = receiver.wait_for(1)
    assert delivery.verified
    assert delivery.message["type"] == "operation.completed"
    assert delivery.message["data"]["operation"]["id"] == started.json()["id"]


def test_redeliver_and_replay(hooked: TestClient, world: World, receiver: Receiver) -> None:
    receiver.answer = lambda n: (500, {}) if n < 4 else (204, {})
    created = _endpoint(hooked, world, receiver, events=["ticket.created"])
    _ticket(hooked, world)
    receiver.wait_for(4)  # "0,0.05,0.05,0.05": four attempts, all failed
    _wait(lambda: {e["delivery_status"] for e in _log(hooked, world, created["id"])} == {"failed"})
    message_id = receiver.deliveries[0].webhook_id
    again = hooked.post(
        f"/api/v1/webhooks/{created['id']}/deliveries/{message_id}/redeliver", auth=world.admin.basic
    )
    assert again.status_code == 202
    fifth = receiver.wait_for(5)[4]
    assert fifth.webhook_id == message_id
    # Replay: what the endpoint missed while it was disabled.
    hooked.patch(f"/api/v1/webhooks/{created['id']}", auth=world.admin.basic, json={"disabled": True})
    _endpoint(hooked, world, Receiver(url=receiver.url), events=["ticket.created"])  # keeps messages made
    _ticket(hooked, world)
    time.sleep(0.3)
    assert len(receiver.deliveries) == 6  # the second endpoint got it (same receiver), not the first
    hooked.patch(f"/api/v1/webhooks/{created['id']}", auth=world.admin.basic, json={"disabled": False})
    replayed = hooked.post(
        f"/api/v1/webhooks/{created['id']}/replay",
        auth=world.admin.basic,
        json={"since": "2000-01-01T00:00:00Z"},
    )
    assert replayed.status_code == 202
    assert replayed.json() == {"queued": 1}
    receiver.wait_for(7)
    # Redelivery honours the endpoint's filter, as replay does.
    other = _endpoint(hooked, world, Receiver(url=receiver.url), events=["ticket.commented"])
    refused = hooked.post(
        f"/api/v1/webhooks/{other['id']}/deliveries/{message_id}/redeliver", auth=world.admin.basic
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert _log(hooked, world, other["id"]) == []


def test_only_the_tenants_admins_see_its_endpoints(
    hooked: TestClient, world: World, receiver: Receiver
) -> None:
    created = _endpoint(hooked, world, receiver)
    path = f"/api/v1/webhooks/{created['id']}"
    assert hooked.get(path, auth=world.outsider.basic).status_code == 404
    assert hooked.delete(path, auth=world.outsider.basic).status_code == 404
    assert hooked.get(path, auth=world.agent.basic).status_code == 403
    assert hooked.get("/api/v1/webhooks", auth=world.outsider.basic).json() == []
    assert hooked.get(path, auth=world.admin.basic).status_code == 200


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"url": "ftp://example.com/x"}, "/url"),
        ({"url": "http://127.0.0.1:8080/x"}, "/url"),
        ({"url": "http://[::1]/x"}, "/url"),
        ({"url": "http://10.1.2.3/x"}, "/url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "/url"),
        ({"url": "http://user:pw@example.com/x"}, "/url"),
        ({"url": "not a url"}, "/url"),
        ({"url": "https://example.com/x", "events": ["ticket.exploded"]}, "/events"),
    ],
)
def test_bad_endpoints_are_refused_with_the_reason(
    client: TestClient, world: World, body: dict[str, object], pointer: str
) -> None:
    response = client.post("/api/v1/webhooks", auth=world.admin.basic, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert pointer in [error["pointer"] for error in response.json()["errors"]]
    assert client.get("/api/v1/webhooks", auth=world.admin.basic).json() == []


def test_addresses_are_checked_again_when_sending(
    settings: Settings, world: World, receiver: Receiver
) -> None:
    # Saved while allowed; then the server no longer allows private addresses: nothing is sent.
    with TestClient(create_app(settings.model_copy(update=FAST)), raise_server_exceptions=False) as client:
        created = _endpoint(client, world, receiver, events=["ticket.created"])
    strict = {**FAST, "webhook_allow_private": False}
    with TestClient(create_app(settings.model_copy(update=strict)), raise_server_exceptions=False) as client:
        _ticket(client, world)
        _wait(lambda: any(entry["error"] for entry in _log(client, world, created["id"])))
        errors = [entry["error"] for entry in _log(client, world, created["id"])]
    assert "loopback" in str(errors[0])
    assert receiver.deliveries == []


def test_a_receivers_nul_reply_is_kept_safely_and_spoils_no_other_record(
    hooked: TestClient, world: World, receiver: Receiver
) -> None:
    """A tenant's receiver answers 200 with a NUL and a lone surrogate's bytes in its body (which
    PostgreSQL's text refuses); another tenant's receiver answers normally. Both deliveries are
    recorded as succeeded, once each, and the reply is kept with U+FFFD in place of the NUL."""
    with running_receiver() as hostile:
        hostile.answer = lambda _n: (200, {})
        hostile.reply = b"200 ok\x00\xed\xa0\x80 and more"
        ours = _endpoint(hooked, world, hostile, events=["ticket.created"])
        response = hooked.post(
            "/api/v1/webhooks",
            auth=world.outsider.basic,
            json={"url": receiver.url, "events": ["ticket.created"]},
        )
        assert response.status_code == 201, response.text
        receiver.secrets.append(response.json()["secret"])
        theirs = response.json()["id"]
        _ticket(hooked, world)
        created = hooked.post("/api/v1/tickets", auth=world.outsider.basic, json={"subject": "Theirs"})
        assert created.status_code == 201
        hostile.wait_for(1)
        receiver.wait_for(1)

        def log_of(endpoint_id: object, actor: object) -> list[dict[str, object]]:
            answer = hooked.get(f"/api/v1/webhooks/{endpoint_id}/deliveries", auth=actor)  # type: ignore[arg-type]
            assert answer.status_code == 200, answer.text
            found: list[dict[str, object]] = answer.json()
            return found

        _wait(lambda: [e["delivery_status"] for e in log_of(ours["id"], world.admin.basic)] == ["succeeded"])
        _wait(lambda: [e["delivery_status"] for e in log_of(theirs, world.outsider.basic)] == ["succeeded"])
        (entry,) = log_of(ours["id"], world.admin.basic)
        assert entry["response"] == "200 ok\ufffd\ufffd\ufffd\ufffd and more"
        time.sleep(0.5)  # rounds go on: nothing is sent again
        assert len(hostile.deliveries) == 1 and len(receiver.deliveries) == 1


@pytest.mark.slow
def test_concurrent_creates_never_pass_the_endpoint_limit(settings: Settings, world: World) -> None:
    """68 creates at once against `ticketd serve`: exactly the limit succeed, the rest are 422."""
    port = _free_port()
    go = Barrier(68)

    def create(number: int) -> int:
        go.wait()
        response = httpx2.post(
            f"http://127.0.0.1:{port}/api/v1/webhooks",
            auth=world.admin.basic,
            json={"url": f"https://8.8.8.8/hook/{number}", "events": ["ticket.created"]},
            timeout=30,
        )
        return response.status_code

    with serving(settings, port), ThreadPoolExecutor(68) as pool:
        statuses = list(pool.map(create, range(68)))
        listed = httpx2.get(f"http://127.0.0.1:{port}/api/v1/webhooks", auth=world.admin.basic).json()
    assert statuses.count(201) == MAX_ENDPOINTS_PER_TENANT, statuses
    assert statuses.count(422) == 68 - MAX_ENDPOINTS_PER_TENANT, statuses
    assert len(listed) == MAX_ENDPOINTS_PER_TENANT
