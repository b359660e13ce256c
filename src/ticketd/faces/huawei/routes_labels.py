"""OSM labels: the tenant's labels, and the labels on a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ticketd.core import labels as label_rules
from ticketd.core.ids import MAX_ID
from ticketd.core.labels import labels_of, tenant_labels
from ticketd.core.paging import page_of_list
from ticketd.faces.huawei.deps import Ctx, Db, Limit, Offset, visible_case
from ticketd.faces.huawei.paths import CASES
from ticketd.faces.huawei.schemas import LabelIn
from ticketd.faces.huawei.views import json_response, label_out

router = APIRouter(prefix=CASES)
LabelIds = Annotated[str, Query(min_length=1, max_length=1000)]


@router.get("/labels", summary="Querying labels")
def list_labels(
    ctx: Ctx,
    db: Db,
    offset: Offset = 0,
    limit: Limit = 10,
    name_filter: Annotated[str | None, Query(alias="name", max_length=64)] = None,
    label_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> Response:
    rows = [
        label
        for label in tenant_labels(db, ctx.principal.tenant_id).values()
        if (name_filter is None or name_filter in label.name) and (label_id is None or label.id == label_id)
    ]
    page = page_of_list(rows, offset=offset, limit=limit)
    return json_response(
        {"total_count": page.total, "label_list": [label_out(label) for label in page.items]}
    )


@router.post("/labels", summary="Creating a label")
def create_label(body: LabelIn, ctx: Ctx, db: Db) -> Response:
    label_rules.create_label(db, ctx.principal, name=body.name, color=body.color)
    db.commit()
    return json_response({})


@router.get("/cases/{case_id}/labels", summary="Querying a case's labels")
def case_labels(case_id: str, ctx: Ctx, db: Db) -> Response:
    ticket = visible_case(db, ctx, case_id)
    labels = tenant_labels(db, ctx.principal.tenant_id)
    return json_response({"case_label_list": [label_out(label) for label in labels_of(ticket, labels)]})


@router.post("/cases/{case_id}/labels", summary="Adding labels to a case")
def add_case_labels(case_id: str, ctx: Ctx, db: Db, label_ids: LabelIds) -> Response:
    return _change(db, ctx, case_id, label_ids, add=True)


@router.delete("/cases/{case_id}/labels", summary="Removing labels from a case")
def remove_case_labels(case_id: str, ctx: Ctx, db: Db, label_ids: LabelIds) -> Response:
    return _change(db, ctx, case_id, label_ids, add=False)


def _change(db: Db, ctx: Ctx, case_id: str, label_ids: str, *, add: bool) -> Response:
    ticket = visible_case(db, ctx, case_id)
    label_rules.change_ticket_labels(
        db, ctx.principal, ticket.id, (part.strip() for part in label_ids.split(",")), add=add
    )
    db.commit()
    return json_response({})
