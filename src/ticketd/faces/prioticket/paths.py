"""Where the Prioticket face's routes are and what bodies they take (a leaf: imports nothing of the face)."""

from __future__ import annotations

PREFIX = "/v3.8/distributor"
BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")
