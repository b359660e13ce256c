"""Where the native face's routes are (a leaf: it imports no module of the face)."""

from __future__ import annotations

PREFIX = "/api/v1"
