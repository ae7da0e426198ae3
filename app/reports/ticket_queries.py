"""The service-level queries: tickets by reported time with each SLA clock's outcome, and
unresolved tickets by SLA status now. Visibility is the tickets' own rule."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.core.access import Kind, Principal, visible
from app.core.enums import SlaClockKind, SlaEventKind, SlaStatus, TicketStatus
from app.models import Ticket, TicketSlaEvent
from app.reports.periods import Period
from app.reports.queries import Filters, customers_of_tier, in_period, team_members
from app.reports.schemas import ServiceBy
from app.reports.sql import Expr, bucket, flag

tickets: sa.Table = Ticket.__table__  # type: ignore[attr-defined]
sla_events: sa.Table = TicketSlaEvent.__table__  # type: ignore[attr-defined]
_ONE: sa.ColumnClause[int] = sa.literal_column("1")


def _recorded_breach(clock: SlaClockKind) -> sa.ColumnElement[bool]:
    """A breach on the SLA log is final, whatever happened after (docs/domain.md §6)."""
    return sa.exists().where(
        sla_events.c.ticket_id == tickets.c.id,
        sla_events.c.kind == SlaEventKind.breached,
        sa.or_(sla_events.c.clock == clock, sla_events.c.clock.is_(None)),
    )


@dataclass(frozen=True)
class ClockOutcome:
    met: sa.ColumnElement[bool]
    breached: sa.ColumnElement[bool]


def _clock_outcome(
    clock: SlaClockKind, stopped: Expr, due: Expr, running: sa.ColumnElement[bool], now: Any
) -> ClockOutcome:
    """Met: stopped at or before its due time. Breached: a recorded breach, a late stop, or
    still running past its due time."""
    now_param = sa.literal(now, tickets.c.reported_at.type)
    breached = sa.or_(
        _recorded_breach(clock),
        sa.and_(stopped.is_not(None), due.is_not(None), stopped > due),
        sa.and_(stopped.is_(None), running, due <= now_param),
    )
    met = sa.and_(stopped.is_not(None), due.is_not(None), stopped <= due, ~breached)
    return ClockOutcome(met, breached)


def response_outcome(now: Any) -> ClockOutcome:
    t = tickets.c
    return _clock_outcome(
        SlaClockKind.first_response, t.first_responded_at, t.first_response_due_at, sa.true(), now
    )


def resolution_outcome(now: Any) -> ClockOutcome:
    """Waiting on the customer pauses the resolution clock; a reopened ticket's clock runs
    again (its earlier resolution no longer counts)."""
    t = tickets.c
    running = t.status != TicketStatus.pending_customer
    return _clock_outcome(SlaClockKind.resolution, t.resolved_at, t.resolution_due_at, running, now)


def ticket_filters(principal: Principal, f: Filters, agent_id: uuid.UUID | None) -> list[Any]:
    where: list[Any] = [visible(principal, Kind.tickets, tickets)]
    if agent_id is not None:
        where.append(tickets.c.assignee_id == agent_id)
    if f.team_id is not None:
        where.append(tickets.c.assignee_id.in_(team_members(f.team_id)))
    if f.ticket_type is not None:
        where.append(tickets.c.type == f.ticket_type)
    if f.tier is not None:
        where.append(tickets.c.customer_id.in_(customers_of_tier(f.tier)))
    return where


def service_key(by: ServiceBy | None) -> list[Expr]:
    if by is ServiceBy.type:
        return [tickets.c.type.label("type")]
    if by is ServiceBy.agent:
        return [tickets.c.assignee_id.label("agent_id")]
    return []


def service_tickets(
    dialect: str, period: Period, where: Sequence[Any], by: ServiceBy | None, now: Any
) -> sa.Subquery:
    """Tickets by reported time, with each SLA clock's outcome as of `now`."""
    response, resolution = response_outcome(now), resolution_outcome(now)
    return (
        sa.select(
            bucket(tickets.c.reported_at, period.grouping, dialect).label("period_start"),
            *service_key(by),
            _ONE.label("tickets"),
            flag(response.met).label("response_met"),
            flag(response.breached).label("response_breached"),
            flag(resolution.met).label("resolution_met"),
            flag(resolution.breached).label("resolution_breached"),
        )
        .where(*where, *in_period(tickets.c.reported_at, period))
        .subquery("service_tickets")
    )


OPEN_TICKET_STATUSES = [
    s for s in TicketStatus if s not in (TicketStatus.resolved, TicketStatus.closed)
]


def open_tickets(where: Sequence[Any], by: ServiceBy | None, now: Any) -> sa.Select[Any]:
    """Unresolved tickets by their SLA status now: `breached` if a clock is breached on
    record or overdue this instant (the sweeper may not have passed yet), else the stored
    status (`at_risk` or `on_track`)."""
    response, resolution = response_outcome(now), resolution_outcome(now)
    breached = sa.or_(
        tickets.c.sla_status == SlaStatus.breached, response.breached, resolution.breached
    )
    at_risk = sa.and_(~breached, tickets.c.sla_status == SlaStatus.at_risk)
    keys = service_key(by)
    return (
        sa.select(
            *keys,
            sa.func.count().label("open"),
            sa.func.sum(flag(sa.and_(~breached, ~at_risk))).label("on_track"),
            sa.func.sum(flag(at_risk)).label("at_risk"),
            sa.func.sum(flag(breached)).label("breached"),
        )
        .where(*where, tickets.c.status.in_(OPEN_TICKET_STATUSES))
        .group_by(*keys)
    )
