"""Tenants, users and API keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core import api_keys
from ticketd.core.clock import utcnow
from ticketd.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from ticketd.core.passwords import CHECKS, hash_password
from ticketd.core.principal import ALL_SCOPES, DEFAULT_KEY_SCOPES, Role
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import ApiKey, Tenant, User


def create_tenant(db: Session, *, slug: str, name: str) -> Tenant:
    tenant = Tenant(slug=slug, name=name, created_at=utcnow())
    db.add(tenant)
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict(f"tenant {slug!r} already exists") from exc
    return tenant


def tenant_by_slug(db: Session, slug: str) -> Tenant:
    tenant = db.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}")
    return tenant


def create_user(
    db: Session,
    *,
    tenant: Tenant,
    username: str,
    role: Role,
    password: str | None,
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    user = User(
        tenant_id=tenant.id,
        username=username,
        email=email,
        display_name=display_name or username,
        role=role.value,
        password_hash=hash_password(password) if password else None,
        disabled=False,
        credential_version=1,
        created_at=utcnow(),
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict(f"user {username!r} already exists in tenant {tenant.slug!r}") from exc
    return user


def user_by_username(db: Session, *, tenant_id: int, username: str) -> User | None:
    return db.scalar(select(User).where(User.tenant_id == tenant_id, User.username == username))


def list_users(db: Session, *, tenant_id: int) -> list[User]:
    return list(db.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.username)))


def list_staff(db: Session, *, tenant_id: int) -> list[User]:
    """The tenant's admins and agents, enabled ones, by user name (whom a ticket may be assigned)."""
    query = select(User).where(
        User.tenant_id == tenant_id, User.role != Role.CUSTOMER.value, User.disabled.is_(False)
    )
    return list(db.scalars(query.order_by(User.username)))


def users_by_id(db: Session, ids: Iterable[int | None]) -> dict[int, User]:
    """The users among these ids (None skipped), for showing names next to ids."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {user.id: user for user in db.scalars(select(User).where(User.id.in_(wanted)))}


def login(sessions: sessionmaker[Session], *, tenant_slug: str, username: str, password: str) -> User:
    """Checks a password. Every failure reads the same, so a caller cannot probe for names.

    The user is read in a short read transaction, and the password checked after it has ended: no
    connection, lock or transaction is held across the hash (core/passwords.PasswordChecks).
    """
    with unit_of_work(sessions, write=False) as db:
        tenant = db.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
        user = user_by_username(db, tenant_id=tenant.id, username=username) if tenant else None
    return _checked(user, password)


def login_by_email(sessions: sessionmaker[Session], *, site_id: str, email: str, password: str) -> User:
    """A login by e-mail address within a tenant named by its numeric id (the vendors' "site")."""
    tenant_id = int(site_id) if site_id.isdecimal() and len(site_id) < 18 else None
    with unit_of_work(sessions, write=False) as db:
        user = (
            db.scalar(select(User).where(User.tenant_id == tenant_id, User.email == email))
            if tenant_id
            else None
        )
    return _checked(user, password)


def _checked(user: User | None, password: str) -> User:
    ok = CHECKS.verify(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        raise Unauthenticated("unknown user, wrong password, or disabled account")
    return user


def set_password(db: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.credential_version += 1
    db.flush()


def set_disabled(db: Session, user: User, disabled: bool) -> None:
    user.disabled = disabled
    user.credential_version += 1
    db.flush()


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str


def create_api_key(
    db: Session,
    *,
    user: User,
    name: str,
    scopes: frozenset[str] = frozenset(DEFAULT_KEY_SCOPES),
    expires_at: datetime | None = None,
    fixed: api_keys.NewKey | None = None,
) -> IssuedKey:
    unknown = set(scopes) - {scope.value for scope in ALL_SCOPES}
    if unknown:
        raise InvalidInput(f"unknown scopes: {', '.join(sorted(unknown))}")
    new = fixed or api_keys.generate_key()
    key = ApiKey(
        id=new.key_id,
        tenant_id=user.tenant_id,
        user_id=user.id,
        name=name,
        secret_digest=api_keys.secret_digest(new.secret),
        scopes=" ".join(sorted(scopes)),
        created_at=utcnow(),
        expires_at=expires_at,
        revoked_at=None,
    )
    db.add(key)
    db.flush()
    return IssuedKey(key=key, secret=new.secret)


def list_api_keys(db: Session, *, tenant_id: int) -> list[ApiKey]:
    return list(db.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)))


def revoke_api_key(db: Session, *, key_id: str, tenant_id: int | None = None) -> ApiKey:
    """`tenant_id` scopes the lookup (an admin in the console); None for an operator's command."""
    key = db.get(ApiKey, key_id)
    if key is None or (tenant_id is not None and key.tenant_id != tenant_id):
        raise NotFound(f"no API key {key_id!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.flush()
    return key
