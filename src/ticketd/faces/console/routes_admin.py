"""Admins' pages for people and credentials: users (create, disable, enable, reset a password),
API keys and AK/SK pairs (created with the secret shown once, revoked), and the tenant's rate
limits and OneCloud service hours. Every lookup is scoped to the admin's own tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ticketd.core import attachments, identity, signing_keys
from ticketd.core.errors import FieldError, InvalidInput, NotFound
from ticketd.core.ids import MAX_ID
from ticketd.core.principal import ALL_SCOPES, DEFAULT_KEY_SCOPES, Role
from ticketd.faces.console.pages import redirect, render
from ticketd.faces.console.paths import PREFIX
from ticketd.faces.console.visitors import AdminDep, FormDep, Visitor, services_of, text
from ticketd.limiting.tenant_limits import set_tenant_limits, tenant_limits
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Tenant, User

router = APIRouter(prefix="/admin", include_in_schema=False)
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
KeyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
LIMITED_FACES = ("native", "wallet", "onecloud", "prioticket", "huawei", "status", "console")
MIN_PASSWORD = 8


def _user(db: Session, visitor: Visitor, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None or user.tenant_id != visitor.principal.tenant_id:
        raise NotFound(f"no user {user_id}")
    return user


def _password(value: str) -> str:
    if len(value) < MIN_PASSWORD or len(value) > 1000:
        raise InvalidInput(
            "the password is not valid", [FieldError("/password", f"{MIN_PASSWORD} to 1000 characters")]
        )
    return value


@router.get("/users")
def users_page(visitor: AdminDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        users = identity.list_users(db, tenant_id=visitor.principal.tenant_id)
        return render(
            "admin_users.html", visitor, current="admin/users", users=users, roles=[r.value for r in Role]
        )


@router.post("/users")
async def create_user(visitor: AdminDep, form: FormDep, request: Request) -> Response:
    username, password = text(form, "username"), _password(str(form.get("password", "")))
    try:
        role = Role(text(form, "role"))
    except ValueError as exc:
        raise InvalidInput("no such role", [FieldError("/role", text(form, "role"))]) from exc
    if not username or len(username) > 200:
        raise InvalidInput("a user needs a name", [FieldError("/username", "1 to 200 characters")])

    def create() -> None:  # the password hash runs here, on a thread
        with unit_of_work(services_of(request).sessions, write=True) as db:
            tenant = db.get(Tenant, visitor.principal.tenant_id)
            assert tenant is not None
            identity.create_user(
                db,
                tenant=tenant,
                username=username,
                role=role,
                password=password,
                display_name=text(form, "display_name")[:200] or None,
                email=text(form, "email")[:320] or None,
            )
            db.commit()

    await run_in_threadpool(create)
    return redirect(f"{PREFIX}/admin/users")


@router.post("/users/{user_id}/disable")
def disable_user(visitor: AdminDep, user_id: UserId, form: FormDep, request: Request) -> Response:
    return _set_disabled(visitor, user_id, request, disabled=True)


@router.post("/users/{user_id}/enable")
def enable_user(visitor: AdminDep, user_id: UserId, form: FormDep, request: Request) -> Response:
    return _set_disabled(visitor, user_id, request, disabled=False)


def _set_disabled(visitor: Visitor, user_id: int, request: Request, *, disabled: bool) -> Response:
    if disabled and user_id == visitor.principal.user_id:
        raise InvalidInput("you cannot disable yourself", [FieldError("/user", "your own account")])
    with unit_of_work(services_of(request).sessions, write=True) as db:
        identity.set_disabled(db, _user(db, visitor, user_id), disabled)
        db.commit()
    return redirect(f"{PREFIX}/admin/users")


@router.post("/users/{user_id}/password")
def reset_password(visitor: AdminDep, user_id: UserId, form: FormDep, request: Request) -> Response:
    # A sync route: FastAPI runs it on a thread, so the hash is off the event loop.
    password = _password(str(form.get("password", "")))
    with unit_of_work(services_of(request).sessions, write=True) as db:
        identity.set_password(db, _user(db, visitor, user_id), password)
        db.commit()
    return redirect(f"{PREFIX}/admin/users")


def _keys_page(visitor: Visitor, request: Request, **shown: str) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        tenant_id = visitor.principal.tenant_id
        users = identity.list_users(db, tenant_id=tenant_id)
        names = {user.id: user.username for user in users}
        return render(
            "admin_keys.html",
            visitor,
            current="admin/keys",
            api_keys=identity.list_api_keys(db, tenant_id=tenant_id),
            access_keys=signing_keys.list_keys(db, tenant_id=tenant_id),
            users=[user for user in users if not user.disabled],
            names=names,
            scopes=sorted(scope.value for scope in ALL_SCOPES),
            default_scopes={scope.value for scope in DEFAULT_KEY_SCOPES},
            shown=shown,
        )


@router.get("/keys")
def keys_page(visitor: AdminDep, request: Request) -> Response:
    return _keys_page(visitor, request)


@router.post("/keys")
def create_key(visitor: AdminDep, form: FormDep, request: Request) -> Response:
    """The secret is on this answer's page and nowhere else, ever (only its digest is stored)."""
    name = text(form, "name")[:200] or "console key"
    scopes = frozenset(v for v in form.getlist("scope") if isinstance(v, str)) or frozenset(
        DEFAULT_KEY_SCOPES
    )
    with unit_of_work(services_of(request).sessions, write=True) as db:
        user = _user(db, visitor, _int(text(form, "user"), "/user"))
        issued = identity.create_api_key(db, user=user, name=name, scopes=scopes)
        db.commit()
        key_id, secret = issued.key.id, issued.secret
    return _keys_page(visitor, request, key_id=key_id, secret=secret)


