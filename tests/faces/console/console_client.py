"""Signing in to the console from a test client, and reading a page's CSRF token."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.conftest import Actor

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def sign_in(client: TestClient, actor: Actor, tenant: str = "acme") -> str:
    """Signs `actor` in on `client` (its cookie jar keeps the session); returns the CSRF token."""
    answer = client.post(
        "/console/sign-in",
        data={"tenant": tenant, "username": actor.username, "password": actor.password},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get(answer.headers["location"]).text)


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found is not None, "the page has no CSRF token"
    return found.group(1)
