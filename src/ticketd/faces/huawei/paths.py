"""Where the Huawei Cloud OSM face's routes are (a leaf: it imports no module of the face)."""

from __future__ import annotations

CASES = "/v2/servicerequest"
PREFIXES = (CASES, "/v3/auth")
