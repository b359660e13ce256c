"""OSM's configuration lists: severities and case categories, in the caller's language."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ticketd.faces.huawei.deps import Ctx
from ticketd.faces.huawei.paths import CASES
from ticketd.faces.huawei.views import json_response
from ticketd.faces.huawei.vocabulary import SEVERITIES, SUB_TYPES

router = APIRouter(prefix=f"{CASES}/config")


@router.get("/severities", summary="Querying severities")
def severities(ctx: Ctx) -> Response:
    entries = [
        {"language": ctx.lang, "severity_name": names[ctx.lang], "severity_id": sid}
        for sid, names in SEVERITIES.items()
    ]
    return json_response({"show": True, "severity_list": entries})


@router.get("/categories", summary="Querying service ticket categories")
def categories(ctx: Ctx) -> Response:
    entries = [
        {
            "incident_sub_type_id": sid,
            "incident_sub_type_name": names[ctx.lang],
            "incident_product_category_list": [],
        }
        for sid, names in SUB_TYPES.items()
    ]
    return json_response({"total_count": len(entries), "incident_sub_type_list": entries})