@router.post("/keys/{key_id}/revoke")
def revoke_key(visitor: AdminDep, key_id: KeyId, form: FormDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=True) as db:
        identity.revoke_api_key(db, key_id=key_id, tenant_id=visitor.principal.tenant_id)
        db.commit()
    return redirect(f"{PREFIX}/admin/keys")


@router.post("/access-keys")
def create_access_key(visitor: AdminDep, form: FormDep, request: Request) -> Response:
    services = services_of(request)
    with unit_of_work(services.sessions, write=True) as db:
        user = _user(db, visitor, _int(text(form, "user"), "/user"))
        pair = signing_keys.create(db, services.sealer(), user=user)
        db.commit()
    return _keys_page(visitor, request, access_key=pair.access_key, secret_key=pair.secret_key)


@router.post("/access-keys/{key_id}/revoke")
def revoke_access_key(visitor: AdminDep, key_id: KeyId, form: FormDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=True) as db:
        signing_keys.revoke(db, access_key=key_id, tenant_id=visitor.principal.tenant_id)
        db.commit()
    return redirect(f"{PREFIX}/admin/keys")


def _int(value: str, pointer: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput("a number is needed", [FieldError(pointer, "not a number")])
    return int(value)


@router.get("/limits")
def limits_page(visitor: AdminDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        tenant = db.get(Tenant, visitor.principal.tenant_id)
        assert tenant is not None
        rows = {row.face: row for row in tenant_limits(db, tenant)}
        storage = attachments.storage_use(db, tenant.id, attachments.Limits.of(services_of(request).settings))
        return render(
            "admin_limits.html",
            visitor,
            current="admin/limits",
            faces=LIMITED_FACES,
            rows=rows,
            storage=storage,
            storage_percent=min(100, round(100 * storage.used / storage.quota)) if storage.quota else 100,
        )


@router.post("/limits")
def set_limits(visitor: AdminDep, form: FormDep, request: Request) -> Response:
    face = text(form, "face")
    if face not in LIMITED_FACES:
        raise InvalidInput("no such face", [FieldError("/face", face)])
    allowance = text(form, "daily_allowance")
    with unit_of_work(services_of(request).sessions, write=True) as db:
        tenant = db.get(Tenant, visitor.principal.tenant_id)
        assert tenant is not None
        set_tenant_limits(
            db,
            tenant,
            face,
            credential=text(form, "credential") or None,
            ip=text(form, "ip") or None,
            service_hours=(text(form, "service_hours") or None) if face == "onecloud" else None,
            daily_allowance=_int(allowance, "/daily_allowance") if allowance else None,
        )
        db.commit()
    return redirect(f"{PREFIX}/admin/limits")
