"""Lead use cases: capture, routing, duplicates, qualification, the status flow and the
nurture cadence.

Conversion, the one atomic step from lead to customer, contact and deal, is in
`conversion.py`.
"""

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.clock import utcnow
from app.core.crud import Page, Row, require_reference
from app.core.enums import LeadGrade, LeadSource, LeadStatus, TaskStatus
from app.core.errors import Conflict, ErrorItem, InvalidInput, NotFound
from app.core.pagination import SortKey
from app.core.records import Records
from app.customers.repository import find_visible_customer
from app.customers.service import (
    assign_owner,
    phone_key,
    reassign,
    require_change_rights,
    update_action,
)
from app.events.catalogue import EventType
from app.leads import repository as repo
from app.leads.schemas import LeadCreate, LeadQualify, LeadStatusChange, LeadUpdate
from app.rules.customers import DEFAULT_CUSTOMER_POLICY
from app.rules.leads import (
    DEFAULT_LEAD_POLICY,
    PARKED_STATUSES,
    LeadQualification,
    is_inbound,
    lead_status_transition_allowed,
    next_touch_at,
    normalize_email,
    score_lead,
    seniority_for_grade,
)
from app.rules.phones import normalize_phone
from app.rules.tasks import TaskTriggerPolicy, TriggerEvent, tasks_for_event
from app.tasks.schemas import RelatedType
from app.tasks.service import close_duties, create_triggered_task

POLICY = DEFAULT_LEAD_POLICY
CONTACT_FIELDS = ("email", "phone")
# Derived from the lead policy, so follow-up and touch delays always agree with it.
TASK_POLICY = TaskTriggerPolicy.from_policies(POLICY, DEFAULT_CUSTOMER_POLICY)
_QUALIFICATION_FIELDS = tuple(LeadQualification.model_fields)


_MATCH_KINDS = {"lead": Kind.leads, "contact": Kind.contacts}


LEADS = Records(repo.leads, "lead")


def lead_body(row: Row, principal: Principal) -> dict[str, Any]:
    """The lead as the API shows it: its columns plus what is derived from them.

    A partner system's key sees the `duplicate_of` matches only of the kinds it may read.
    """
    body = {**row, "inbound": is_inbound(row["source"])}
    if principal.kind == "api_key":
        body["duplicate_of"] = [
            match
            for match in row["duplicate_of"]
            if principal.can(_MATCH_KINDS[match["type"]], "read")
        ]
    return body


def _contact_keys(values: dict[str, Any], phone_region: str) -> dict[str, Any]:
    """Add the duplicate-detection keys for whichever of email/phone is being set; a phone
    that is not a valid number is refused."""
    if "email" in values:
        values["email_normalized"] = normalize_email(values["email"])
    if "phone" in values:
        values["phone_normalized"] = phone_key(values["phone"], phone_region)
    return values


def _stored_keys(values: Mapping[str, Any], phone_region: str) -> dict[str, Any]:
    """The keys of email/phone as stored, for comparison (an old unreadable phone has none)."""
    return {
        "email_normalized": normalize_email(values["email"]),
        "phone_normalized": normalize_phone(values["phone"], phone_region),
    }


def _scored(values: Mapping[str, Any]) -> dict[str, Any]:
    facts = LeadQualification(**{name: values.get(name) for name in _QUALIFICATION_FIELDS})
    result = score_lead(facts, POLICY, utcnow().date())
    return {"score": result.score, "grade": result.grade}


async def _require_referrer(
    conn: AsyncConnection, principal: Principal, source: LeadSource, referrer: uuid.UUID | None
) -> None:
    if referrer is None:
        if source == LeadSource.referral:
            raise InvalidInput(
                "A referral lead must name the referring customer.",
                errors=[
                    ErrorItem(
                        "referrer_required", "required for referral leads", "referrer_customer_id"
                    )
                ],
            )
        return
    row = await find_visible_customer(conn, principal, referrer)
    require_reference(row, "referrer_customer_id", "customer", referrer)


def _duplicate_conflict(principal: Principal, matches: list[dict[str, Any]]) -> Conflict:
    """The refusal; a partner system's key hears which fields match, never whose records."""
    detail = (
        "A lead or contact with the same email or phone already exists. "
        "Send `allow_duplicate: true` to go ahead anyway."
    )
    if principal.kind == "api_key":
        fields = sorted({m["field"] for m in matches})
        errors = [ErrorItem("duplicate_lead", f"already known: {f}", f) for f in fields]
        return Conflict(detail, errors=errors)
    errors = [
        ErrorItem("duplicate_lead", f"{m['type']} {m['id']} has the same {m['field']}", m["field"])
        for m in matches
    ]
    return Conflict(detail, errors=errors, extra={"duplicates": matches})


