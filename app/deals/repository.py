"""Every query for deals, their stage history and the evidence their gates look at."""

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core import statements
from app.core.access import Kind
from app.core.crud import Page, Row, TableRepository, first_dict
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
) -> list[statements.Write]:
    """The move's history row, with the forecast as it stood at that moment, and its
    time-in-stage writes (`deal` is the deal after the move)."""
    history = statements.insert(
        history_table,
        {
            "id": new_id(),
            "deal_id": deal["id"],
            "from_stage": from_stage,
            "to_stage": deal["stage"],
            "changed_at": at,
            "changed_by": changed_by,
            "reason": reason,
            "amount": deal["amount"],
            "currency": deal["currency"],
            "expected_close_date": deal["expected_close_date"],
        },
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
    for write in stage_change_statements(
        conn.dialect.name, deal, from_stage=from_stage, changed_by=changed_by, reason=reason, at=at
    ):
        await statements.run(conn, write)


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


# The gate evidence of a deal (`deal_id`) of a customer (`customer_id`, possibly null,
# which then matches nothing), built once.
_DEAL_ID = sa.bindparam("deal_id", type_=sa.Uuid)
_CUSTOMER_ID = sa.bindparam("customer_id", type_=sa.Uuid)


def _decision_maker_engaged() -> sa.Exists:
    about = sa.or_(_activities.c.deal_id == _DEAL_ID, _activities.c.customer_id == _CUSTOMER_ID)
    return sa.exists(
        sa.select(_activities.c.id)
        .join(_contacts, _contacts.c.id == _activities.c.contact_id)
        .where(about, _contacts.c.decision_role == DecisionRole.decision_maker)
    )


def _approved_quote() -> sa.Exists:
    current_version = sa.and_(
        _versions.c.quote_id == _quotes.c.id, _versions.c.number == _quotes.c.current_version_no
    )
    return sa.exists(
        sa.select(_quotes.c.id)
        .join(_versions, current_version)
        .where(_quotes.c.deal_id == _DEAL_ID, _versions.c.status.in_(APPROVED_QUOTE_STATUSES))
    )


def _contract_with(instant: sa.Column[Any]) -> sa.Exists:
    """A contract of the deal that reached `instant` and was not terminated since: a
    terminated contract proves neither a signature nor an acceptance that still holds."""
    return sa.exists(
        sa.select(_contracts.c.id).where(
            _contracts.c.deal_id == _DEAL_ID,
            instant.is_not(None),
            _contracts.c.status != ContractStatus.terminated,
        )
    )


def _contact_count() -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count())
        .select_from(_contacts)
        .where(_contacts.c.customer_id == _CUSTOMER_ID, _contacts.c.archived_at.is_(None))
        .scalar_subquery()
    )


_EVIDENCE = sa.select(
    _contact_count().label("contact_count"),
    _decision_maker_engaged().label("decision_maker_engaged"),
    _approved_quote().label("approved_quote"),
    _contract_with(_contracts.c.signed_at).label("contract_signed"),
    _contract_with(_contracts.c.accepted_at).label("delivery_accepted"),
)


async def load_evidence(conn: AsyncConnection, deal: Row) -> Row:
    """The gate evidence that lives outside the deal row, in one round trip."""
    parameters = {"deal_id": deal["id"], "customer_id": deal["customer_id"]}
    row = first_dict(await conn.execute(_EVIDENCE, parameters))
    assert row is not None
    return row


def stale_clause(now: datetime, stale_after_days: int) -> sa.ColumnElement[bool]:
    """Open deals whose stage has not changed for the policy's stale period."""
    cutoff = now - timedelta(days=stale_after_days)
    return sa.and_(
        deals_table.c.stage.in_(OPEN_DEAL_STAGES), deals_table.c.stage_changed_at <= cutoff
    )
