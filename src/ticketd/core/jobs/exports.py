"""An export: the matching tickets in id order, a chunk of the file per step, each chunk committed
with the cursor that produced it, so a resumed export continues after the last chunk."""

from __future__ import annotations

from ticketd.core import exports
from ticketd.core.jobs.lease import Lease
from ticketd.core.operation_params import ExportParams
from ticketd.store.tables import OperationPart

CHUNK_ROWS = 2000


def run_export(lease: Lease, params: ExportParams) -> None:
    while True:
        with lease.step() as (db, operation):
            principal = lease.acting(db)
            state = dict(operation.result or {"last_id": 0, "parts": 0, "rows": 0})
            rows = exports.next_chunk(db, principal, params, state["last_id"], CHUNK_ROWS)
            if rows or state["parts"] == 0:
                data = exports.render(rows, params.format, header=state["parts"] == 0)
                db.add(OperationPart(operation_id=lease.operation_id, seq=state["parts"], data=data))
                state = {
                    "last_id": rows[-1].id if rows else 0,
                    "parts": state["parts"] + 1,
                    "rows": state["rows"] + len(rows),
                }
            operation.result = state
            operation.progress_done = state["rows"]
            lease.renew(operation)
            finished = len(rows) < CHUNK_ROWS
            if finished:
                operation.progress_total = state["rows"]
                lease.complete(operation)
            db.commit()
            if finished:
                return
