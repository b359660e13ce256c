"""The public status page and its Statuspage v2 JSON: nothing shown until published, only what the
tenant published, the built-in component, incidents and maintenance with their updates, ETags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.conftest import World

V2 = "/status/acme/api/v2"
COMPONENT_STATES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}


def _admin(client: TestClient, world: World, method: str, path: str, **body: object) -> dict[str, object]:
    response = client.request(method, f"/api/v1/status-page{path}", auth=world.admin.basic, json=body or None)
    assert response.status_code in (200, 201), response.text
    found: dict[str, object] = response.json()
    return found


def test_nothing_is_public_until_published(client: TestClient, world: World) -> None:
    _admin(client, world, "POST", "/components", name="Secret API")
    for path in ("/status/acme", f"{V2}/summary.json", f"{V2}/components.json"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Secret API" not in response.text
    assert client.get("/status/nobody/api/v2/summary.json").status_code == 404
    _admin(client, world, "PATCH", "", published=True)
    assert client.get(f"{V2}/summary.json").status_code == 200


def test_summary_in_statuspage_v2_shape(client: TestClient, world: World) -> None:
    _admin(client, world, "PATCH", "", published=True, name="Acme services")
    api = _admin(client, world, "POST", "/components", name="API", description="The REST API")
    _admin(client, world, "POST", "/components", name="Portal")
    summary = client.get(f"{V2}/summary.json").json()
    assert set(summary) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert summary["page"]["id"] == "acme" and summary["page"]["name"] == "Acme services"
    assert summary["page"]["url"].endswith("/status/acme")
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    names = [component["name"] for component in summary["components"]]
    assert names == ["ticketd", "API", "Portal"]  # the built-in component first
    for component in summary["components"]:
        assert component["status"] in COMPONENT_STATES
        assert {
            "id",
            "name",
            "status",
            "created_at",
            "updated_at",
            "position",
            "description",
            "page_id",
            "group",
            "group_id",
            "only_show_if_degraded",
            "showcase",
            "start_date",
        } <= set(component)
    incident = _admin(
        client,
        world,
        "POST",
        "/incidents",
        name="Elevated errors",
        body="We are looking into it.",
        impact="major",
        components={str(api["id"]): "partial_outage"},
    )
    summary = client.get(f"{V2}/summary.json").json()
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    (shown,) = summary["incidents"]
    assert shown["id"] == incident["id"] and shown["status"] == "investigating" and shown["impact"] == "major"
    (update,) = shown["incident_updates"]
    assert update["body"] == "We are looking into it."
    assert update["affected_components"] == [
        {"code": api["id"], "name": "API", "old_status": "operational", "new_status": "partial_outage"}
    ]
    assert [c["id"] for c in shown["components"]] == [api["id"]]
    _admin(
        client,
        world,
        "POST",
        f"/incidents/{incident['id']}/updates",
        status="resolved",
        body="Fixed.",
        components={str(api["id"]): "operational"},
    )
    assert client.get(f"{V2}/incidents/unresolved.json").json()["incidents"] == []
    (past,) = client.get(f"{V2}/incidents.json").json()["incidents"]
    assert past["status"] == "resolved" and past["resolved_at"] is not None
    assert [u["status"] for u in past["incident_updates"]] == ["resolved", "investigating"]
    assert client.get(f"{V2}/status.json").json()["status"]["indicator"] == "none"


def test_scheduled_maintenance(client: TestClient, world: World) -> None:
    _admin(client, world, "PATCH", "", published=True)
    start = datetime.now(UTC) + timedelta(hours=2)
    made = _admin(
        client,
        world,
        "POST",
        "/incidents",
        name="Database upgrade",
        body="Brief read-only period.",
        scheduled_for=start.isoformat(),
        scheduled_until=(start + timedelta(hours=1)).isoformat(),
    )
    assert made["kind"] == "maintenance" and made["status"] == "scheduled"
    (upcoming,) = client.get(f"{V2}/scheduled-maintenances/upcoming.json").json()["scheduled_maintenances"]
    assert upcoming["impact"] == "maintenance" and upcoming["scheduled_for"].startswith(
        start.strftime("%Y-%m-%d")
    )
    assert client.get(f"{V2}/scheduled-maintenances/active.json").json()["scheduled_maintenances"] == []
    _admin(client, world, "POST", f"/incidents/{made['id']}/updates", status="in_progress", body="Started.")
    assert client.get(f"{V2}/status.json").json()["status"]["indicator"] == "maintenance"
    bad = client.post(
        "/api/v1/status-page/incidents",
        auth=world.admin.basic,
        json={
            "name": "x",
            "body": "y",
            "scheduled_for": start.isoformat(),
            "scheduled_until": start.isoformat(),
        },
    )
    assert bad.status_code == 422


def test_the_page_is_html_without_scripts_and_escapes(client: TestClient, world: World) -> None:
    _admin(client, world, "PATCH", "", published=True)
    _admin(client, world, "POST", "/components", name="<img src=x onerror=alert(1)>")
    _admin(client, world, "POST", "/incidents", name="Slow <b>search</b>", body="<script>alert(1)</script>")
    page = client.get("/status/acme")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no scripts
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "All Systems Operational" not in page.text  # an unresolved minor incident is shown instead
    assert "Minor Service Outage" in page.text


def test_answers_are_cacheable_with_etags(client: TestClient, world: World) -> None:
    _admin(client, world, "PATCH", "", published=True)
    first = client.get(f"{V2}/components.json")
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public")
    assert client.get(f"{V2}/components.json", headers={"if-none-match": etag}).status_code == 304
    _admin(client, world, "POST", "/components", name="New")
    changed = client.get(f"{V2}/components.json", headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_only_admins_manage_it_and_only_their_own(client: TestClient, world: World) -> None:
    made = _admin(client, world, "POST", "/components", name="Mine")
    assert (
        client.post("/api/v1/status-page/components", auth=world.agent.basic, json={"name": "x"}).status_code
        == 403
    )
    outsider = client.patch(
        f"/api/v1/status-page/components/{made['id']}", auth=world.outsider.basic, json={"name": "theirs"}
    )
    assert outsider.status_code == 404
    assert (
        client.post(
            "/api/v1/status-page/components", auth=world.admin.basic, json={"name": "x", "status": "on_fire"}
        ).status_code
        == 422
    )
