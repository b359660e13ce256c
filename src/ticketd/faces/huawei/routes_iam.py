"""IAM's token API: `POST /v3/auth/tokens` with the password method, answered as IAM answers it."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ticketd.core.clock import utcnow
from ticketd.core.errors import InvalidInput, Unauthenticated
from ticketd.core.identity import login
from ticketd.faces.huawei import iam
from ticketd.faces.huawei.auth import HuaweiAuth
from ticketd.faces.huawei.errors import JSON
from ticketd.faces.huawei.views import iam_time
from ticketd.web.logins import password_sign_in
from ticketd.web.services import Services

router = APIRouter()


@router.post(
    "/v3/auth/tokens",
    status_code=201,
    summary="Obtain an IAM user token (password)",
)
async def tokens(request: Request) -> Response:
    try:
        payload = orjson.loads(await request.body())
        identity = payload["auth"]["identity"]
        user_spec = identity["password"]["user"]
        username, password = str(user_spec["name"]), str(user_spec["password"])
        domain_name = str(user_spec["domain"]["name"])
        if "password" not in identity["methods"]:
            raise KeyError("methods")
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise InvalidInput(
            "the body must name the password method, a user, its password and its domain"
        ) from exc
    services: Services = request.app.state.services
    auth: HuaweiAuth = request.app.state.auth

    def issue() -> tuple[bytes, str]:
        try:
            user = login(services.sessions, tenant_slug=domain_name, username=username, password=password)
        except Unauthenticated as exc:
            raise Unauthenticated("the user name, password or domain is wrong") from exc
        now = utcnow()
        token = iam.issue(
            auth.token_secret,
            user_id=user.id,
            domain_id=user.tenant_id,
            credential_version=user.credential_version,
            now=now,
        )
        domain = {"id": str(user.tenant_id), "name": domain_name}
        body = {
            "token": {
                "expires_at": iam_time(now + iam.TTL),
                "issued_at": iam_time(now),
                "methods": ["password"],
                "user": {
                    "id": str(user.id),
                    "name": user.username,
                    "domain": domain,
                    "password_expires_at": "",
                },
                "domain": domain,
                "roles": [{"id": user.role, "name": user.role}],
                "catalog": [],
            }
        }
        return orjson.dumps(body), token

    # The password hash and the store's round trips run off the event loop.
    body, token = await password_sign_in(services, request.scope, domain_name, username, issue)
    return Response(body, 201, {"X-Subject-Token": token}, media_type=JSON)
