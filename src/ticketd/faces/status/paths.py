"""Where the status page is (a leaf: it imports no module of the face)."""

from __future__ import annotations

PREFIX = "/status"
