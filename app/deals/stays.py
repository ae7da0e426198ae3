"""Time in stage, kept as the deals move: one `deal_stage_stays` row per deal and stage.

A move from F to T at instant t closes the visit to F (its span joins the stage's total)
and opens a visit to T (the first visit creates the row and fixes `first_arrived_at`).
Every stage move writes `move_statements` in the same transaction as its history row;
`rebuild` derives the same rows from the whole history in one statement (migrations,
bulk loads).
"""

import functools
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.sqltime import seconds_between
from app.core.statements import Binder, Shape, Write, run
from app.core.types import UtcDateTime
from app.models import Deal, DealStageChange, DealStageStay

stays_table: sa.Table = DealStageStay.__table__  # type: ignore[attr-defined]
_history: sa.Table = DealStageChange.__table__  # type: ignore[attr-defined]
_deals: sa.Table = Deal.__table__  # type: ignore[attr-defined]


def _not_negative(seconds: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A move recorded at an earlier instant than the one before it (a deemed acceptance
    dated to its deadline) adds no time rather than taking some away."""
    return sa.case((seconds > 0, seconds), else_=0.0)


def _upsert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@functools.cache
def _move_shapes(dialect: str) -> tuple[Shape, Shape]:
    """Closing a visit, and opening one (the first visit creates the stage's row)."""
    s = stays_table

    def close(bind: Binder) -> sa.Executable:
        at = bind("at", UtcDateTime())
        spent = _not_negative(seconds_between(s.c.arrived_at, at, dialect))
        return (
            s.update()
            .where(
                s.c.deal_id == bind("deal_id", s.c.deal_id.type),
                s.c.stage == bind("stage", s.c.stage.type),
                s.c.arrived_at.is_not(None),
            )
            .values(seconds_in_stage=s.c.seconds_in_stage + spent, arrived_at=None)
        )

    def open_(bind: Binder) -> sa.Executable:
        at = bind("at", UtcDateTime())
        insert = _upsert(dialect)(s).values(
            deal_id=bind("deal_id", s.c.deal_id.type),
            stage=bind("stage", s.c.stage.type),
            owner_id=bind("owner_id", s.c.owner_id.type),
            first_arrived_at=at,
            arrived_at=at,
            seconds_in_stage=0.0,
            visits=1,
        )
        return insert.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=[s.c.deal_id, s.c.stage],
            set_={"arrived_at": insert.excluded.arrived_at, "visits": s.c.visits + 1},
        )

    return Shape(close), Shape(open_)


def move_statements(
    dialect: str,
    *,
    deal_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    from_stage: str | None,
    to_stage: str,
    at: datetime,
) -> list[Write]:
    """The writes of one move: close the visit to `from_stage`, open one to `to_stage`.
    They touch different rows, so they may run as one statement (data-modifying CTEs)."""
    close, open_ = _move_shapes(dialect)
    writes = [Write(open_, {"deal_id": deal_id, "stage": to_stage, "owner_id": owner_id, "at": at})]
    if from_stage is not None:
        writes.insert(0, Write(close, {"deal_id": deal_id, "stage": from_stage, "at": at}))
    return writes


async def record_move(
    conn: AsyncConnection,
    *,
    deal_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    from_stage: str | None,
    to_stage: str,
    at: datetime,
) -> None:
    for write in move_statements(
        conn.dialect.name,
        deal_id=deal_id,
        owner_id=owner_id,
        from_stage=from_stage,
        to_stage=to_stage,
        at=at,
    ):
        await run(conn, write)


def _reassign(bind: Binder) -> sa.Executable:
    s = stays_table
    return (
        s.update()
        .where(s.c.deal_id == bind("deal_id", s.c.deal_id.type))
        .values(owner_id=bind("owner_id", s.c.owner_id.type))
    )


_REASSIGN = Shape(_reassign)


def reassign_statement(deal_id: uuid.UUID, owner_id: uuid.UUID | None) -> Write:
    """A deal's time in stage counts for its owner: a new owner takes the rows along."""
    return Write(_REASSIGN, {"deal_id": deal_id, "owner_id": owner_id})


def rebuild(dialect: str) -> sa.Insert:
    """INSERT the stays of every deal from its history (into an empty table).

    Each history row is a visit to its `to_stage` lasting until the deal's next row, in
    time order (a move dated before the one it followed is taken where its instant
    puts it, where `record_move` took it as it came).
    """
    h = _history
    left_at = sa.func.lead(h.c.changed_at).over(
        partition_by=h.c.deal_id, order_by=(h.c.changed_at, h.c.id)
    )
    visits = sa.select(
        h.c.deal_id, h.c.to_stage.label("stage"), h.c.changed_at, left_at.label("left_at")
    ).subquery("visits")
    finished = visits.c.left_at.is_not(None)
    spent = _not_negative(seconds_between(visits.c.changed_at, visits.c.left_at, dialect))
    rows = (
        sa.select(
            visits.c.deal_id,
            visits.c.stage,
            _deals.c.owner_id,
            sa.func.min(visits.c.changed_at),
            sa.func.max(sa.case((~finished, visits.c.changed_at))),
            sa.func.coalesce(sa.func.sum(sa.case((finished, spent))), 0.0),
            sa.func.count(),
        )
        .select_from(visits.join(_deals, _deals.c.id == visits.c.deal_id))
        .group_by(visits.c.deal_id, visits.c.stage, _deals.c.owner_id)
    )
    columns = [
        "deal_id",
        "stage",
        "owner_id",
        "first_arrived_at",
        "arrived_at",
        "seconds_in_stage",
        "visits",
    ]
    return stays_table.insert().from_select(columns, rows)
