"""Where the OneCloud face's routes are and what bodies they take (a leaf: imports nothing of the face)."""

from __future__ import annotations

PREFIXES = ("/api/authenticate", "/api/ticketrz", "/api/ticket", "/api/onecloud")
BODY_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")
CREATE_PATH = "/api/ticket/create"
# Files one created ticket may bring (in `attachment` and `file`).
MAX_CREATE_FILES = 5
ATTACHMENT_PATH = "/api/ticket/attachment"
