"""Which failures mean the store is away (503 in every face) rather than a fault of ticketd's (500)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from ticketd.store.engine import is_store_outage
from ticketd.store.fast_reads import StoreError


@pytest.mark.parametrize(
    ("failure", "outage"),
    [
        (StoreError("the mirror cannot vouch for itself"), True),
        (OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")), True),
        (OperationalError("SELECT 1", {}, psycopg.InterfaceError("connection already closed")), True),
        (IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key")), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_counts_as_an_outage(failure: Exception, outage: bool) -> None:
    assert is_store_outage(failure) is outage
