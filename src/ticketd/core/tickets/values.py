"""A ticket's plain values as a caller sends them, checked against core/ticket_fields.FIELDS: who
may set each, the words it takes, its kind and its bounds. One rule a field, whichever face the
value came from."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from ticketd.core.clock import as_utc
from ticketd.core.errors import FieldError, InvalidInput
from ticketd.core.principal import Principal
from ticketd.core.text import storable
from ticketd.core.ticket_fields import BY_NAME, CUSTOMER_SETTABLE, SETTABLE, Kind, TicketField

MAX_LIST_ITEMS = 50
MAX_ITEM_LENGTH = 200
MAX_OBJECT_BYTES = 65_536


def checked_values(
    principal: Principal, values: Mapping[str, Any], *, customer_fields: frozenset[str] = CUSTOMER_SETTABLE
) -> dict[str, Any]:
    """Every value checked (InvalidInput names each one that is not), keyed by field."""
    errors: list[FieldError] = []
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name not in SETTABLE:
            errors.append(FieldError(f"/{name}", "not a field that can be set"))
            continue
        if principal.is_customer and name not in customer_fields:
            errors.append(FieldError(f"/{name}", "customers cannot set this field"))
            continue
        try:
            checked[name] = checked_value(BY_NAME[name], value)
        except ValueError as exc:
            errors.append(FieldError(f"/{name}", str(exc)))
    if errors:
        raise InvalidInput("some fields are not valid", errors)
    return checked


def require_subject(values: Mapping[str, Any]) -> None:
    """A ticket has a subject: on creation, and whenever one is sent."""
    if not str(values.get("subject") or "").strip():
        raise InvalidInput("a ticket needs a subject", [FieldError("/subject", "must not be empty")])


def checked_value(field: TicketField, value: Any) -> Any:
    """A value of the field's kind, with `null` as the field defines it; ValueError says why not."""
    if field.choices is not None:
        allowed = [member.value for member in field.choices]
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value
    if value is None:
        if field.kind is Kind.PERCENT:
            raise ValueError("must be an integer from 0 to 100")
        return copy.copy(field.empty)
    if field.kind is Kind.TEXT:
        if not isinstance(value, str):
            raise ValueError("must be text")
        if not storable(value):
            raise ValueError("must not contain NUL characters")
        if field.max_length is not None and len(value) > field.max_length:
            raise ValueError(f"must be at most {field.max_length} characters")
    elif field.kind is Kind.TEXT_LIST:
        if not isinstance(value, list) or not all(isinstance(item, str) and storable(item) for item in value):
            raise ValueError("must be a list of text (without NUL characters)")
        if len(value) > MAX_LIST_ITEMS or any(len(item) > MAX_ITEM_LENGTH for item in value):
            raise ValueError(f"at most {MAX_LIST_ITEMS} items of at most {MAX_ITEM_LENGTH} characters")
    elif field.kind is Kind.OBJECT:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise ValueError("must be an object")
        try:
            size = len(orjson.dumps(value))
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise ValueError("must be an object of JSON values") from exc
        if size > MAX_OBJECT_BYTES:
            raise ValueError(f"must take at most {MAX_OBJECT_BYTES} bytes as JSON")
    elif field.kind is Kind.PERCENT:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise ValueError("must be an integer from 0 to 100")
    elif field.kind is Kind.TIME:
        if not isinstance(value, datetime):
            raise ValueError("must be a date and time")
        return as_utc(value)
    return value
