"""A demo tenant with realistic tickets in every status, users of each role and credentials.

Running it again changes nothing and prints the same credentials: they are derived from a seed
generated once into the store, so they are stable for this installation and unknown elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core import identity, signing_keys, status_page, tickets
from ticketd.core.api_keys import KEY_ID_PREFIX, NewKey
from ticketd.core.lifecycle import Status
from ticketd.core.principal import ALL_SCOPES, Principal, Role
from ticketd.core.signing_keys import AccessKeyPair, Sealer
from ticketd.store.tables import ApiKey, ServerSecret, SigningKey, StatusPage, Tenant, Ticket, User

DEMO_TENANT = "demo"
SEED_NAME = "demo-seed"

USERS: list[tuple[str, Role, str]] = [
    ("admin", Role.ADMIN, "Ada Admin"),
    ("agent", Role.AGENT, "Alex Agent"),
    ("agent2", Role.AGENT, "Sam Support"),
    ("customer", Role.CUSTOMER, "Casey Customer"),
    ("customer2", Role.CUSTOMER, "Robin Requester"),
]

SUBJECTS = [
    ("Cannot log in to the portal", "incident", "high", "Access"),
    ("Invoice shows the wrong VAT rate", "problem", "normal", "Billing"),
    ("Request a new laptop for onboarding", "request", "normal", "Hardware"),
    ("VPN drops every ten minutes", "incident", "urgent", "Network"),
    ("How do I export my reports?", "question", "low", "Reporting"),
    ("Printer on floor 3 jams", "incident", "low", "Hardware"),
    ("Add a user to the finance group", "task", "normal", "Access"),
    ("Email bounces from partner domain", "problem", "high", "Email"),
    ("Dashboard loads slowly in the morning", "problem", "normal", "Performance"),
    ("Reset two-factor authentication", "request", "high", "Access"),
    ("Brochure for the spring campaign", "question", "low", "Marketing"),
    ("Sync between CRM and helpdesk failed", "incident", "urgent", "Integrations"),
]

# The path each demo ticket takes through the lifecycle, so every status is represented.
PATHS: list[list[Status]] = [
    [],
    [Status.OPEN],
    [Status.OPEN, Status.PENDING],
    [Status.OPEN, Status.SOLVED],
    [Status.OPEN, Status.SOLVED, Status.CLOSED],
    [Status.CANCELED],
    [Status.INVALID],
]


@dataclass(frozen=True)
class DemoCredentials:
    tenant: str
    tenant_id: int
    passwords: dict[str, str]
    api_key_id: str
    api_key_secret: str
    ticket_ids: list[int]
    access_key: str
    secret_key: str


def derive(seed: str, purpose: str, length: int = 24) -> str:
    digest = hmac.new(seed.encode(), purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def ensure_demo(db: Session, server_key: str) -> DemoCredentials:
    sealer = Sealer(server_key)
    # Derived from the server's key, which the store does not hold, so a copy of the database gives
    # away none of the demo's credentials. (Demo tenants made before keep the seed they were made
    # with, kept in the store then.)
    stored = db.get(ServerSecret, SEED_NAME)
    seed = stored.value if stored is not None else derive(server_key, "demo-seed", 43)
    passwords = {name: derive(seed, f"password:{name}", 16) for name, _, _ in USERS}
    key = NewKey(
        key_id=KEY_ID_PREFIX + "demo" + derive(seed, "key-id", 8).lower(),
        secret=derive(seed, "key-secret", 43),
    )
    tenant = db.scalar(select(Tenant).where(Tenant.slug == DEMO_TENANT))
    if tenant is None:
        tenant = identity.create_tenant(db, slug=DEMO_TENANT, name="Demo Organisation")
    users: dict[str, User] = {}
    for name, role, display in USERS:
        user = identity.user_by_username(db, tenant_id=tenant.id, username=name)
        if user is None:
            user = identity.create_user(
                db,
                tenant=tenant,
                username=name,
                role=role,
                password=passwords[name],
                display_name=display,
                email=f"{name}@demo.example",
            )
        users[name] = user
    if db.get(ApiKey, key.key_id) is None:
        identity.create_api_key(
            db, user=users["admin"], name="demo key", scopes=frozenset(ALL_SCOPES), fixed=key
        )
    pair = AccessKeyPair(
        access_key="DEMO" + derive(seed, "access-key", 16).upper().replace("-", "X").replace("_", "Y"),
        secret_key=derive(seed, "secret-key", 40),
    )
    if db.get(SigningKey, pair.access_key) is None:
        signing_keys.create(db, sealer, user=users["admin"], fixed=pair)
    ticket_ids = list(db.scalars(select(Ticket.id).where(Ticket.tenant_id == tenant.id).order_by(Ticket.id)))
    if not ticket_ids:
        ticket_ids = _create_tickets(db, tenant, users)
    if db.get(StatusPage, tenant.id) is None:
        # A published status page with two components, to look at (`/status/demo`).
        status_page.set_page(db, tenant.id, published=True, name="Demo services")
        for name in ("Ticket API", "Customer portal"):
            status_page.create_component(db, tenant.id, name=name)
    return DemoCredentials(
        tenant=tenant.slug,
        tenant_id=tenant.id,
        passwords=passwords,
        api_key_id=key.key_id,
        api_key_secret=key.secret,
        ticket_ids=ticket_ids,
        access_key=pair.access_key,
        secret_key=pair.secret_key,
    )


def _create_tickets(db: Session, tenant: Tenant, users: dict[str, User]) -> list[int]:
    def as_user(name: str) -> Principal:
        user = users[name]
        return Principal(tenant_id=tenant.id, user_id=user.id, role=Role(user.role))

    customers = ["customer", "customer2"]
    agents = ["agent", "agent2"]
    ids: list[int] = []
    for index in range(36):
        subject, kind, priority, category = SUBJECTS[index % len(SUBJECTS)]
        requester = customers[index % 2]
        agent = agents[index % 2]
        ticket = tickets.create_ticket(
            db,
            as_user(requester),
            tickets.Changes(
                values={
                    "subject": subject if index < len(SUBJECTS) else f"{subject} (#{index + 1})",
                    "content": f"Hello, {subject.lower()}. Could you take a look? Thanks.",
                    "product": category,
                    "contact": f"{requester}@demo.example",
                    "category": category,
                }
            ),
        )
        staff = as_user(agent)
        tickets.update_ticket(
            db,
            staff,
            ticket.id,
            tickets.Changes(
                values={"priority": priority, "type": kind, "channel": "email" if index % 3 else "web"},
                assignee_ids=[users[agent].id],
                tags=[category.lower(), "demo"],
            ),
        )
        path = PATHS[index % len(PATHS)]
        if path:
            tickets.add_comment(db, staff, ticket.id, body="Thanks, we are looking into it.", public=True)
        if index % 4 == 0:
            tickets.add_comment(db, staff, ticket.id, body="Checked the logs; escalating.", public=False)
        for status in path:
            tickets.transition(db, staff, ticket.id, status)
        ids.append(ticket.id)
    db.flush()
    return ids
