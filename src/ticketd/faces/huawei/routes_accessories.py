"""OSM accessories (attachments) at the paths and in the shapes the official SDK calls them:
upload as a form (`file`, `form_data`) or as JSON with base64 `accessory_data`, download, the image
route, time-limited access URLs that work without a token, the limits, deletion. An accessory is
uploaded before the case or message that names it in `accessory_ids` (routes_cases.py); until then
only its uploader sees it."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ticketd.core import attachment_links, attachments
from ticketd.core.attachments import IncomingFile
from ticketd.core.errors import DomainError, InvalidInput
from ticketd.core.ids import parse_id
from ticketd.core.media_types import INLINE_IMAGES
from ticketd.faces.huawei.deps import Context, Ctx, Db, GroupId
from ticketd.faces.huawei.errors import error_response
from ticketd.faces.huawei.paths import ACCESSORIES
from ticketd.faces.huawei.views import json_response
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Attachment
from ticketd.web.attachment_downloads import DOWNLOAD_RESPONSES, Download, download_response
from ticketd.web.attachment_uploads import form_file
from ticketd.web.services import Services

router = APIRouter(prefix=ACCESSORIES)
# What the document says of the routes whose bodies FastAPI does not read itself.
FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "form_data": {"type": "string", "maxLength": 65536},
                    },
                }
            }
        },
    }
}
# Repeated (as the SDK sends a list) or comma-separated.
AccessoryIds = Annotated[list[Annotated[str, Query(max_length=64)]], Query(min_length=1, max_length=100)]
MEGABYTE = 1 << 20


class AccessoryJsonIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    accessory_name: str = Field(min_length=1, max_length=255)
    accessory_from: str | None = Field(default=None, max_length=64)
    upload_type: int | None = Field(default=None, ge=0, le=100)
    accessory_data: str = Field(min_length=1)


def accessory_number(accessory_id: str) -> int:
    if not 1 <= len(accessory_id) <= 64:
        raise InvalidInput("accessory_id must be 1 to 64 characters")
    return parse_id(accessory_id, "no such accessory")


def accessory_numbers(ids: list[str] | None, field: str) -> list[int]:
    """`accessory_ids` of a case or message as ticketd's ids; an id that cannot be one is invalid."""
    numbers = []
    for accessory_id in ids or []:
        try:
            numbers.append(accessory_number(accessory_id))
        except DomainError as exc:
            raise InvalidInput(f"{field} names no accessory {accessory_id!r}") from exc
    return numbers


