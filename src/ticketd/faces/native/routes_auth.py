"""`POST /auth/token`: a user's password for a short-lived bearer token."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ticketd.core.clock import utcnow
from ticketd.core.errors import FieldError, InvalidInput
from ticketd.core.identity import login
from ticketd.core.tokens import TokenKeys, issue_token
from ticketd.faces.native.deps import ServicesDep
from ticketd.faces.native.responses import PROBLEM_RESPONSES, json_response
from ticketd.faces.native.schemas import TokenOut, TokenRequest
from ticketd.web.logins import password_sign_in
from ticketd.web.negotiation import media_type_of

router = APIRouter(prefix="/auth", tags=["auth"], responses=PROBLEM_RESPONSES)

FORM = "application/x-www-form-urlencoded"


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Exchange a user's password for a bearer token",
    description="JSON `{tenant, username, password}`, or the same fields as an HTML form.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TokenRequest"}},
                FORM: {"schema": {"$ref": "#/components/schemas/TokenRequest"}},
            },
        }
    },
)
async def post_token(
    request: Request, raw: Annotated[bytes, Depends(raw_body)], services: ServicesDep
) -> Response:
    try:
        if media_type_of(request.headers.get("content-type")) == FORM:
            form = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
            form.pop("grant_type", None)
            credentials = TokenRequest.model_validate(form)
        else:
            credentials = TokenRequest.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        errors = [FieldError("/" + "/".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidInput("the credentials are incomplete", errors) from exc
    # Off the event loop, with no transaction held across the hash; failures counted per account.
    user = await password_sign_in(
        services,
        request.scope,
        credentials.tenant,
        credentials.username,
        lambda: login(
            services.sessions,
            tenant_slug=credentials.tenant,
            username=credentials.username,
            password=credentials.password,
        ),
    )
    ttl = services.settings.access_token_ttl_seconds
    token = issue_token(
        TokenKeys(services.server_keys),
        user_id=user.id,
        tenant_id=user.tenant_id,
        credential_version=user.credential_version,
        now=utcnow(),
        ttl=timedelta(seconds=ttl),
    )
    return json_response(TokenOut(access_token=token, expires_in=ttl), headers={"Cache-Control": "no-store"})
