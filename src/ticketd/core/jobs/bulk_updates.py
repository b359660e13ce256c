"""A bulk update: the matching tickets split once into parts (child operations), then one part per
step, its changes, its completion and the parent's progress in one transaction."""

from __future__ import annotations

from ticketd.core.bulk_updates import apply_bulk_changes, matching_ticket_ids
from ticketd.core.clock import utcnow
from ticketd.core.jobs.lease import Lease
from ticketd.core.operation_params import BulkPartParams, BulkUpdateParams, OperationKind
from ticketd.core.operations import BULK_PART_SIZE, FINISHED, OperationStatus, children, pending_operation


def run_bulk_update(lease: Lease, params: BulkUpdateParams) -> None:
    with lease.step() as (db, operation):
        if not children(db, operation):
            ids = matching_ticket_ids(db, lease.acting(db), params)
            for start in range(0, len(ids), BULK_PART_SIZE):
                part_ids = ids[start : start + BULK_PART_SIZE]
                pending_operation(
                    db,
                    lease.tenant_id,
                    OperationKind.BULK_UPDATE_PART,
                    lease.created_by,
                    BulkPartParams(ticket_ids=part_ids),
                    progress_total=len(part_ids),
                    parent_id=lease.operation_id,
                )
            operation.progress_total = len(ids)
            operation.version += 1
            db.commit()
    while True:
        with lease.step() as (db, operation):
            parts = children(db, operation)
            part = next((c for c in parts if c.status not in FINISHED), None)
            if part is None:
                totals = [c.result or {} for c in parts]
                lease.complete(
                    operation,
                    {
                        "updated": sum(t.get("updated", 0) for t in totals),
                        "failed": sum(len(t.get("errors", [])) for t in totals),
                    },
                )
                db.commit()
                return
            ticket_ids = BulkPartParams.model_validate(part.params).ticket_ids
            result = apply_bulk_changes(db, lease.acting(db), ticket_ids, params)
            now = utcnow()
            part.status, part.result, part.progress_done = (
                OperationStatus.COMPLETED.value,
                result,
                part.progress_total or 0,
            )
            part.started_at, part.finished_at, part.version = now, now, part.version + 1
            operation.progress_done += part.progress_total or 0
            lease.renew(operation)
            db.commit()
