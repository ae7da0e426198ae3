"""Quote use cases: create, edit (in place or as the next version), copy, read, approvals queue.

The lifecycle actions (submit, approve, ...) are in `app.quotes.actions`.
"""

import dataclasses
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.clock import utcnow
from app.core.crud import Page, Row, require_reference
from app.core.enums import QuoteStatus
from app.core.errors import not_found
from app.core.gates import enforce
from app.core.http import check_version
from app.core.pagination import SortKey
from app.core.records import Records
from app.events.catalogue import EventType
from app.quotes import repository as repo
from app.quotes.pricing import (
    POLICY,
    Content,
    content_of,
    priced,
    renewal_discount,
    require_valid_until,
    rule_lines,
)
from app.quotes.schemas import QuoteCopy, QuoteCreate, QuoteUpdate
from app.rules.common import GateResult
from app.rules.quotes import (
    CONFLICT_CODES,
    QuoteAction,
    check_quote_action,
    check_renewal_eligibility,
    deal_closed_check,
    default_valid_until,
)

QUOTES = Records(repo.quotes, "quote")
# Fields a version shares with its quote (the quote's win in the audit entry).
_QUOTE_FIELDS = frozenset(column.name for column in repo.quotes.columns) | {"quote_id"}


@dataclasses.dataclass(frozen=True)
class Loaded:
    """A quote with its current version and that version's lines."""

    quote: Row
    version: Row
    lines: list[Row]

    def detail(self) -> dict[str, Any]:
        return {**self.quote, "current_version": {**self.version, "lines": self.lines}}


def version_note(before: Row | None, after: Row) -> dict[str, Any]:
    """The version fields a change set, for the quote's audit entry: a quote's content
    and approvals live on its versions, so the entry names them beside the quote's own."""
    return {
        name: value
        for name, value in after.items()
        if name not in _QUOTE_FIELDS and (before is None or before.get(name) != value)
    }


async def load(
    conn: AsyncConnection,
    principal: Principal,
    quote_id: uuid.UUID,
    *,
    lock: bool = False,
    expected_version: int | None = None,
) -> Loaded:
    """The quote, locked for the rest of the transaction when it is about to change.

    Every change takes the quote row's lock first, so two approvers (or an edit and an
    approval) are serialized: the second sees the first's outcome and gets a 409 or 412.
    """
    quote = await repo.quotes.get(conn, principal, quote_id, lock=lock)
    check_version(expected_version, quote["version"])
    return Loaded(quote, *await repo.current_version_and_lines(conn, quote))


async def _open_deal(conn: AsyncConnection, principal: Principal, deal_id: uuid.UUID) -> Row:
    deal = require_reference(
        await repo.find_visible_deal(conn, principal, deal_id), "deal_id", "deal", deal_id
    )
    closed = deal_closed_check(deal["stage"])
    enforce(GateResult.from_checks([closed] if closed else []), CONFLICT_CODES)
    return deal


async def _require_renewal_eligible(
    conn: AsyncConnection, customer_id: uuid.UUID | None, deal_id: uuid.UUID, years: int | None
) -> None:
    """The renewal discount only for a customer with a contract to renew (422 otherwise)."""
    if years is None:
        return
    statuses = await repo.other_contract_statuses(conn, customer_id, deal_id)
    enforce(check_renewal_eligibility(years, statuses), CONFLICT_CODES)


