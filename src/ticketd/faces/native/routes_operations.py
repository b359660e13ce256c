"""Long-running operations: start an import (202 + Operation-Location), poll, list, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ticketd.core import operations
from ticketd.core.errors import Conflict, NotFound
from ticketd.core.etags import none_match
from ticketd.core.ids import MAX_ID
from ticketd.core.importer import Format
from ticketd.core.operation_params import BulkUpdateParams, ExportParams, OperationKind
from ticketd.core.operations import Upload
from ticketd.faces.native.deps import ReadDb, Reader, ServicesDep, Writer
from ticketd.faces.native.responses import PROBLEM_RESPONSES, json_response, not_modified
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation
from ticketd.web.negotiation import media_type_of
from ticketd.web.uploads import spooled_upload

router = APIRouter(prefix="/operations", tags=["operations"], responses=PROBLEM_RESPONSES)

IMPORT_TYPES: dict[str, Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}
OperationId = Annotated[int, Path(ge=1, le=MAX_ID)]


class Progress(BaseModel):
    done: int
    total: int | None


class ChildOut(BaseModel):
    id: int
    status: str


class OperationOut(BaseModel):
    id: int
    kind: str
    status: str
    progress: Progress
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    children: list[ChildOut]
    result: dict[str, Any] | None
    error: dict[str, Any] | None


class OperationList(BaseModel):
    items: list[OperationOut]
    next_before: int | None


def operation_out(db: Session, operation: Operation) -> OperationOut:
    return OperationOut(
        id=operation.id,
        kind=operation.kind,
        status=operation.status,
        progress=Progress(done=operation.progress_done, total=operation.progress_total),
        created_at=operation.created_at,
        started_at=operation.started_at,
        finished_at=operation.finished_at,
        children=[ChildOut(id=c.id, status=c.status) for c in operations.children(db, operation)],
        result=operation.result,
        error=operation.error,
    )


def accepted(request: Request, operation: OperationOut) -> Response:
    """202 with the operation and where to poll it (RFC 9110 §15.3.3)."""
    location = str(request.url_for("get_operation", operation_id=operation.id))
    return json_response(operation, status=202, headers={"Operation-Location": location, "Retry-After": "1"})


@router.post(
    "/imports",
    status_code=202,
    response_model=OperationOut,
    summary="Import tickets (CSV with a header row, or JSON lines) as a long-running operation",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMPORT_TYPES},
        }
    },
)
async def start_import(request: Request, principal: Writer, services: ServicesDep) -> Response:
    operations.check_import(principal)
    fmt = IMPORT_TYPES[media_type_of(request.headers.get("content-type"))]
    limit = services.settings.max_upload_bytes
    # Into the store in parts, in one transaction, off the event loop.
    async with spooled_upload(request, fmt, limit) as spooled:

        def store() -> OperationOut:
            with unit_of_work(services.sessions, write=True) as db:
                upload = Upload(fmt=fmt, chunks=operations.read_chunks(spooled), limit=limit)
                operation = operations.start_import(
                    db, tenant_id=principal.tenant_id, by=principal, upload=upload
                )
                db.commit()
                return operation_out(db, operation)

        return accepted(request, await run_in_threadpool(store))


class BulkUpdateIn(BulkUpdateParams):
    """A bulk update's request body: the operation's parameters as they are stored."""


@router.post(
    "/bulk-updates", status_code=202, response_model=OperationOut, summary="Update tickets by tag or filter"
)
def start_bulk_update(
    body: BulkUpdateIn, request: Request, principal: Writer, services: ServicesDep
) -> Response:
    with unit_of_work(services.sessions, write=True) as db:
        operation = operations.start_bulk_update(db, principal, body)
        db.commit()
        out = operation_out(db, operation)
    return accepted(request, out)


class ExportIn(ExportParams):
    """An export's request body: the operation's parameters as they are stored."""


@router.post(
    "/exports", status_code=202, response_model=OperationOut, summary="Export the tickets matching a filter"
)
def start_export(body: ExportIn, request: Request, principal: Writer, services: ServicesDep) -> Response:
    with unit_of_work(services.sessions, write=True) as db:
        operation = operations.start_export(db, principal, body)
        db.commit()
        out = operation_out(db, operation)
    return accepted(request, out)


@router.get(
    "/{operation_id}/file",
    summary="Download a finished export",
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def download(operation_id: OperationId, principal: Reader, services: ServicesDep) -> Response:
    with unit_of_work(services.sessions, write=False) as db:
        operation = operations.get_operation(db, principal, operation_id)
        if operation.kind != OperationKind.EXPORT:
            raise NotFound(f"operation {operation_id} has no file")
        if operation.status != operations.OperationStatus.COMPLETED.value:
            raise Conflict(f"operation {operation_id} is {operation.status}; poll it until completed")
        fmt = ExportParams.model_validate(operation.params).format
    media_type = "text/csv" if fmt == "csv" else "application/x-ndjson"
    filename = f"tickets-{operation_id}.{fmt}"
    # Streamed a part at a time (the framework runs the iterator on its thread pool): a file of any
    # size costs the server one part of memory.
    return StreamingResponse(
        operations.parts(services.sessions, operation_id),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{operation_id}", response_model=OperationOut, summary="Poll an operation")
def get_operation(
    operation_id: OperationId,
    principal: Reader,
    db: ReadDb,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    operation = operations.get_operation(db, principal, operation_id)
    etag = operations.etag_of(operation)
    if none_match(if_none_match, etag):
        return not_modified(etag)
    headers = {} if operation.status in operations.FINISHED else {"Retry-After": "1"}
    return json_response(operation_out(db, operation), etag=etag, headers=headers)


@router.get("", response_model=OperationList, summary="List operations, newest first")
def list_operations(
    principal: Reader,
    db: ReadDb,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    rows = operations.list_operations(db, principal, limit=limit, before=before)
    next_before = rows[-1].id if len(rows) == limit else None
    return json_response(OperationList(items=[operation_out(db, r) for r in rows], next_before=next_before))


@router.post("/{operation_id}/cancel", response_model=OperationOut, summary="Cancel an operation")
def cancel_operation(operation_id: OperationId, principal: Writer, services: ServicesDep) -> Response:
    with unit_of_work(services.sessions, write=True) as db:
        operation = operations.cancel(db, principal, operation_id)
        db.commit()
        return json_response(operation_out(db, operation), etag=operations.etag_of(operation))
