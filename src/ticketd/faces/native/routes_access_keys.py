"""Access keys (AK/SK pairs, for requests signed as the Huawei SDK signs them), for admins: list
them and revoke one. A revoked pair's signatures are refused from the next request on."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter

from ticketd.core import signing_keys
from ticketd.faces.native.deps import Admin, ReadDb, WriteDb
from ticketd.faces.native.responses import PROBLEM_RESPONSES, json_list_response, json_response
from ticketd.store.tables import SigningKey

router = APIRouter(prefix="/access-keys", tags=["access keys"], responses=PROBLEM_RESPONSES)
AccessKey = Annotated[str, Path(min_length=1, max_length=64, description="The access key (AK).")]


class AccessKeyOut(BaseModel):
    access_key: str
    user_id: int
    created_at: datetime
    revoked_at: datetime | None


ACCESS_KEYS = TypeAdapter(list[AccessKeyOut])


def access_key_out(key: SigningKey) -> AccessKeyOut:
    return AccessKeyOut(
        access_key=key.access_key, user_id=key.user_id, created_at=key.created_at, revoked_at=key.revoked_at
    )


@router.get(
    "", response_model=list[AccessKeyOut], summary="List the tenant's access keys (never their secrets)"
)
def list_access_keys(principal: Admin, db: ReadDb) -> Response:
    keys = signing_keys.list_keys(db, tenant_id=principal.tenant_id)
    return json_list_response(ACCESS_KEYS, [access_key_out(key) for key in keys])


@router.post("/{access_key}/revoke", response_model=AccessKeyOut, summary="Revoke an access key")
def revoke_access_key(access_key: AccessKey, principal: Admin, db: WriteDb) -> Response:
    key = signing_keys.revoke(db, access_key=access_key, tenant_id=principal.tenant_id)
    db.commit()
    return json_response(access_key_out(key))