@router.get("/limits", summary="Querying attachment limits")
def limits(ctx: Ctx, request: Request) -> Response:
    settings = _services(request).settings
    return json_response(
        {
            "accessory_limit": {
                # As the vendor's console states them: files a case, megabytes a file, the types.
                "limit_count": str(settings.max_attachments_per_ticket),
                "limit_size": str(max(1, settings.max_attachment_bytes // MEGABYTE)),
                "limit_file_type": "*",
            }
        }
    )


@router.get("/access-urls", summary="Querying the access URLs of attachments")
def access_urls(
    ctx: Ctx, db: Db, request: Request, accessory_ids: AccessoryIds, group_id: GroupId = None
) -> Response:
    parts = [part.strip() for given in accessory_ids for part in given.split(",") if part.strip()]
    if len(parts) > 100:
        raise InvalidInput("accessory_ids names at most 100 accessories")
    ids = accessory_numbers(parts, "accessory_ids")
    found = [attachments.get(db, ctx.principal, attachment_id) for attachment_id in dict.fromkeys(ids)]
    return json_response({"accessory_urls": [_access_url(request, attachment) for attachment in found]})


@router.post("", summary="Uploading an attachment", openapi_extra=FORM_BODY)
async def upload(ctx: Ctx, request: Request) -> Response:
    services = _services(request)
    limits = attachments.Limits.of(services.settings)
    async with form_file(request, limits.max_bytes) as (file, _form):
        accessory_id = await run_in_threadpool(_store, services, ctx, file)
    return json_response({"accessory_id": accessory_id})


@router.post("/json-format-content", summary="Uploading an attachment as JSON")
async def upload_json(body: AccessoryJsonIn, ctx: Ctx, request: Request) -> Response:
    services = _services(request)
    try:
        data = base64.b64decode(body.accessory_data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("accessory_data is not base64") from exc
    digest = attachments.sha256_of(data)
    file = IncomingFile(body.accessory_name, None, io.BytesIO(data), len(data), digest)
    accessory_id = await run_in_threadpool(_store, services, ctx, file)
    return json_response({"accessory_id": accessory_id})


@router.get("/{accessory_id}/image", summary="Downloading an image attachment", responses=DOWNLOAD_RESPONSES)
def download_image(
    accessory_id: str, ctx: Ctx, db: Db, request: Request, group_id: GroupId = None
) -> Response:
    attachment = attachments.get(db, ctx.principal, accessory_number(accessory_id))
    if attachment.content_type not in INLINE_IMAGES:
        raise InvalidInput(f"accessory {accessory_id} is not an image")
    return _download(request, attachment)


@router.get("/{accessory_id}/access-url", summary="Querying the access URL of an attachment")
def access_url(
    accessory_id: str,
    ctx: Ctx,
    db: Db,
    request: Request,
    relation_type: Annotated[str | None, Query(max_length=64)] = None,
    relation_id: Annotated[str | None, Query(max_length=64)] = None,
    incident_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    attachment = attachments.get(db, ctx.principal, accessory_number(accessory_id))
    return json_response({"accessory_url": _access_url(request, attachment)["accessory_url"]})


@router.get(
    "/{accessory_id}/content",
    summary="An attachment by its access URL (no token)",
    responses=DOWNLOAD_RESPONSES,
)
def by_link(
    accessory_id: str,
    request: Request,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(min_length=64, max_length=64)],
) -> Response:
    services = _services(request)
    number = accessory_number(accessory_id)
    keys = [attachment_links.link_key(key) for key in services.server_keys]
    attachment_links.check(keys, number, expires, signature)
    with unit_of_work(services.sessions, write=False) as db:
        attachment = attachments.linked(db, number)
        return _download(request, attachment)


@router.get("/{accessory_id}", summary="Downloading an attachment", responses=DOWNLOAD_RESPONSES)
def download(accessory_id: str, ctx: Ctx, db: Db, request: Request, group_id: GroupId = None) -> Response:
    return _download(request, attachments.get(db, ctx.principal, accessory_number(accessory_id)))


@router.delete("/{accessory_id}", summary="Deleting an attachment")
def delete(accessory_id: str, ctx: Ctx, db: Db) -> Response:
    attachments.remove(db, ctx.principal, accessory_number(accessory_id))
    db.commit()
    return json_response({})


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _store(services: Services, ctx: Context, file: IncomingFile) -> str:
    # Into the store in parts, in one transaction, off the event loop; no case claims it yet.
    limits = attachments.Limits.of(services.settings)
    with unit_of_work(services.sessions, write=True) as db:
        attachment = attachments.add(db, ctx.principal, file, limits, ticket_id=None)
        accessory_id = str(attachment.id)
        db.commit()
    return accessory_id


def _download(request: Request, attachment: Attachment) -> Response:
    def refuse(status: int, detail: str) -> Response:
        return error_response(status, "OSM.0001", f"Failed: {detail}")

    return download_response(request, _services(request).sessions, Download.of(attachment), refuse)


def _access_url(request: Request, attachment: Attachment) -> dict[str, str]:
    services = _services(request)
    key = attachment_links.link_key(services.server_keys[-1])
    query = attachment_links.signed_query(key, attachment.id, services.settings.attachment_url_ttl_seconds)
    base = services.settings.base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return {
        "accessory_id": str(attachment.id),
        "accessory_name": attachment.filename,
        "accessory_url": f"{base}{ACCESSORIES}/{attachment.id}/content?{query}",
    }
