from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import create_app
from ticketd.settings import Settings


def test_health_passes_with_one_check_per_dependency(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/health", auth=world.admin.basic)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/health+json"
    body = response.json()
    assert body["status"] == "pass"
    (check,) = body["checks"]["database:responseTime"]
    assert check["status"] == "pass" and check["componentType"] == "datastore"
    assert isinstance(check["observedValue"], float)


def test_health_shows_details_only_to_admins_and_this_host(client: TestClient, world: World) -> None:
    for anyone in ({}, {"auth": world.agent.basic}, {"auth": ("tk_nobody", "wrong")}):
        response = client.get("/api/v1/health", **anyone)  # type: ignore[arg-type]
        assert response.status_code == 200
        assert response.json() == {"status": "pass"}
    assert "releaseId" in client.get("/api/v1/health", auth=world.admin.basic).json()
    local = TestClient(client.app, client=("127.0.0.1", 50000))
    assert "checks" in local.get("/api/v1/health").json()


def test_health_fails_with_503_when_the_store_is_gone() -> None:
    # Nothing listens on port 1: every connection to this store is refused.
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", secret_key="k" * 40)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
        response = client.get("/api/v1/health")
        assert response.status_code == 503
        assert response.json()["status"] == "fail"
        assert response.json()["checks"]["database:responseTime"][0]["status"] == "fail"


def test_openapi_document_and_offline_docs(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/status",
        "/api/v1/tickets/{ticket_id}/comments",
        "/api/v1/tickets/{ticket_id}/events",
        "/api/v1/tickets/{ticket_id}/transitions",
        "/api/v1/auth/token",
        "/api/v1/health",
    ):
        assert path in paths, path
    assert "Problem" in document["components"]["schemas"]
    status = paths["/api/v1/tickets/{ticket_id}/status"]["get"]["responses"]
    assert "429" in status and "Retry-After" in status["429"]["headers"]
    assert {"RateLimit-Policy", "RateLimit"} <= set(status["200"]["headers"])
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/docs/assets/swagger-ui-bundle.js" in page.text
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200
