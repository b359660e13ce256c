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

from ticketd.core.vocabulary import Channel, Priority, TicketType


class SetBy(StrEnum):
    # Kept by the service itself (ids, times, people who did things, the version).
    SERVICE = "service"
    # Set by staff through any face.
    STAFF = "staff"
    # Set by anyone who may change the ticket, its requester (a customer) included.
    ANYONE = "anyone"


class Kind(StrEnum):
    """What values a field takes, checked by core whichever face the value came from."""

    TEXT = "text"
    TEXT_LIST = "text_list"
    OBJECT = "object"
    TIME = "time"
    PERCENT = "percent"
    # A closed set of words (core/vocabulary.py) or an id; faces and core check those themselves.
    OTHER = "other"


@dataclass(frozen=True)
class TicketField:
    name: str
    set_by: SetBy
    # A column of CSV and JSON-lines imports (core/importer.ImportRow) and of exports.
    imported: bool = False
    exported: bool = False
    kind: Kind = Kind.OTHER
    # What `null` sets it to: "" or an empty list or object where the field always has a value,
    # None (the default) where it may be empty. A field that must have a value and has no empty
    # one (subject, priority, type, channel, progress) refuses null.
    empty: object = None
    # The longest text it keeps.
    max_length: int | None = None
    # The words it takes, where it takes a closed set of them (core/vocabulary.py).
    choices: type[StrEnum] | None = None
    # A fact the requester states on a vendor's create form (Huawei's business type, sub-type and
    # severity): a face may record it for a customer at creation, though a customer cannot change it
    # later (it is staff's to set).
    classification: bool = False


SERVICE, STAFF, ANYONE = SetBy.SERVICE, SetBy.STAFF, SetBy.ANYONE
TEXT, TEXT_LIST, OBJECT, TIME = Kind.TEXT, Kind.TEXT_LIST, Kind.OBJECT, Kind.TIME

FIELDS: tuple[TicketField, ...] = (
    TicketField("id", SERVICE, exported=True),
    TicketField("subject", ANYONE, imported=True, exported=True, kind=TEXT, max_length=500),
    TicketField("status", SERVICE, imported=True, exported=True),
    TicketField("priority", STAFF, imported=True, exported=True, choices=Priority),
    TicketField("type", STAFF, imported=True, exported=True, choices=TicketType),
    TicketField("channel", STAFF, imported=True, exported=True, choices=Channel),
    TicketField("category", ANYONE, imported=True, exported=True, kind=TEXT, max_length=200),
    TicketField("requester_id", SERVICE, imported=True, exported=True),
    TicketField("assignee_ids", SERVICE, exported=True),
    TicketField("tags", SERVICE, imported=True, exported=True),
    TicketField("created_at", SERVICE, imported=True, exported=True),
    TicketField("updated_at", SERVICE, exported=True),
    TicketField("content", ANYONE, imported=True, kind=TEXT, empty="", max_length=100000),
    TicketField("description", ANYONE, imported=True, kind=TEXT, empty="", max_length=100000),
    TicketField("solution", STAFF, kind=TEXT, max_length=100_000),
    TicketField("remarks", STAFF, kind=TEXT, empty="", max_length=100000),
    TicketField("product", ANYONE, imported=True, kind=TEXT, max_length=200),
    TicketField("project", STAFF, imported=True, kind=TEXT, max_length=200, classification=True),
    TicketField("region", STAFF, imported=True, kind=TEXT, max_length=200, classification=True),
    TicketField("contact", ANYONE, imported=True, kind=TEXT, max_length=320),
    TicketField("progress", STAFF, kind=Kind.PERCENT),
    TicketField("organisation", STAFF, imported=True, kind=TEXT, max_length=200),
    TicketField("branch", STAFF, kind=TEXT, max_length=200),
    TicketField("location", STAFF, kind=TEXT, max_length=200),
    TicketField("business_type", STAFF, kind=TEXT, max_length=100, classification=True),
    TicketField("sub_type", STAFF, kind=TEXT, max_length=100, classification=True),
    TicketField("simple_description", STAFF, kind=TEXT, max_length=500, classification=True),
    TicketField("severity", STAFF, imported=True, kind=TEXT, max_length=32, classification=True),
    TicketField("labels", STAFF, kind=TEXT_LIST, empty=[]),
    TicketField("cc", ANYONE, kind=TEXT_LIST, empty=[]),
    TicketField("custom_fields", ANYONE, kind=OBJECT, empty={}),
    TicketField("due_at", STAFF, kind=TIME),
    TicketField("expires_at", STAFF, kind=TIME),
)
BY_NAME = {field.name: field for field in FIELDS}

# Status, people and tags are set through rules of their own (transitions, assignment, tagging);
# these are the plain values a caller may set on create or change.
RULED = frozenset({"status", "requester_id", "assignee_ids", "tags"})
SETTABLE = tuple(f.name for f in FIELDS if f.set_by is not SetBy.SERVICE and f.name not in RULED)
CUSTOMER_SETTABLE = frozenset(f.name for f in FIELDS if f.set_by is SetBy.ANYONE and f.name not in RULED)
CLASSIFICATION = frozenset(f.name for f in FIELDS if f.classification)
IMPORT_COLUMNS = tuple(f.name for f in FIELDS if f.imported)
EXPORT_COLUMNS = tuple(f.name for f in FIELDS if f.exported)
