"""Every query for deals, their stage history and the evidence their gates look at."""

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind
from app.core.crud import Page, Row, TableRepository
from app.core.enums import OPEN_DEAL_STAGES, ContractStatus, DecisionRole, QuoteStatus
from app.core.ids import new_id
from app.core.pagination import SortKey, decode_cursor, keyset_clause, order_by, page, sort_keys
from app.deals import stays
from app.deals.schemas import DealRecord, DealStageChangeRead
from app.models import Activity, Contact, Contract, Deal, DealStageChange, Quote, QuoteVersion

deals_table: sa.Table = Deal.__table__  # type: ignore[attr-defined]
history_table: sa.Table = DealStageChange.__table__  # type: ignore[attr-defined]
_contacts: sa.Table = Contact.__table__  # type: ignore[attr-defined]
_activities: sa.Table = Activity.__table__  # type: ignore[attr-defined]
_quotes: sa.Table = Quote.__table__  # type: ignore[attr-defined]
_versions: sa.Table = QuoteVersion.__table__  # type: ignore[attr-defined]
_contracts: sa.Table = Contract.__table__  # type: ignore[attr-defined]

deals = TableRepository(deals_table, Kind.deals, "deal", list(DealRecord.model_fields))

DEAL_SORTS = sort_keys(
    ("created_at", ("created_at",)),
    ("updated_at", ("updated_at",)),
    ("stage_changed_at", ("stage_changed_at",)),
)
HISTORY_ORDER = SortKey("changed_at", ("changed_at",))
_HISTORY_COLUMNS = [history_table.c[name] for name in DealStageChangeRead.model_fields]

# A quote version in one of these states proves "a solution/quote approved".
APPROVED_QUOTE_STATUSES = (QuoteStatus.approved, QuoteStatus.sent, QuoteStatus.accepted)


def stage_change_statements(
    dialect: str,
    deal: Mapping[str, Any],
    *,
    from_stage: str | None,
    changed_by: uuid.UUID | None,
    reason: str | None,
    at: datetime,
) -> list[sa.Executable]:
    """The move's history row, with the forecast as it stood at that moment, and its
    time-in-stage writes (`deal` is the deal after the move)."""
    history = history_table.insert().values(
        id=new_id(),
        deal_id=deal["id"],
        from_stage=from_stage,
        to_stage=deal["stage"],
        changed_at=at,
        changed_by=changed_by,
        reason=reason,
        amount=deal["amount"],
        currency=deal["currency"],
        expected_close_date=deal["expected_close_date"],
    )
    moves = stays.move_statements(
        dialect,
        deal_id=deal["id"],
        owner_id=deal["owner_id"],
        from_stage=from_stage,
        to_stage=deal["stage"],
        at=at,
    )
    return [history, *moves]


async def record_stage_change(
    conn: AsyncConnection,
    deal: Mapping[str, Any],
    *,
    from_stage: str | None,
    changed_by: uuid.UUID | None,
    reason: str | None,
    at: datetime,
) -> None:
    """Append the move to the history and carry it into the deal's time in stage."""
    for statement in stage_change_statements(
        conn.dialect.name, deal, from_stage=from_stage, changed_by=changed_by, reason=reason, at=at
    ):
        await conn.execute(statement)


async def list_history(
    conn: AsyncConnection, deal_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page:
    """One deal's stage changes, oldest first."""
    statement = sa.select(*_HISTORY_COLUMNS).where(history_table.c.deal_id == deal_id)
    if cursor:
        values = decode_cursor(cursor, HISTORY_ORDER)
        statement = statement.where(keyset_clause(history_table, HISTORY_ORDER, values))
    statement = statement.order_by(*order_by(history_table, HISTORY_ORDER)).limit(limit + 1)
    rows = (await conn.execute(statement)).mappings().all()
    return Page(*page(rows, limit, HISTORY_ORDER))


def _decision_maker_engaged(deal: Row) -> sa.Exists:
    about = _activities.c.deal_id == deal["id"]
    if deal["customer_id"] is not None:
        about = sa.or_(about, _activities.c.customer_id == deal["customer_id"])
    return sa.exists(
        sa.select(_activities.c.id)
        .join(_contacts, _contacts.c.id == _activities.c.contact_id)
        .where(about, _contacts.c.decision_role == DecisionRole.decision_maker)
    )


def _approved_quote(deal_id: uuid.UUID) -> sa.Exists:
    current_version = sa.and_(
        _versions.c.quote_id == _quotes.c.id, _versions.c.number == _quotes.c.current_version_no
    )
    return sa.exists(
        sa.select(_quotes.c.id)
        .join(_versions, current_version)
        .where(_quotes.c.deal_id == deal_id, _versions.c.status.in_(APPROVED_QUOTE_STATUSES))
    )


def _contract_with(deal_id: uuid.UUID, instant: sa.Column[Any]) -> sa.Exists:
    """A contract of the deal that reached `instant` and was not terminated since: a
    terminated contract proves neither a signature nor an acceptance that still holds."""
    return sa.exists(
        sa.select(_contracts.c.id).where(
            _contracts.c.deal_id == deal_id,
            instant.is_not(None),
            _contracts.c.status != ContractStatus.terminated,
        )
    )


def _contact_count(customer_id: uuid.UUID | None) -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count())
        .select_from(_contacts)
        .where(_contacts.c.customer_id == customer_id, _contacts.c.archived_at.is_(None))
        .scalar_subquery()
    )


async def load_evidence(conn: AsyncConnection, deal: Row) -> Row:
    """The gate evidence that lives outside the deal row, in one round trip."""
    statement = sa.select(
        _contact_count(deal["customer_id"]).label("contact_count"),
        _decision_maker_engaged(deal).label("decision_maker_engaged"),
        _approved_quote(deal["id"]).label("approved_quote"),
        _contract_with(deal["id"], _contracts.c.signed_at).label("contract_signed"),
        _contract_with(deal["id"], _contracts.c.accepted_at).label("delivery_accepted"),
    )
    return (await conn.execute(statement)).mappings().one()


def stale_clause(now: datetime, stale_after_days: int) -> sa.ColumnElement[bool]:
    """Open deals whose stage has not changed for the policy's stale period."""
    cutoff = now - timedelta(days=stale_after_days)
    return sa.and_(
        deals_table.c.stage.in_(OPEN_DEAL_STAGES), deals_table.c.stage_changed_at <= cutoff
    )
