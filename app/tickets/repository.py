"""Every query for tickets and their SLA event log."""

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core import statements
from app.core.access import Kind, Principal, visible
from app.core.crud import Row, TableRepository, first_dict
from app.core.enums import Role, SlaStatus
from app.core.ids import new_id
from app.core.pagination import SortKey, keyset_clause, order_by, sort_keys
from app.core.types import UtcDateTime
from app.models import Contact, Contract, Customer, Team, Ticket, TicketSlaEvent, User
from app.rules.sla import READ_PROMOTIONS, Promotion, SlaEvent
from app.tickets import clock
from app.tickets.schemas import SlaEventRead, TicketRead

tickets_table: sa.Table = Ticket.__table__  # type: ignore[attr-defined]
events_table: sa.Table = TicketSlaEvent.__table__  # type: ignore[attr-defined]
customers_table: sa.Table = Customer.__table__  # type: ignore[attr-defined]
contacts_table: sa.Table = Contact.__table__  # type: ignore[attr-defined]
contracts_table: sa.Table = Contract.__table__  # type: ignore[attr-defined]
users_table: sa.Table = User.__table__  # type: ignore[attr-defined]
teams_table: sa.Table = Team.__table__  # type: ignore[attr-defined]

# The stored status is exact as of the last write or sweep; a running clock that has
# passed its at-risk or due instant since reads, and filters, as such at once, by the
# rules' `READ_PROMOTIONS` (`app.rules.sla.status_at` is the same rule in Python).
# `callable_` reads the clock at each execution.
_READ_AT = sa.bindparam("sla_read_at", callable_=clock.now, type_=UtcDateTime())
stored_sla_status = tickets_table.c.sla_status
_INSTANTS = {
    "next_due_at": tickets_table.c.next_due_at,
    "at_risk_at": tickets_table.c.sla_at_risk_at,
}


def _applies(promotion: Promotion) -> sa.ColumnElement[bool]:
    reached = _INSTANTS[promotion.instant] <= _READ_AT
    if promotion.from_ is None:
        return reached
    return sa.and_(stored_sla_status.in_(sorted(promotion.from_)), reached)


def _does_not_apply(promotion: Promotion) -> sa.ColumnElement[bool]:
    instant = _INSTANTS[promotion.instant]
    unless = [] if promotion.from_ is None else [stored_sla_status.not_in(sorted(promotion.from_))]
    return sa.or_(instant.is_(None), instant > _READ_AT, *unless)


effective_sla_status = sa.case(
    *((_applies(p), sa.literal(p.to.value)) for p in READ_PROMOTIONS), else_=stored_sla_status
)


def sla_status_is(status: SlaStatus) -> sa.ColumnElement[bool]:
    """`effective_sla_status == status`, as plain comparisons of stored columns, so the
    planner can use their indexes (it cannot look inside a CASE)."""
    promoted = [
        sa.and_(_applies(p), *(_does_not_apply(q) for q in READ_PROMOTIONS[:index]))
        for index, p in enumerate(READ_PROMOTIONS)
        if p.to is status
    ]
    kept = sa.and_(stored_sla_status == status, *(_does_not_apply(p) for p in READ_PROMOTIONS))
    return sa.or_(*promoted, kept)


# Stored for the sweeper and the status read, not part of a ticket as the API shows it.
UNSHOWN_CLOCK_COLUMNS = ("sla_at_risk_at", "sla_next_action_at")


class TicketRepository(TableRepository):
    """Tickets as the API shows them, with `sla_status` brought up to the moment of reading."""

    def __init__(self) -> None:
        fields = list(TicketRead.model_fields)
        super().__init__(tickets_table, Kind.tickets, "ticket", fields)
        self.stored = TableRepository(
            tickets_table, Kind.tickets, "ticket", [*fields, *UNSHOWN_CLOCK_COLUMNS]
        )
        # A labelled expression selects, and returns, like the column it stands for.
        self.columns = [
            effective_sla_status.label("sla_status")  # type: ignore[misc]
            if column.name == "sla_status"
            else column
            for column in self.columns
        ]

    async def get(
        self, conn: AsyncConnection, principal: Principal, ident: uuid.UUID, *, lock: bool = False
    ) -> Row:
        """Locked for a write, the ticket as stored, with the clock columns the API does
        not show: a write compares what it sets with what is stored (else a status that
        reads as reached would never be stored, and unshown instants always would)."""
        if lock:
            return await self.stored.get(conn, principal, ident, lock=True)
        return await super().get(conn, principal, ident)


tickets = TicketRepository()

TICKET_SORTS = sort_keys(("created_at", ("created_at",)), ("next_due_at", ("next_due_at",)))
EVENT_COLUMNS = [events_table.c[name] for name in SlaEventRead.model_fields]


# --- references --------------------------------------------------------------------------


async def customer_for_ticket(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID
) -> Row | None:
    """The customer a new ticket names, if the caller may open tickets for it.

    Support agents serve every customer's after-sales, including one calling for the
    first time (whom their customer visibility, by existing tickets, would not show).
    """
    allowed = (
        sa.true()
        if principal.role == Role.support_agent
        else visible(principal, Kind.customers, customers_table)
    )
    statement = sa.select(
        customers_table.c.id, customers_table.c.tier, customers_table.c.tier_override
    ).where(customers_table.c.id == customer_id, allowed)
    return (await conn.execute(statement)).mappings().first()


