"""Where the console's pages are: constants its modules share (a leaf: it imports no module of the face)."""

from __future__ import annotations

from ticketd.core.importer import Format

PREFIX = "/console"
FORM = "application/x-www-form-urlencoded"
# The one upload path: an import's file, sent as it is by the operations page's script.
IMPORT_PATH = f"{PREFIX}/admin/imports"
IMPORT_TYPES: dict[str, Format] = {"text/csv": "csv", "application/x-ndjson": "jsonl"}
