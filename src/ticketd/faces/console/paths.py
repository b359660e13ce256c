"""Where the console's pages are: constants its modules share (a leaf: it imports no module of the face)."""

from __future__ import annotations

from ticketd.core.importer import Format

PREFIX = "/console"
FORM = "application/x-www-form-urlencoded"
# An import's file, sent as it is by the operations page's script.
IMPORT_PATH = f"{PREFIX}/admin/imports"
IMPORT_TYPES: dict[str, Format] = {"text/csv": "csv", "application/x-ndjson": "jsonl"}
# Forms that bring files (a reply's, a new request's), as multipart/form-data, and how many each.
FILE_FORMS = (rf"{PREFIX}/tickets/\d+/reply", rf"{PREFIX}/portal/new")
MAX_FILES_A_FORM = 10
FILES_PATH = f"{PREFIX}/files"
