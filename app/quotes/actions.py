"""Quote lifecycle actions: submit, approve, reject, send, accept, expire.

Each one locks the quote row, checks `If-Match`, asks the rules service whether the move
is allowed, then saves through the pipeline: the quote's new status, with the current
version's change, the audit entry and the action's event written alongside — all in the
request's one transaction.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.clock import utcnow
from app.core.crud import Row
from app.core.enums import QuoteStatus, Role
from app.core.errors import Forbidden, RuleViolation
from app.core.gates import enforce, error_items
from app.core.http import check_version, require_if_match
from app.core.statements import Write
from app.events.catalogue import EventType
from app.quotes import repository as repo
from app.quotes.pricing import POLICY, content_of
from app.quotes.service import QUOTES, Loaded, version_note
from app.rules.quotes import (
    CONFLICT_CODES,
    QuoteAction,
    can_approve,
    check_approval_binding,
    check_quote_action,
    decide_submission,
    quote_status_after,
)

# People carry discount authority (or, for admins, none); partner API keys carry none.
_PEOPLE = (Role.rep, Role.manager, Role.director, Role.admin)
EVENTS = {
    QuoteAction.submit: EventType.quote_submitted,
    QuoteAction.approve: EventType.quote_approved,
    QuoteAction.reject: EventType.quote_rejected,
    QuoteAction.send: EventType.quote_sent,
    QuoteAction.accept: EventType.quote_accepted,
    QuoteAction.expire: EventType.quote_expired,
}


async def _begin(
    conn: AsyncConnection,
    principal: Principal,
    quote_id: uuid.UUID,
    expected_version: int | None,
    action: QuoteAction,
    now: datetime,
) -> Loaded:
    principal.require(Kind.quotes, "write")
    quote, deal_stage = await repo.lock_with_deal_stage(conn, principal, quote_id)
    check_version(expected_version, quote["version"])
    loaded = Loaded(quote, *await repo.current_version_and_lines(conn, quote))
    version = loaded.version
    gate = check_quote_action(
        version["status"],
        action,
        now=now,
        valid_until=version["valid_until"],
        deal_stage=deal_stage,
    )
    enforce(gate, CONFLICT_CODES)
    return loaded


def _bound_fingerprint(loaded: Loaded, bound_to: str | None) -> str:
    """The stored content's fingerprint, refused unless it is the one `bound_to` names."""
    current = content_of(loaded.version, loaded.lines).fingerprint
    enforce(check_approval_binding(bound_to, current), CONFLICT_CODES)
    return current


async def _apply(
    conn: AsyncConnection,
    principal: Principal,
    loaded: Loaded,
    action: QuoteAction,
    changes: dict[str, Any],
    now: datetime,
    *,
    auto_approved: bool = False,
) -> dict[str, Any]:
    status = quote_status_after(loaded.version["status"], action, auto_approved=auto_approved)
    version_changes = {"status": status, **changes}
    # The version as its UPDATE leaves it: written in the quote's own round trip, so
    # not read back.
    version = {**loaded.version, **version_changes, "updated_at": now}

    def with_version(_: Row) -> list[Write]:
        return [repo.version_update(loaded.version["id"], version_changes, now)]

    quote = await QUOTES.save(
        conn,
        principal,
        loaded.quote,
        {"status": status},
        EVENTS[action],
        action=action.value,
        at=now,
        companions=with_version,
        audit_note=version_note(loaded.version, version),
        audit_before=loaded.version,
        # Approved by policy on submit: partners following approvals hear of it too.
        also=[EventType.quote_approved] if auto_approved else [],
    )
    # Every action changes the status, so the quote row (and the version with it) is
    # always written.
    assert quote is not loaded.quote
    return Loaded(quote, version, loaded.lines).detail()


def _require_approver(principal: Principal, loaded: Loaded) -> None:
    """Only someone whose limit covers the discount, and never the author, decides."""
    version = loaded.version
    gate = can_approve(
        principal.role,  # type: ignore[arg-type]  # checked by require_role
        principal.id,
        version["submitted_by"],
        Decimal(version["effective_discount_pct"]),
        POLICY,
    )
    if not gate.ok:
        raise Forbidden(
            " ".join(check.message for check in gate.unmet), errors=error_items(gate.unmet)
        )