async def customer_tier_row(conn: AsyncConnection, customer_id: uuid.UUID) -> Row:
    statement = sa.select(customers_table.c.tier, customers_table.c.tier_override).where(
        customers_table.c.id == customer_id
    )
    return (await conn.execute(statement)).mappings().one()


async def belongs_to_customer(
    conn: AsyncConnection, table: sa.Table, ident: uuid.UUID, customer_id: uuid.UUID
) -> bool:
    """True when the contact or contract `ident` is the customer's."""
    statement = sa.select(table.c.id).where(table.c.id == ident, table.c.customer_id == customer_id)
    return (await conn.execute(statement)).first() is not None


async def customer_owner(conn: AsyncConnection, customer_id: uuid.UUID) -> uuid.UUID | None:
    statement = sa.select(customers_table.c.owner_id).where(customers_table.c.id == customer_id)
    return (await conn.execute(statement)).scalar()


async def team_manager(conn: AsyncConnection, user_id: uuid.UUID | None) -> uuid.UUID | None:
    """The active manager of the user's team, if there is one."""
    if user_id is None:
        return None
    member, manager = users_table.alias("member"), users_table.alias("manager")
    statement = (
        sa.select(manager.c.id)
        .select_from(
            member.join(teams_table, teams_table.c.id == member.c.team_id).join(
                manager, manager.c.id == teams_table.c.manager_id
            )
        )
        .where(member.c.id == user_id, manager.c.is_active.is_(True))
    )
    return (await conn.execute(statement)).scalar()


# --- the SLA event log -------------------------------------------------------------------


async def load_logs(
    conn: AsyncConnection, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    """Each ticket's SLA events in the order they were written."""
    statement = (
        sa.select(events_table.c.ticket_id, *EVENT_COLUMNS)
        .where(events_table.c.ticket_id.in_(ticket_ids))
        .order_by(events_table.c.ticket_id, events_table.c.seq)
    )
    logs: dict[uuid.UUID, list[Row]] = defaultdict(list)
    for row in (await conn.execute(statement)).mappings():
        logs[row["ticket_id"]].append(row)
    return logs


async def load_log(conn: AsyncConnection, ticket_id: uuid.UUID) -> list[Row]:
    return (await load_logs(conn, [ticket_id])).get(ticket_id, [])


def log_rows(
    ticket_id: uuid.UUID,
    first_seq: int,
    events: Sequence[tuple[SlaEvent, Mapping[str, Any]]],
    *,
    actor_id: uuid.UUID | None,
    recorded_at: datetime,
) -> list[dict[str, Any]]:
    """The log rows of `events`; `seq` is unique per ticket, so a lost race fails loudly."""
    return [
        {
            "id": new_id(),
            "ticket_id": ticket_id,
            "seq": first_seq + offset,
            "kind": event.kind,
            "clock": event.clock,
            "at": event.at,
            "policy_version": event.policy_version,
            "calendar_version": event.calendar_version,
            "payload": dict(payload),
            "actor_id": actor_id,
            "recorded_at": recorded_at,
        }
        for offset, (event, payload) in enumerate(events)
    ]


# --- the sweeper's queries -----------------------------------------------------------------

SWEEP_COLUMNS = [
    tickets_table.c[name]
    for name in (
        "id",
        "subject",
        "customer_id",
        "assignee_id",
        "sla_status",
        "first_response_due_at",
        "resolution_due_at",
        "next_due_at",
        "sla_at_risk_at",
        "sla_next_action_at",
        "escalation_level",
        "version",
        "updated_at",
    )
]
SWEEP_ORDER = SortKey("sla_next_action_at", ("sla_next_action_at",))


async def lock_due_tickets(
    conn: AsyncConnection,
    now: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    """The next tickets with a warning or breach due by `now`, locked for this sweeper.

    Served by the partial index `ix_tickets_sla_next_action_at_id`, in its order. SKIP
    LOCKED: rows another sweeper or a request holds are left to them, so parallel
    sweepers share the work instead of queueing on it (SQLite has no row locks; it
    serializes writers anyway).
    """
    next_action = tickets_table.c.sla_next_action_at
    statement = sa.select(*SWEEP_COLUMNS).where(next_action.is_not(None), next_action <= now)
    if after is not None:
        statement = statement.where(keyset_clause(tickets_table, SWEEP_ORDER, after))
    statement = (
        statement.order_by(*order_by(tickets_table, SWEEP_ORDER))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await conn.execute(statement)).mappings())


async def store_sweep(
    conn: AsyncConnection, ticket: Row, values: Mapping[str, Any], at: datetime
) -> Row:
    """Write what the sweeper found on the ticket it holds locked; a new version, since
    what clients see changed. The ticket as the API now shows it (for its event)."""
    write = statements.versioned_update(
        tickets_table, ticket["id"], ticket["version"], values, now=at, returning=tickets.columns
    )
    row = first_dict(await statements.run(conn, write))
    assert row is not None, "the sweeper holds the ticket's row lock"
    return row
