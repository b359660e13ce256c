"""The OSM case API and the IAM token API, at Huawei Cloud's paths."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from ticketd.core import tickets
from ticketd.core.clock import utcnow
from ticketd.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from ticketd.core.identity import users_by_id
from ticketd.core.lifecycle import Status
from ticketd.core.passwords import verify_password
from ticketd.core.principal import Principal
from ticketd.faces.huawei import iam
from ticketd.faces.huawei.auth import HuaweiAuth
from ticketd.faces.huawei.errors import CASE_NOT_FOUND, JSON, PARAM_INVALID, error_response, rate_limited
from ticketd.faces.huawei.times import local, zone_of
from ticketd.faces.huawei.vocabulary import (
    BUSINESS_TYPES,
    SEVERITIES,
    STATUS_CODES,
    STATUS_OF_CODE,
    SUB_TYPES,
    language,
    name,
)
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Comment, Label, Tenant, Ticket, TicketEvent, User
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services

log = logging.getLogger(__name__)

CASES = "/v2/servicerequest"
PREFIXES = ("/v2/servicerequest", "/v3/auth")
ACTIONS = {"confirm", "cancel", "close", "reopen"}
OPERATE_TYPES = {
    "created": 1,
    "field_changed": 2,
    "status_changed": 3,
    "reopened": 4,
    "commented": 5,
    "deleted": 6,
}


class Context:
    """What every OSM request carries: the caller, the display language and the time zone."""

    def __init__(self, principal: Principal, lang: str, zone: tzinfo) -> None:
        self.principal = principal
        self.lang = lang
        self.zone = zone

    def time(self, value: datetime | None) -> str | None:
        return local(value, self.zone)


async def _context(
    request: Request,
    x_language: Annotated[str | None, Header(min_length=1, max_length=32)] = None,
    x_time_zone: Annotated[str | None, Header(min_length=1, max_length=32)] = None,
) -> Context:
    zone = zone_of(x_time_zone)
    if zone is None:
        raise InvalidInput("X-Time-Zone names no time zone")
    auth: HuaweiAuth = request.app.state.auth
    headers = {k.lower(): v for k, v in request.headers.items()}
    body = await request.body()
    principal = auth.principal(request.method, request.url.path, request.url.query, headers, body)
    await admit(request.scope, principal)
    return Context(principal, language(x_language), zone)


def _session(request: Request) -> Iterator[Session]:
    services: Services = request.app.state.services
    with unit_of_work(services.sessions, write=True) as db:
        yield db


Ctx = Annotated[Context, Depends(_context)]
Db = Annotated[Session, Depends(_session)]
CaseId = Annotated[str, Field(min_length=1, max_length=64)]
# OSM's paging parameters, the same on every list.
Offset = Annotated[int, Query(ge=0, le=65535)]
Limit = Annotated[int, Query(ge=0, le=100)]


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    business_type_id: str = Field(min_length=1, max_length=64)
    simple_description: str = Field(min_length=1, max_length=2000)
    incident_sub_type_id: str | None = Field(default=None, max_length=64)
    product_category_id: str | None = Field(default=None, max_length=64)
    region_id: str | None = Field(default=None, max_length=64)
    project_id: str | None = Field(default=None, max_length=64)
    severity_id: str | None = Field(default=None, max_length=64)
    source_id: str | None = Field(default=None, max_length=64)
    remind_mobile: str | None = Field(default=None, max_length=32)
    remind_mail: str | None = Field(default=None, max_length=254)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    class Content(BaseModel):
        content: str = Field(min_length=1, max_length=10_000)
        accessory_ids: list[str] | None = None

    message: Content
    group_id: str | None = None


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=64)
    color: str = Field(min_length=1, max_length=16)


def build_huawei_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Huawei Cloud OSM service tickets (ticketd)",
        version="2",
        description="OSM cases and the IAM token API as ticketd serves them. See docs/faces/huawei.md.",
        openapi_url=f"{CASES}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.state.auth = HuaweiAuth(services)
    _install_error_handlers(app)

    @app.post("/v3/auth/tokens", status_code=201, summary="Obtain an IAM user token (password)")
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
        with unit_of_work(services.sessions, write=False) as db:
            found = db.execute(
                select(User, Tenant)
                .join(Tenant, Tenant.id == User.tenant_id)
                .where(Tenant.slug == domain_name, User.username == username)
            ).one_or_none()
            user, tenant = found if found else (None, None)
            ok = verify_password(user.password_hash if user else None, password)
            if user is None or tenant is None or not ok or user.disabled:
                raise Unauthenticated("the user name, password or domain is wrong")
            now = utcnow()
            token = iam.issue(
                app.state.auth.token_secret,
                user_id=user.id,
                domain_id=tenant.id,
                credential_version=user.credential_version,
                now=now,
            )
            domain = {"id": str(tenant.id), "name": tenant.slug}
            body = {
                "token": {
                    "expires_at": _iso(now + iam.TTL),
                    "issued_at": _iso(now),
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
        return Response(orjson.dumps(body), 201, {"X-Subject-Token": token}, media_type=JSON)

    @app.get(f"{CASES}/cases/{{case_id}}/status", summary="Querying Service Ticket Status")
    def case_status(case_id: str, ctx: Ctx, db: Db) -> Response:
        ticket = _case(db, ctx, case_id)
        return _json({"status": STATUS_CODES[ticket.status]})

    @app.post(f"{CASES}/cases", summary="Creating a service ticket")
    def create_case(body: CaseIn, ctx: Ctx, db: Db) -> Response:
        if body.business_type_id not in BUSINESS_TYPES:
            raise InvalidInput("business_type_id is not a known business type")
        if body.severity_id and body.severity_id not in SEVERITIES:
            raise InvalidInput("severity_id is not a known severity")
        values: dict[str, Any] = {
            "subject": body.simple_description[:500],
            "simple_description": body.simple_description[:500],
            "content": body.simple_description,
            "business_type": body.business_type_id,
            "sub_type": body.incident_sub_type_id,
            "region": body.region_id,
            "project": body.project_id,
            "severity": body.severity_id,
            "contact": body.remind_mail,
            "custom_fields": {
                k: v
                for k, v in {
                    "product_category_id": body.product_category_id,
                    "source_id": body.source_id,
                    "remind_mobile": body.remind_mobile,
                }.items()
                if v
            },
        }
        if not ctx.principal.is_customer:
            values["priority"] = SEVERITIES[body.severity_id or "2"]["priority"]
            values["channel"] = "api"
        else:
            values = {k: v for k, v in values.items() if k in tickets.CUSTOMER_FIELDS}
            values["description"] = body.simple_description
        ticket = tickets.create_ticket(db, ctx.principal, tickets.Changes(values=values))
        if ctx.principal.is_customer:
            # Classification a customer gives is recorded by the service on their behalf.
            ticket.business_type, ticket.sub_type, ticket.simple_description = (
                body.business_type_id,
                body.incident_sub_type_id,
                body.simple_description[:500],
            )
            ticket.severity, ticket.region, ticket.project = body.severity_id, body.region_id, body.project_id
        db.commit()
        return _json({"incident_id": str(ticket.id)})

    @app.get(f"{CASES}/cases", summary="Querying the service ticket list")
    def list_cases(
        ctx: Ctx,
        db: Db,
        search_key: Annotated[list[str] | None, Query(max_length=10)] = None,
        label_id_list: Annotated[list[str] | None, Query(max_length=50)] = None,
        incident_id: Annotated[str | None, Query(max_length=64)] = None,
        query_start_time: Annotated[str | None, Query(max_length=32)] = None,
        query_end_time: Annotated[str | None, Query(max_length=32)] = None,
        status: Annotated[int | None, Query(ge=0, le=20)] = None,
        incident_status: Annotated[str | None, Query(max_length=64)] = None,
        group_id: Annotated[str | None, Query(max_length=64)] = None,
        offset: Offset = 0,
        limit: Limit = 10,
    ) -> Response:
        conditions = tickets.visible_conditions(ctx.principal)
        if incident_id:
            conditions.append(Ticket.id == _case_number(incident_id))
        statuses = [status] if status is not None else []
        if incident_status:
            statuses += [_int(part, "incident_status") for part in incident_status.split(",") if part.strip()]
        if statuses:
            conditions.append(Ticket.status.in_([STATUS_OF_CODE.get(code, "") for code in statuses]))
        for key in search_key or []:
            pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(
                Ticket.simple_description.ilike(pattern, escape="\\")
                | Ticket.subject.ilike(pattern, escape="\\")
            )
        if query_start_time:
            conditions.append(Ticket.created_at >= _time(query_start_time, ctx, "query_start_time"))
        if query_end_time:
            conditions.append(Ticket.created_at <= _time(query_end_time, ctx, "query_end_time"))
        query = select(Ticket).where(*conditions).order_by(Ticket.id.desc())
        if label_id_list:
            # Labels live in a JSON list, which SQLite and PostgreSQL cannot index alike: this filter is
            # applied in Python over the other filters' result.
            wanted = {label for item in label_id_list for label in item.split(",") if label}
            matching = [t for t in db.scalars(query) if wanted & set(t.labels)]
            total, page = len(matching), matching[offset : offset + limit]
        else:
            total = db.scalar(select(func.count()).select_from(Ticket).where(*conditions)) or 0
            page = list(db.scalars(query.offset(offset).limit(limit)))
        labels = _labels(db, ctx.principal.tenant_id)
        return _json({"total_count": total, "incident_info_list": [_case_info(t, ctx, labels) for t in page]})

    @app.get(f"{CASES}/cases/count", summary="Querying the number of service tickets by status")
    def count_cases(ctx: Ctx, db: Db, status: Annotated[int | None, Query(ge=0, le=20)] = None) -> Response:
        conditions = tickets.visible_conditions(ctx.principal)
        query = select(Ticket.status, func.count()).where(*conditions).group_by(Ticket.status)
        counts = {row[0]: row[1] for row in db.execute(query)}
        entries = [{"status": code, "count": counts.get(state, 0)} for state, code in STATUS_CODES.items()]
        if status is not None:
            entries = [entry for entry in entries if entry["status"] == status]
        return _json({"incident_status_counts": entries})

    @app.get(f"{CASES}/cases/{{case_id}}", summary="Querying service ticket details")
    def case_detail(case_id: str, ctx: Ctx, db: Db) -> Response:
        ticket = _case(db, ctx, case_id)
        comments = tickets.list_comments(db, ctx.principal, ticket.id)
        people = users_by_id(db, {c.author_id for c in comments} | {ticket.requester_id})
        messages = [_message(c, ctx, people, first=i == 0, detail=True) for i, c in enumerate(comments)]
        resolve = int((ticket.closed_at - ticket.created_at).total_seconds()) if ticket.closed_at else None
        detail = {
            "xcustomer_id": None,
            "xcustomer_name": None,
            "status": STATUS_CODES[ticket.status],
            "judgement": None,
            "incident_id": str(ticket.id),
            "business_type_name": name(BUSINESS_TYPES, ticket.business_type, ctx.lang),
            "incident_type_name": name(SUB_TYPES, ticket.sub_type, ctx.lang),
            "customer_id": str(ticket.requester_id) if ticket.requester_id else None,
            "dc_name": None,
            "simple_description": ticket.simple_description or ticket.subject,
            "source_name": ticket.channel,
            "create_time": ctx.time(ticket.created_at),
            "message_list": messages,
            "incident_satisfaction": [],
            "severity_name": name(SEVERITIES, ticket.severity, ctx.lang),
            "business_ownership": 1,
            "resolve_time": resolve,
        }
        return _json({"incident_detail_info": detail})

    @app.get(f"{CASES}/cases/{{case_id}}/messages", summary="Querying messages")
    def list_messages(
        case_id: str,
        ctx: Ctx,
        db: Db,
        offset: Offset = 0,
        limit: Limit = 10,
        group_id: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:
        ticket = _case(db, ctx, case_id)
        comments = tickets.list_comments(db, ctx.principal, ticket.id)
        people = users_by_id(db, {c.author_id for c in comments})
        page = comments[offset : offset + limit]
        messages = [_message(c, ctx, people, first=c is comments[0], detail=False) for c in page]
        return _json({"count": len(comments), "message_list": messages})

    @app.post(f"{CASES}/cases/{{case_id}}/message", summary="Leaving a message")
    def create_message(case_id: str, body: MessageIn, ctx: Ctx, db: Db) -> Response:
        ticket = _case(db, ctx, case_id)
        tickets.add_comment(db, ctx.principal, ticket.id, body=body.message.content, public=True)
        db.commit()
        return _json({})

    @app.post(f"{CASES}/cases/{{case_id}}/action", summary="Operating a service ticket")
    def operate(
        case_id: str, ctx: Ctx, db: Db, action_id: Annotated[str, Query(min_length=1, max_length=32)]
    ) -> Response:
        ticket = _case(db, ctx, case_id)
        if action_id not in ACTIONS:
            raise InvalidInput(f"action_id must be one of {', '.join(sorted(ACTIONS))}")
        if action_id == "reopen":
            tickets.transition(db, ctx.principal, ticket.id, Status.OPEN, reopen=True)
        elif action_id == "confirm":
            # The customer confirms the solution: "to be confirmed" becomes "completed".
            if ticket.status != Status.SOLVED.value:
                raise InvalidTransition(ticket.status, Status.CLOSED.value)
            tickets.transition(db, ctx.principal, ticket.id, Status.CLOSED)
        else:
            target = Status.CANCELED if action_id == "cancel" else Status.CLOSED
            tickets.transition(db, ctx.principal, ticket.id, target)
        db.commit()
        return _json({})

    @app.get(f"{CASES}/cases/{{case_id}}/operate-logs", summary="Querying operation logs")
    def operate_logs(
        case_id: str,
        ctx: Ctx,
        db: Db,
        offset: Offset = 0,
        limit: Limit = 10,
        group_id: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:
        ticket = _case(db, ctx, case_id)
        events = tickets.list_events(db, ctx.principal, ticket.id)
        people = users_by_id(db, {e.actor_id for e in events})
        page = events[offset : offset + limit]
        return _json(
            {"total_count": len(events), "incident_operate_log_list": [_log(e, ctx, people) for e in page]}
        )

    @app.get(f"{CASES}/labels", summary="Querying labels")
    def list_labels(
        ctx: Ctx,
        db: Db,
        offset: Offset = 0,
        limit: Limit = 10,
        name_filter: Annotated[str | None, Query(alias="name", max_length=64)] = None,
        label_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    ) -> Response:
        rows = [
            label
            for label in _labels(db, ctx.principal.tenant_id).values()
            if (name_filter is None or name_filter in label.name)
            and (label_id is None or label.id == label_id)
        ]
        page = rows[offset : offset + limit]
        return _json({"total_count": len(rows), "label_list": [_label(label) for label in page]})

    @app.post(f"{CASES}/labels", summary="Creating a label")
    def create_label(body: LabelIn, ctx: Ctx, db: Db) -> Response:
        if ctx.principal.is_customer:
            raise Forbidden("customers cannot create labels")
        if any(label.name == body.name for label in _labels(db, ctx.principal.tenant_id).values()):
            raise InvalidInput("a label with this name exists")
        db.add(Label(tenant_id=ctx.principal.tenant_id, name=body.name, color=body.color))
        db.commit()
        return _json({})

    @app.get(f"{CASES}/cases/{{case_id}}/labels", summary="Querying a case's labels")
    def case_labels(case_id: str, ctx: Ctx, db: Db) -> Response:
        ticket = _case(db, ctx, case_id)
        labels = _labels(db, ctx.principal.tenant_id)
        return _json({"case_label_list": [_label(labels[i]) for i in ticket.labels if i in labels]})

    @app.post(f"{CASES}/cases/{{case_id}}/labels", summary="Adding labels to a case")
    def add_case_labels(
        case_id: str, ctx: Ctx, db: Db, label_ids: Annotated[str, Query(min_length=1, max_length=1000)]
    ) -> Response:
        return _change_labels(db, ctx, case_id, label_ids, add=True)

    @app.delete(f"{CASES}/cases/{{case_id}}/labels", summary="Removing labels from a case")
    def remove_case_labels(
        case_id: str, ctx: Ctx, db: Db, label_ids: Annotated[str, Query(min_length=1, max_length=1000)]
    ) -> Response:
        return _change_labels(db, ctx, case_id, label_ids, add=False)

    @app.get(f"{CASES}/config/severities", summary="Querying severities")
    def severities(ctx: Ctx) -> Response:
        entries = [
            {"language": ctx.lang, "severity_name": names[ctx.lang], "severity_id": sid}
            for sid, names in SEVERITIES.items()
        ]
        return _json({"show": True, "severity_list": entries})

    @app.get(f"{CASES}/config/categories", summary="Querying service ticket categories")
    def categories(ctx: Ctx) -> Response:
        entries = [
            {
                "incident_sub_type_id": sid,
                "incident_sub_type_name": names[ctx.lang],
                "incident_product_category_list": [],
            }
            for sid, names in SUB_TYPES.items()
        ]
        return _json({"total_count": len(entries), "incident_sub_type_list": entries})

    return app


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type=JSON)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "000Z"


def _case_number(case_id: str) -> int:
    if not case_id.isdecimal() or len(case_id) > 18:
        raise NotFound("no such case")
    return int(case_id)


def _case(db: Session, ctx: Context, case_id: str) -> Ticket:
    if not 1 <= len(case_id) <= 64:
        raise InvalidInput("case_id must be 1 to 64 characters")
    return tickets.get_ticket(db, ctx.principal, _case_number(case_id))


def _int(text: str, field: str) -> int:
    if not text.strip().isdecimal():
        raise InvalidInput(f"{field} must list status numbers")
    return int(text)


def _time(text: str, ctx: Context, field: str) -> datetime:
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=ctx.zone)
        except ValueError:
            continue
    raise InvalidInput(f"{field} must be a time such as 2026-01-31 08:00:00")


def _labels(db: Session, tenant_id: int) -> dict[str, Label]:
    return {
        str(label.id): label
        for label in db.scalars(select(Label).where(Label.tenant_id == tenant_id).order_by(Label.id))
    }


def _label(label: Label) -> dict[str, Any]:
    return {"label_id": label.id, "name": label.name, "color": label.color}


def _case_info(ticket: Ticket, ctx: Context, labels: dict[str, Label]) -> dict[str, Any]:
    return {
        "xcustomer_id": None,
        "xcustomer_name": None,
        "status": STATUS_CODES[ticket.status],
        "incident_id": str(ticket.id),
        "business_type_name": name(BUSINESS_TYPES, ticket.business_type, ctx.lang),
        "incident_type_name": name(SUB_TYPES, ticket.sub_type, ctx.lang),
        "product_category_name": None,
        "incident_service_type": None,
        "customer_id": str(ticket.requester_id) if ticket.requester_id else None,
        "dc_name": None,
        "simple_description": ticket.simple_description or ticket.subject,
        "root_cause": None,
        "resolution": ticket.solution,
        "create_time": ctx.time(ticket.created_at),
        "confirmed_time": ctx.time(ticket.closed_at) if ticket.status == Status.CLOSED.value else None,
        "label_list": [_label(labels[i]) for i in ticket.labels if i in labels],
    }


def _message(
    comment: Comment, ctx: Context, people: dict[int, User], *, first: bool, detail: bool
) -> dict[str, Any]:
    author = people.get(comment.author_id or 0)
    from_customer = author is None or author.role == "customer"
    entry: dict[str, Any] = {
        "type": 0 if from_customer else 1,
        "replier": str(comment.author_id) if comment.author_id else None,
        "content": comment.body,
        "create_time": ctx.time(comment.created_at),
        "replier_name": author.display_name if author else None,
        "is_first_message": 1 if first else 0,
        "accessory_list": [],
    }
    if detail:
        entry["message_id"] = str(comment.id)
    else:
        entry["replier_type"] = 0 if from_customer else 1
        entry["iam_user_type"] = 1
    return entry


def _log(event: TicketEvent, ctx: Context, people: dict[int, User]) -> dict[str, Any]:
    actor = people.get(event.actor_id or 0)
    what = event.field or event.kind
    desc = f"{event.kind} {what}: {event.old_value!s} -> {event.new_value!s}" if event.field else event.kind
    return {
        "incident_log_id": str(event.id),
        "incident_id": str(event.ticket_id),
        "operate_type": OPERATE_TYPES.get(event.kind, 0),
        "operator_type": 0 if actor and actor.role == "customer" else 1,
        "operator_id": str(event.actor_id) if event.actor_id else None,
        "operator_name": actor.display_name if actor else None,
        "operate_desc": desc,
        "operate_time": ctx.time(event.at),
        "timestamp_operate_time": ctx.time(event.at),
    }


def _change_labels(db: Session, ctx: Context, case_id: str, label_ids: str, *, add: bool) -> Response:
    ticket = _case(db, ctx, case_id)
    if ctx.principal.is_customer:
        raise Forbidden("customers cannot label cases")
    labels = _labels(db, ctx.principal.tenant_id)
    wanted = [part.strip() for part in label_ids.split(",") if part.strip()]
    unknown = [i for i in wanted if i not in labels]
    if unknown:
        raise InvalidInput(f"unknown labels: {', '.join(unknown)}")
    current = list(ticket.labels)
    updated = sorted(set(current) | set(wanted), key=int) if add else [i for i in current if i not in wanted]
    tickets.update_ticket(db, ctx.principal, ticket.id, tickets.Changes(values={"labels": updated}))
    db.commit()
    return _json({})


def _install_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RateLimited):
            return rate_limited(exc)
        if isinstance(exc, Unauthenticated):
            return error_response(
                401, "APIGW.0301", f"Incorrect IAM authentication information: {exc.message}"
            )
        if isinstance(exc, Forbidden):
            return error_response(403, "OSM.0003", exc.message)
        if isinstance(exc, NotFound):
            return error_response(404, *CASE_NOT_FOUND)
        if isinstance(exc, InvalidTransition):
            return error_response(
                400, "OSM.01040002", f"The case cannot be operated in its current status: {exc.message}"
            )
        if isinstance(exc, InvalidInput):
            return error_response(400, PARAM_INVALID[0], f"{PARAM_INVALID[1]} {exc.message}")
        if isinstance(exc, RequestValidationError | ValidationError):
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            return error_response(400, PARAM_INVALID[0], f"{PARAM_INVALID[1]} {problems}")
        if isinstance(exc, DomainError):
            return error_response(400, "OSM.0001", exc.message)
        if isinstance(exc, HTTPException):
            return error_response(exc.status_code)
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500)

    for kind in (DomainError, RequestValidationError, ValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, handle)
