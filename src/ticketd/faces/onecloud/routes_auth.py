"""OneCloud's token API: `POST /api/authenticate` with an e-mail, a password and a site id."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ticketd.core.clock import utcnow
from ticketd.core.errors import Unauthenticated
from ticketd.core.identity import login_by_email
from ticketd.faces.onecloud import tokens
from ticketd.faces.onecloud.deps import fields_of, services_of
from ticketd.faces.onecloud.errors import error_body, error_response, failed_login_body
from ticketd.faces.onecloud.views import json_response
from ticketd.web.logins import password_sign_in

router = APIRouter()


@router.post("/api/authenticate", summary="The token API")
async def authenticate(request: Request) -> Response:
    fields = await fields_of(request)
    email, password, site_id = (fields.get("email", ""), fields.get("password", ""), fields.get("siteId", ""))
    if not (email and password and site_id):
        return error_response(400, error_body(400, "email, password and siteId are required"))
    services = services_of(request)
    settings = services.settings

    def check() -> str:
        user = login_by_email(services.sessions, site_id=site_id, email=email, password=password)
        return tokens.issue(
            request.app.state.token_secret,
            issuer=request.headers.get("host", "ticketd"),
            user_id=user.id,
            site_id=user.tenant_id,
            credential_version=user.credential_version,
            now=utcnow(),
            ttl=timedelta(seconds=settings.onecloud_token_ttl_seconds),
        )

    try:
        # The password hash and the store's round trips run off the event loop.
        token = await password_sign_in(services, request.scope, site_id, email, check)
    except Unauthenticated:
        return error_response(401, failed_login_body(site_id))
    return json_response({"response_code": "200", "response_status": "Success", "token": token})
