"""Where the Huawei Cloud OSM face's routes are (a leaf: it imports no module of the face)."""

from __future__ import annotations

CASES = "/v2/servicerequest"
ACCESSORIES = f"{CASES}/accessorys"
JSON_ACCESSORY = f"{ACCESSORIES}/json-format-content"


def json_accessory_limit(max_attachment_bytes: int) -> int:
    """A JSON upload's body: the file in base64 (4 bytes for every 3), and room for the rest."""
    return -(-max_attachment_bytes // 3) * 4 + 64 * 1024


PREFIXES = (CASES, "/v3/auth")