async def _create(
    conn: AsyncConnection,
    principal: Principal,
    deal: Row,
    title: str,
    content: Content,
    copied_from_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    now = utcnow()
    require_valid_until(content.valid_until, now.date())
    version_values, line_values = priced(content)
    values = {
        "deal_id": deal["id"],
        "customer_id": deal["customer_id"],
        "owner_id": deal["owner_id"] or principal.user_id,
        "title": title,
        "status": QuoteStatus.draft,
        "current_version_no": 1,
        "copied_from_id": copied_from_id,
    }
    action = "copy" if copied_from_id else "create"
    quote = await QUOTES.create(conn, principal, values, EventType.quote_created, action=action)
    draft = {"quote_id": quote["id"], "number": 1, "status": QuoteStatus.draft, **version_values}
    version = await repo.insert_version(conn, draft, line_values, now)
    return Loaded(quote, version, await repo.lines_of(conn, version["id"])).detail()


async def create_quote(
    conn: AsyncConnection, principal: Principal, data: QuoteCreate
) -> dict[str, Any]:
    principal.require(Kind.quotes, "create")
    deal = await _open_deal(conn, principal, data.deal_id)
    await _require_renewal_eligible(conn, deal["customer_id"], deal["id"], data.renewal_years)
    policy_pct, policy_reason = renewal_discount(data.renewal_years)
    content = Content(
        lines=rule_lines(line.model_dump() for line in data.lines),
        currency=data.currency or deal["currency"],
        valid_until=data.valid_until or default_valid_until(utcnow().date(), POLICY),
        terms=data.terms,
        header_discount_pct=data.header_discount_pct,
        policy_discount_pct=policy_pct,
        policy_discount_reason=policy_reason,
    )
    return await _create(conn, principal, deal, data.title, content)


async def copy_quote(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID, data: QuoteCopy
) -> dict[str, Any]:
    """A new draft quote with the original's content: never its approval, a fresh validity."""
    principal.require(Kind.quotes, "write")
    source = await load(conn, principal, quote_id)
    deal = await _open_deal(conn, principal, source.quote["deal_id"])
    content = dataclasses.replace(
        content_of(source.version, source.lines),
        valid_until=default_valid_until(utcnow().date(), POLICY),
    )
    title = data.title or source.quote["title"]
    return await _create(conn, principal, deal, title, content, copied_from_id=quote_id)


def _edited(current: Content, changes: Mapping[str, Any]) -> Content:
    updates = {
        name: changes[name]
        for name in ("currency", "valid_until", "terms", "header_discount_pct")
        if name in changes
    }
    if "lines" in changes:
        updates["lines"] = rule_lines(changes["lines"])
    if "renewal_years" in changes:
        pct, reason = renewal_discount(changes["renewal_years"])
        updates |= {"policy_discount_pct": pct, "policy_discount_reason": reason}
    return dataclasses.replace(current, **updates)


def _require_editable(loaded: Loaded, now: datetime) -> None:
    status, valid_until = loaded.version["status"], loaded.version["valid_until"]
    if check_quote_action(status, QuoteAction.supersede, now=now, valid_until=valid_until).ok:
        return
    enforce(
        check_quote_action(status, QuoteAction.edit, now=now, valid_until=valid_until),
        CONFLICT_CODES,
    )


async def _store_content(
    conn: AsyncConnection, loaded: Loaded, content: Content, now: datetime
) -> Row:
    """Save edited content: in place on a draft, else as the next version (the old one is
    superseded — submitted versions never change, so their approval cannot be reused)."""
    version_values, line_values = priced(content)
    current = loaded.version
    if current["status"] == QuoteStatus.draft:
        await repo.replace_lines(conn, current["id"], line_values)
        return await repo.update_version(conn, current["id"], version_values, now)
    superseded = {"status": QuoteStatus.superseded, "superseded_at": now}
    await repo.update_version(conn, current["id"], superseded, now)
    draft = {
        "quote_id": current["quote_id"],
        "number": current["number"] + 1,
        "status": QuoteStatus.draft,
        **version_values,
    }
    return await repo.insert_version(conn, draft, line_values, now)


async def update_quote(
    conn: AsyncConnection,
    principal: Principal,
    quote_id: uuid.UUID,
    data: QuoteUpdate,
    expected_version: int | None,
) -> dict[str, Any]:
    principal.require(Kind.quotes, "write")
    now = utcnow()
    loaded = await load(conn, principal, quote_id, lock=True, expected_version=expected_version)
    _require_editable(loaded, now)
    changes = data.changes()
    await _require_renewal_eligible(
        conn, loaded.quote["customer_id"], loaded.quote["deal_id"], changes.get("renewal_years")
    )
    quote_changes = {"title": changes["title"]} if "title" in changes else {}
    version = loaded.version
    content = _edited(content_of(version, loaded.lines), changes)
    if content.fingerprint != version["fingerprint"]:
        if "valid_until" in changes:
            require_valid_until(content.valid_until, now.date())
        version = await _store_content(conn, loaded, content, now)
        quote_changes |= {"status": version["status"], "current_version_no": version["number"]}
    quote = await _save_edit(conn, principal, loaded, quote_changes, version, now)
    return Loaded(quote, version, await repo.lines_of(conn, version["id"])).detail()


async def _save_edit(
    conn: AsyncConnection,
    principal: Principal,
    loaded: Loaded,
    changes: Mapping[str, Any],
    version: Row,
    now: datetime,
) -> Row:
    """The edit through the pipeline. A draft edited in place changes no field of the
    quote row, yet its content did change: the quote's version still moves, with the
    entry and the event of the edit."""
    note = version_note(loaded.version, version)
    return await QUOTES.save(
        conn,
        principal,
        loaded.quote,
        changes,
        EventType.quote_updated,
        action="update",
        at=now,
        audit_note=note,
        audit_before=loaded.version,
        touch=bool(note),
        touched_event=EventType.quote_updated,
    )


async def get_quote(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID
) -> dict[str, Any]:
    principal.require(Kind.quotes, "read")
    return (await load(conn, principal, quote_id)).detail()


async def list_quotes(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: dict[str, Any],
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    principal.require(Kind.quotes, "read")
    result = await repo.quotes.list(
        conn, principal, filters=filters, sort=sort, cursor=cursor, limit=limit
    )
    versions = await repo.current_versions(conn, [quote["id"] for quote in result.items])
    items = [{**quote, "current_version": versions[quote["id"]]} for quote in result.items]
    return {"items": items, "next_cursor": result.next_cursor}


async def list_versions(
    conn: AsyncConnection,
    principal: Principal,
    quote_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.quotes, "read")
    await repo.quotes.get(conn, principal, quote_id)
    return await repo.list_versions(conn, quote_id, cursor=cursor, limit=limit)


async def get_version(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID, number: int
) -> dict[str, Any]:
    principal.require(Kind.quotes, "read")
    await repo.quotes.get(conn, principal, quote_id)
    version = await repo.version_by_number(conn, quote_id, number)
    if version is None:
        raise not_found("quote version", f"{quote_id}/{number}")
    return {**version, "lines": await repo.lines_of(conn, version["id"])}


async def approval_queue(
    conn: AsyncConnection, principal: Principal, *, cursor: str | None, limit: int
) -> Page:
    """Pending quotes the caller may approve: their limit covers the discount, not their own."""
    principal.require(Kind.quotes, "read")
    limits = POLICY.discount_authority_pct
    own_limit = limits.get(principal.role) if principal.role else None
    if own_limit is None:
        return Page([], None)
    roles = [role for role, limit in limits.items() if limit <= own_limit]
    return await repo.approval_queue(conn, principal, roles, cursor=cursor, limit=limit)
