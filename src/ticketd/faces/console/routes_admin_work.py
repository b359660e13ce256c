"""Admins' pages for the tenant's work and its outward face: operations (upload an import and
watch it, start an export and download it), webhooks with their delivery log, and the public
status page (components, incidents and maintenances with their updates)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ticketd.core import operations, status_page
from ticketd.core.clock import as_utc
from ticketd.core.errors import Conflict, FieldError, InvalidInput, NotFound
from ticketd.core.ids import MAX_ID
from ticketd.core.operation_params import BulkFilter, ExportParams, OperationKind
from ticketd.core.status_page import ComponentStatus, Impact, IncidentStatus, MaintenanceStatus
from ticketd.core.webhooks import deliveries, endpoints
from ticketd.core.webhooks.endpoints import EndpointChanges
from ticketd.core.webhooks.messages import EventType
from ticketd.faces.console.pages import redirect, render
from ticketd.faces.console.paths import IMPORT_PATH, IMPORT_TYPES, PREFIX
from ticketd.faces.console.visitors import AdminDep, FormDep, Visitor, check_csrf_header, services_of, text
from ticketd.store.engine import unit_of_work
from ticketd.web.negotiation import media_type_of
from ticketd.web.uploads import spooled_upload

router = APIRouter(prefix="/admin", include_in_schema=False)
OperationId = Annotated[int, Path(ge=1, le=MAX_ID)]
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
E = TypeVar("E", ComponentStatus, Impact)
RECENT = 50


# Operations ------------------------------------------------------------------------------------


@router.get("/operations")
def operations_page(visitor: AdminDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        found = operations.list_operations(db, visitor.principal, limit=RECENT, before=None)
        return render(
            "admin_operations.html",
            visitor,
            current="admin/operations",
            operations=found,
            import_path=IMPORT_PATH,
        )


@router.post(IMPORT_PATH.removeprefix(PREFIX + "/admin"))
async def upload_import(visitor: AdminDep, request: Request) -> Response:
    """The file as it is (the page's script sends it with its media type and the CSRF header),
    spooled to a temporary file as it arrives, then stored in parts off the event loop."""
    check_csrf_header(request, visitor)
    fmt = IMPORT_TYPES.get(media_type_of(request.headers.get("content-type")))
    if fmt is None:
        raise InvalidInput("send a CSV or JSON-lines file")
    limit = services_of(request).settings.max_upload_bytes
    async with spooled_upload(request, fmt, limit) as spooled:

        def store() -> int:
            with unit_of_work(services_of(request).sessions, write=True) as db:
                upload = operations.Upload(fmt=fmt, chunks=operations.read_chunks(spooled), limit=limit)
                operation = operations.start_import(
                    db, tenant_id=visitor.principal.tenant_id, by=visitor.principal, upload=upload
                )
                db.commit()
                return operation.id

        operation_id = await run_in_threadpool(store)
    # The script follows this to the operation's page.
    return Response(status_code=201, headers={"Location": f"{PREFIX}/admin/operations/{operation_id}"})


@router.post("/exports")
def start_export(visitor: AdminDep, form: FormDep, request: Request) -> Response:
    fmt = text(form, "format", "csv")
    status = text(form, "status")
    try:
        params = ExportParams(format=fmt, filter=BulkFilter(status=[status] if status else []))
    except ValueError as exc:
        raise InvalidInput("the export's format or status is not valid") from exc
    with unit_of_work(services_of(request).sessions, write=True) as db:
        operation = operations.start_export(db, visitor.principal, params)
        db.commit()
        operation_id = operation.id
    return redirect(f"{PREFIX}/admin/operations/{operation_id}")


@router.get("/operations/{operation_id}")
def operation_page(visitor: AdminDep, operation_id: OperationId, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        operation = operations.get_operation(db, visitor.principal, operation_id)
        finished = operation.status in operations.FINISHED
        return render(
            "admin_operation.html",
            visitor,
            current="admin/operations",
            operation=operation,
            finished=finished,
            downloadable=operation.kind == OperationKind.EXPORT and operation.status == "completed",
        )


@router.get("/operations/{operation_id}/file")
def download(visitor: AdminDep, operation_id: OperationId, request: Request) -> Response:
    services = services_of(request)
    with unit_of_work(services.sessions, write=False) as db:
        operation = operations.get_operation(db, visitor.principal, operation_id)
        if operation.kind != OperationKind.EXPORT:
            raise NotFound(f"operation {operation_id} has no file")
        if operation.status != operations.OperationStatus.COMPLETED.value:
            raise Conflict(f"operation {operation_id} is {operation.status}")
        fmt = ExportParams.model_validate(operation.params).format
    return StreamingResponse(
        operations.parts(services.sessions, operation_id),
        media_type="text/csv" if fmt == "csv" else "application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="tickets-{operation_id}.{fmt}"'},
    )


# Webhooks --------------------------------------------------------------------------------------


def _webhooks_page(visitor: Visitor, request: Request, **shown: str) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        found = endpoints.list_endpoints(db, tenant_id=visitor.principal.tenant_id)
        return render(
            "admin_webhooks.html",
            visitor,
            current="admin/webhooks",
            endpoints=found,
            event_types=[t.value for t in EventType],
            shown=shown,
        )


@router.get("/webhooks")
def webhooks_page(visitor: AdminDep, request: Request) -> Response:
    return _webhooks_page(visitor, request)


@router.post("/webhooks")
def create_webhook(visitor: AdminDep, form: FormDep, request: Request) -> Response:
    services = services_of(request)
    events = [v for v in form.getlist("event") if isinstance(v, str)]
    with unit_of_work(services.sessions, write=True) as db:
        endpoint, secret = endpoints.create_endpoint(
            db,
            services.sealer(),
            tenant_id=visitor.principal.tenant_id,
            url=text(form, "url"),
            events=events,
            description=text(form, "description"),
            allow_private=services.settings.webhook_allow_private,
        )
        db.commit()
        endpoint_id = endpoint.id
    return _webhooks_page(visitor, request, endpoint_id=endpoint_id, secret=secret)


@router.post("/webhooks/{endpoint_id}/{action}")
def change_webhook(
    visitor: AdminDep, endpoint_id: Slug, action: Slug, form: FormDep, request: Request
) -> Response:
    services = services_of(request)
    tenant_id = visitor.principal.tenant_id
    with unit_of_work(services.sessions, write=True) as db:
        if action in ("disable", "enable"):
            endpoints.update_endpoint(
                db,
                tenant_id=tenant_id,
                endpoint_id=endpoint_id,
                changes=EndpointChanges(disabled=action == "disable"),
                allow_private=services.settings.webhook_allow_private,
            )
        elif action == "delete":
            endpoints.delete_endpoint(db, tenant_id=tenant_id, endpoint_id=endpoint_id)
        elif action == "redeliver":
            deliveries.redeliver(
                db, tenant_id=tenant_id, endpoint_id=endpoint_id, message_id=text(form, "message")
            )
        else:
            raise NotFound(f"no action {action!r}")
        db.commit()
    return redirect(
        f"{PREFIX}/admin/webhooks" + ("" if action in ("delete", "disable", "enable") else f"/{endpoint_id}")
    )


@router.get("/webhooks/{endpoint_id}")
def webhook_page(visitor: AdminDep, endpoint_id: Slug, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        tenant_id = visitor.principal.tenant_id
        endpoint = endpoints.get_endpoint(db, tenant_id=tenant_id, endpoint_id=endpoint_id)
        log = deliveries.delivery_log(db, tenant_id=tenant_id, endpoint_id=endpoint_id, limit=RECENT)
        return render("admin_webhook.html", visitor, current="admin/webhooks", endpoint=endpoint, log=log)


# The status page -------------------------------------------------------------------------------


@router.get("/status-page")
def status_page_admin(visitor: AdminDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        tenant_id = visitor.principal.tenant_id
        page = status_page.get_page(db, tenant_id)
        components = status_page.list_components(db, tenant_id)
        incidents = status_page.list_incidents(db, tenant_id)
        updates = status_page.updates_of(db, incidents)
        db.rollback()  # get_page may have made the page's row; reading changes nothing
        return render(
            "admin_status_page.html",
            visitor,
            current="admin/status-page",
            page=page,
            components=components,
            incidents=incidents,
            updates=updates,
            component_statuses=[s.value for s in ComponentStatus],
            incident_statuses=[s.value for s in IncidentStatus],
            maintenance_statuses=[s.value for s in MaintenanceStatus],
            impacts=[i.value for i in Impact if i is not Impact.MAINTENANCE],
            public_path=f"/status/{visitor.signed.tenant_slug}",
        )


@router.post("/status-page/{action}")
def status_page_change(visitor: AdminDep, action: Slug, form: FormDep, request: Request) -> Response:
    tenant_id = visitor.principal.tenant_id
    with unit_of_work(services_of(request).sessions, write=True) as db:
        if action == "page":
            status_page.set_page(
                db, tenant_id, published=text(form, "published") == "yes", name=text(form, "name")
            )
        elif action == "component":
            status_page.create_component(
                db, tenant_id, name=text(form, "name"), description=text(form, "description")
            )
        elif action == "component-status":
            status_page.update_component(
                db,
                tenant_id,
                text(form, "component"),
                status=_choice(ComponentStatus, text(form, "status"), "/status"),
            )
        elif action == "incident":
            _open_incident(db, tenant_id, form)
        elif action == "update":
            status_page.add_update(
                db,
                tenant_id,
                text(form, "incident"),
                status=text(form, "status"),
                body=text(form, "body"),
                components=_affected(form),
            )
        else:
            raise NotFound(f"no action {action!r}")
        db.commit()
    return redirect(f"{PREFIX}/admin/status-page")


def _open_incident(db: Session, tenant_id: int, form: FormData) -> None:
    starts, ends = text(form, "scheduled_for"), text(form, "scheduled_until")
    status_page.open_incident(
        db,
        tenant_id,
        name=text(form, "name"),
        body=text(form, "body"),
        impact=_choice(Impact, text(form, "impact", "minor"), "/impact"),
        status=text(form, "status") or ("scheduled" if starts else "investigating"),
        components=_affected(form),
        scheduled_for=_moment(starts, "/scheduled_for"),
        scheduled_until=_moment(ends, "/scheduled_until"),
    )


def _affected(form: FormData) -> dict[str, ComponentStatus]:
    """Component statuses chosen on the form: fields named `component:<id>`; empty means unchanged."""
    chosen = {}
    for name, value in form.multi_items():
        if name.startswith("component:") and isinstance(value, str) and value:
            chosen[name.removeprefix("component:")] = _choice(ComponentStatus, value, f"/{name}")
    return chosen


def _choice(kind: type[E], value: str, pointer: str) -> E:
    try:
        return kind(value)
    except ValueError as exc:
        raise InvalidInput(f"{value!r} is not one of the choices", [FieldError(pointer, value)]) from exc


def _moment(value: str, pointer: str) -> datetime | None:
    """A `datetime-local` field's value, taken as UTC (the form says so)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("not a date and time", [FieldError(pointer, value)]) from exc
    return as_utc(moment)
