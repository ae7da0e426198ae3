"""The audit trail: who did what to which record, with the fields before and after."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.core.access import Principal
from app.core.clock import utcnow
from app.core.ids import new_id
from app.core.observability import request_id_var
from app.models import AuditEntry

audit_table: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]
_NOISE = frozenset({"version", "updated_at", "created_at", "password_hash", "key_hash"})


def changed_fields(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value changed, on each side."""
    before = before or {}
    after = after or {}
    keys = (set(before) | set(after)) - _NOISE
    changed = sorted(k for k in keys if before.get(k) != after.get(k))
    return (
        {k: before.get(k) for k in changed if k in before},
        {k: after.get(k) for k in changed if k in after},
    )


def audit_values(
    principal: Principal | None,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The row of one audit entry: only the fields that changed, on each side."""
    old, new = changed_fields(before, after)
    request_id = request_id_var.get()
    return {
        "id": new_id(),
        "at": at or utcnow(),
        "actor_type": principal.kind if principal else "system",
        "actor_id": principal.id if principal else None,
        "actor_name": principal.name if principal else "system",
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": jsonable(old),
        "after": jsonable(new),
        "request_id": request_id if request_id != "-" else None,
    }


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    from app.core.json import dumps, loads

    return loads(dumps(dict(values)))  # type: ignore[no-any-return]