async def _duplicates(
    conn: AsyncConnection,
    principal: Principal,
    values: Mapping[str, Any],
    *,
    checked: Collection[str],
    allow: bool,
    lead_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Every record sharing the lead's email or phone, for `duplicate_of`; refused (409)
    when one matches a `checked` field (the ones being set) and `allow` is false."""
    matches = await repo.find_duplicates(
        conn, values.get("email_normalized"), values.get("phone_normalized"), except_lead=lead_id
    )
    new = [m for m in matches if m["field"] in checked]
    if new and not allow:
        raise _duplicate_conflict(principal, new)
    return matches


async def _open_tasks(conn: AsyncConnection, event: TriggerEvent, lead: Row, at: datetime) -> None:
    specs = tasks_for_event(event, lead["id"], at, TASK_POLICY, lead_source=lead["source"])
    for spec in specs:
        await create_triggered_task(conn, spec, lead["owner_id"], RelatedType.lead, lead["id"])


async def create_lead(
    conn: AsyncConnection, principal: Principal, data: LeadCreate, *, phone_region: str
) -> dict[str, Any]:
    principal.require(Kind.leads, "create")
    await _require_referrer(conn, principal, data.source, data.referrer_customer_id)
    values = _contact_keys(data.model_dump(exclude={"allow_duplicate"}), phone_region)
    values["duplicate_of"] = await _duplicates(
        conn, principal, values, checked=CONTACT_FIELDS, allow=data.allow_duplicate
    )
    values |= _scored(values)
    routing = None
    if data.owner_id is not None:
        values["owner_id"] = await assign_owner(conn, principal, data.owner_id, "owner_id")
    else:
        routing = await _route(conn, values["grade"])
        values["owner_id"] = routing["owner_id"]
    values["created_by"] = principal.user_id
    row = await LEADS.create(conn, principal, values, EventType.lead_created)
    await _open_tasks(conn, TriggerEvent.lead_captured, row, row["created_at"])
    return {**lead_body(row, principal), "routing": routing}


async def _route(conn: AsyncConnection, grade: LeadGrade) -> dict[str, Any]:
    """Who routing gives a new lead to, and from which pool, as the create answer says."""
    pool = seniority_for_grade(grade)
    rep = await repo.least_loaded_rep(conn, pool)
    return {
        "pool": pool,
        "owner_id": rep["id"] if rep else None,
        "owner_name": rep["name"] if rep else None,
        "owner_seniority": rep["seniority"] if rep else None,
    }


async def get_lead(
    conn: AsyncConnection, principal: Principal, lead_id: uuid.UUID
) -> dict[str, Any]:
    """A lead the principal may see, or one they captured that routing gave to someone
    else: its creator keeps read access (and only that) to follow it up."""
    principal.require(Kind.leads, "read")
    try:
        row = await repo.leads.get(conn, principal, lead_id)
    except NotFound:
        captured = await repo.captured_lead(conn, principal, lead_id)
        if captured is None:
            raise
        row = captured
    return lead_body(row, principal)


async def list_leads(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: dict[str, Any],
    created_after: datetime | None,
    created_before: datetime | None,
    q: str | None,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.leads, "read")
    table = repo.leads_table
    where: list[sa.ColumnElement[bool]] = []
    if created_after is not None:
        where.append(table.c.created_at >= created_after)
    if created_before is not None:
        where.append(table.c.created_at < created_before)
    if q:
        where.append(repo.search(q, normalize_email(q)))
    result = await repo.leads.list(
        conn, principal, filters=filters, where=where, sort=sort, cursor=cursor, limit=limit
    )
    return Page([lead_body(row, principal) for row in result.items], result.next_cursor)


async def load_for_action(
    conn: AsyncConnection, principal: Principal, lead_id: uuid.UUID, expected_version: int | None
) -> Row:
    """The lead, locked for the rest of the request, and still at the version the client read.

    The lock makes a concurrent action wait and then see this one's result; the version is
    checked before any rule so a stale client hears 412, not a verdict on old data.
    """
    return await LEADS.locked(conn, principal, lead_id, expected_version)


def _refuse_if_final(lead: Row, action: str) -> None:
    if lead["status"] in repo.FINAL_STATUSES:
        raise Conflict(
            f"The lead is {lead['status']}; it cannot be {action}.",
            errors=[ErrorItem("lead_closed", f"lead is {lead['status']}", "status")],
        )


async def update_lead(
    conn: AsyncConnection,
    principal: Principal,
    lead_id: uuid.UUID,
    data: LeadUpdate,
    expected_version: int | None,
    *,
    phone_region: str,
) -> dict[str, Any]:
    principal.require(Kind.leads, "write")
    current = await repo.leads.get(conn, principal, lead_id)
    changes = _contact_keys(data.changes(), phone_region)
    allow_duplicate = changes.pop("allow_duplicate", False)
    await require_change_rights(conn, principal, current, changes, "lead")
    merged = {**current, **changes}
    if {"source", "referrer_customer_id"} & changes.keys():
        await _require_referrer(conn, principal, merged["source"], merged["referrer_customer_id"])
    if "owner_id" in changes:
        await reassign(conn, principal, changes["owner_id"], "owner_id")
    before = _stored_keys(current, phone_region)
    after = _stored_keys(merged, phone_region)
    moved = [f for f in CONTACT_FIELDS if after[f"{f}_normalized"] != before[f"{f}_normalized"]]
    if moved:
        changes["duplicate_of"] = await _duplicates(
            conn, principal, after, checked=moved, allow=allow_duplicate, lead_id=lead_id
        )
    row = await LEADS.save(
        conn,
        principal,
        current,
        changes,
        EventType.lead_updated,
        action=update_action(changes),
        expected_version=expected_version,
    )
    return lead_body(row, principal)


async def change_status(
    conn: AsyncConnection,
    principal: Principal,
    lead_id: uuid.UUID,
    data: LeadStatusChange,
    expected_version: int | None,
) -> dict[str, Any]:
    principal.require(Kind.leads, "write")
    current = await load_for_action(conn, principal, lead_id, expected_version)
    _check_transition(current["status"], data)
    now = utcnow()
    changes: dict[str, Any] = {
        "status": data.status,
        "next_touch_at": next_touch_at(data.status, now, POLICY),
    }
    if data.status == LeadStatus.disqualified:
        changes["disqualified_reason"] = data.reason
    if data.status == LeadStatus.qualified and current["qualified_at"] is None:
        changes["qualified_at"] = now
    row = await LEADS.save(
        conn, principal, current, changes, EventType.lead_status_changed, action="status_changed"
    )
    if row["status"] in PARKED_STATUSES:
        await _start_touch_cycle(conn, principal, row, now, TriggerEvent.lead_parked)
    elif current["status"] in PARKED_STATUSES:
        await close_duties(conn, principal, repo.open_nurture_tasks(lead_id), TaskStatus.cancelled)
    return lead_body(row, principal)


def _check_transition(current: LeadStatus, data: LeadStatusChange) -> None:
    if data.status == LeadStatus.converted:
        raise InvalidInput(
            "A lead becomes converted only through POST /api/v1/leads/{id}/convert.",
            errors=[ErrorItem("use_convert_action", "use the convert action", "status")],
        )
    if not lead_status_transition_allowed(current, data.status):
        raise Conflict(
            f"A {current} lead cannot move to {data.status}.",
            errors=[
                ErrorItem("lead_transition_not_allowed", f"{current} -> {data.status}", "status")
            ],
        )
    if data.status == LeadStatus.disqualified and not data.reason:
        raise InvalidInput(
            "Disqualifying a lead needs a reason.",
            errors=[ErrorItem("reason_required", "say why the lead is disqualified", "reason")],
        )


def _evidence_entries(
    principal: Principal, data: LeadQualify, at: datetime
) -> list[dict[str, Any]]:
    # Stored as JSON text values; the same shape the API reads back.
    return [
        {
            "who": item.who,
            "what": item.what,
            "when": item.when.isoformat(),
            "recorded_by": str(principal.id),
            "recorded_at": at.isoformat(),
        }
        for item in data.evidence
    ]


async def qualify_lead(
    conn: AsyncConnection,
    principal: Principal,
    lead_id: uuid.UUID,
    data: LeadQualify,
    expected_version: int | None,
) -> dict[str, Any]:
    """Record BANT facts and evidence, then re-score and re-grade the lead."""
    principal.require(Kind.leads, "write")
    current = await load_for_action(conn, principal, lead_id, expected_version)
    _refuse_if_final(current, "qualified")
    changes = data.model_dump(exclude={"evidence"}, exclude_unset=True)
    changes |= _scored({**current, **changes})
    changes["qualification_evidence"] = [
        *current["qualification_evidence"],
        *_evidence_entries(principal, data, utcnow()),
    ]
    row = await LEADS.save(
        conn, principal, current, changes, EventType.lead_qualified, action="qualified"
    )
    return lead_body(row, principal)


async def _start_touch_cycle(
    conn: AsyncConnection, principal: Principal, lead: Row, at: datetime, event: TriggerEvent
) -> None:
    """Open the nurture task of the cycle starting at `at`; earlier open ones are closed —
    done when this is a touch, cancelled when a new parking replaces them."""
    specs = tasks_for_event(event, lead["id"], at, TASK_POLICY)
    closed_as = TaskStatus.done if event is TriggerEvent.lead_touched else TaskStatus.cancelled
    keep = {spec.dedupe_key for spec in specs}
    await close_duties(conn, principal, repo.open_nurture_tasks(lead["id"], keep=keep), closed_as)
    for spec in specs:
        await create_triggered_task(conn, spec, lead["owner_id"], RelatedType.lead, lead["id"])


async def record_touch(
    conn: AsyncConnection, principal: Principal, lead_id: uuid.UUID, at: datetime
) -> None:
    """An activity on a nurturing or archived lead is its touch: the next one falls due a
    full interval after it, with a new nurture task (docs/domain.md §1: every 90 days).

    An activity older than the current cycle (logged late, or replayed) moves nothing, so
    the cadence never runs backwards and each cycle has one task.
    """
    lead = await repo.leads.get(conn, principal, lead_id, lock=True)
    due = next_touch_at(lead["status"], at, POLICY)
    if due is None or (lead["next_touch_at"] is not None and due <= lead["next_touch_at"]):
        return
    row = await LEADS.save(
        conn, principal, lead, {"next_touch_at": due}, EventType.lead_touched, action="touched"
    )
    await _start_touch_cycle(conn, principal, row, at, TriggerEvent.lead_touched)