async def submit_quote(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID, expected_version: int | None
) -> dict[str, Any]:
    principal.require_role(*_PEOPLE, action="submit a quote")
    now = utcnow()
    loaded = await _begin(conn, principal, quote_id, expected_version, QuoteAction.submit, now)
    decision = decide_submission(
        principal.role,  # type: ignore[arg-type]  # checked by require_role
        Decimal(loaded.version["effective_discount_pct"]),
        POLICY,
    )
    if decision.refused:
        raise RuleViolation(
            "No one may approve this discount; lower it before submitting.",
            errors=error_items(decision.unmet),
        )
    fingerprint = _bound_fingerprint(loaded, loaded.version["fingerprint"])
    changes: dict[str, Any] = {"submitted_at": now, "submitted_by": principal.id}
    if decision.auto_approve:
        # Within the author's own authority: approved by policy, so no approver is named.
        changes |= {"approved_at": now, "approved_fingerprint": fingerprint}
    else:
        assert decision.approver_role is not None
        changes["required_approver_role"] = decision.approver_role.value
    return await _apply(
        conn,
        principal,
        loaded,
        QuoteAction.submit,
        changes,
        now,
        auto_approved=decision.auto_approve,
    )


async def approve_quote(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID, expected_version: int | None
) -> dict[str, Any]:
    principal.require_role(*_PEOPLE, action="approve a quote")
    # An approval is of the version the approver reviewed, never of whatever is current.
    require_if_match(expected_version, "approve a quote")
    now = utcnow()
    loaded = await _begin(conn, principal, quote_id, expected_version, QuoteAction.approve, now)
    _require_approver(principal, loaded)
    fingerprint = _bound_fingerprint(loaded, loaded.version["fingerprint"])
    changes = {"approved_at": now, "approved_by": principal.id, "approved_fingerprint": fingerprint}
    return await _apply(conn, principal, loaded, QuoteAction.approve, changes, now)


async def reject_quote(
    conn: AsyncConnection,
    principal: Principal,
    quote_id: uuid.UUID,
    reason: str,
    expected_version: int | None,
) -> dict[str, Any]:
    now = utcnow()
    loaded = await _begin(conn, principal, quote_id, expected_version, QuoteAction.reject, now)
    if loaded.version["status"] == QuoteStatus.pending_approval:
        # An approver's refusal; a sent quote's rejection is the customer's answer, recorded.
        principal.require_role(*_PEOPLE, action="reject a quote awaiting approval")
        _require_approver(principal, loaded)
    changes = {"rejected_at": now, "rejected_by": principal.user_id, "rejection_reason": reason}
    return await _apply(conn, principal, loaded, QuoteAction.reject, changes, now)


async def send_quote(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID, expected_version: int | None
) -> dict[str, Any]:
    now = utcnow()
    loaded = await _begin(conn, principal, quote_id, expected_version, QuoteAction.send, now)
    _bound_fingerprint(loaded, loaded.version["approved_fingerprint"])
    return await _apply(conn, principal, loaded, QuoteAction.send, {"sent_at": now}, now)


async def accept_quote(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID, expected_version: int | None
) -> dict[str, Any]:
    now = utcnow()
    loaded = await _begin(conn, principal, quote_id, expected_version, QuoteAction.accept, now)
    _bound_fingerprint(loaded, loaded.version["approved_fingerprint"])
    return await _apply(conn, principal, loaded, QuoteAction.accept, {"accepted_at": now}, now)


async def expire_quote(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID, expected_version: int | None
) -> dict[str, Any]:
    now = utcnow()
    loaded = await _begin(conn, principal, quote_id, expected_version, QuoteAction.expire, now)
    return await _apply(conn, principal, loaded, QuoteAction.expire, {"expired_at": now}, now)
