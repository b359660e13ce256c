"""Every field of a ticket a caller can see or set, defined once: who may set it, and whether imports
and exports carry it. core/tickets.py, the importer and the exporter derive their lists from here;
the store's columns are in store/tables.py, and each face's wire schema names the fields it shows
(tests hold all of them to this list).

Vendor fields: a field that two faces share, or that a face filters or sorts on, gets a column of
its own (Huawei's business type, sub-type, severity and description, OneCloud's organisation, branch
and location). What only one face stores and only shows back (OneCloud's `fullName` and `coordinate`,
Huawei's `product_category_id`, `source_id` and `remind_mobile`) goes to `custom_fields`, so such a
field needs no migration and no other face has to know it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SetBy(StrEnum):
    # Kept by the service itself (ids, times, people who did things, the version).
    SERVICE = "service"
    # Set by staff through any face.
    STAFF = "staff"
    # Set by anyone who may change the ticket, its requester (a customer) included.
    ANYONE = "anyone"


@dataclass(frozen=True)
class TicketField:
    name: str
    set_by: SetBy
    # A column of CSV and JSON-lines imports (core/importer.ImportRow) and of exports.
    imported: bool = False
    exported: bool = False


S, STAFF, ANYONE = SetBy.SERVICE, SetBy.STAFF, SetBy.ANYONE

FIELDS: tuple[TicketField, ...] = (
    TicketField("id", S, exported=True),
    TicketField("subject", ANYONE, imported=True, exported=True),
    TicketField("status", S, imported=True, exported=True),
    TicketField("priority", STAFF, imported=True, exported=True),
    TicketField("type", STAFF, imported=True, exported=True),
    TicketField("channel", STAFF, imported=True, exported=True),
    TicketField("category", ANYONE, imported=True, exported=True),
    TicketField("requester_id", S, imported=True, exported=True),
    TicketField("assignee_ids", S, exported=True),
    TicketField("tags", S, imported=True, exported=True),
    TicketField("created_at", S, imported=True, exported=True),
    TicketField("updated_at", S, exported=True),
    TicketField("content", ANYONE, imported=True),
    TicketField("description", ANYONE, imported=True),
    TicketField("solution", STAFF),
    TicketField("remarks", STAFF),
    TicketField("product", ANYONE, imported=True),
    TicketField("project", STAFF, imported=True),
    TicketField("region", STAFF, imported=True),
    TicketField("contact", ANYONE, imported=True),
    TicketField("progress", STAFF),
    TicketField("organisation", STAFF, imported=True),
    TicketField("branch", STAFF),
    TicketField("location", STAFF),
    TicketField("business_type", STAFF),
    TicketField("sub_type", STAFF),
    TicketField("simple_description", STAFF),
    TicketField("severity", STAFF, imported=True),
    TicketField("labels", STAFF),
    TicketField("cc", ANYONE),
    TicketField("custom_fields", ANYONE),
    TicketField("due_at", STAFF),
    TicketField("expires_at", STAFF),
)
BY_NAME = {field.name: field for field in FIELDS}

# Status, people and tags are set through rules of their own (transitions, assignment, tagging);
# these are the plain values a caller may set on create or change.
RULED = frozenset({"status", "requester_id", "assignee_ids", "tags"})
SETTABLE = tuple(f.name for f in FIELDS if f.set_by is not SetBy.SERVICE and f.name not in RULED)
CUSTOMER_SETTABLE = frozenset(f.name for f in FIELDS if f.set_by is SetBy.ANYONE and f.name not in RULED)
IMPORT_COLUMNS = tuple(f.name for f in FIELDS if f.imported)
EXPORT_COLUMNS = tuple(f.name for f in FIELDS if f.exported)
