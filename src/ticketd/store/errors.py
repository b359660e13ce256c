"""What the store's own reads raise (a leaf: every store module may import it, it imports none)."""

from __future__ import annotations

import sqlite3


class StoreError(Exception):
    """PostgreSQL's driver failed, or a mirror cannot vouch for what it holds. (The driver's errors
    are wrapped so that nothing on SQLite loads it.)"""


# What a read on the driver raises when the store cannot answer.
STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, StoreError)


class MirrorOff(Exception):
    """A status mirror cannot serve this store (too large, cannot be read): lookups use SQL."""
