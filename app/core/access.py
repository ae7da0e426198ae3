"""Who is acting, what they may do, and which rows they may see.

Visibility is a SQL clause added to every read and write, so list endpoints filter in
the database and a record the caller may not see is simply not found (404, not 403:
ids do not leak). What a role may do at all with a kind of record is a table here.
"""

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import sqlalchemy as sa

from app.core.enums import Role
from app.core.errors import ErrorItem, Forbidden


class Kind(StrEnum):
    leads = "leads"
    customers = "customers"
    contacts = "contacts"
    activities = "activities"
    deals = "deals"
    quotes = "quotes"
    contracts = "contracts"
    tickets = "tickets"
    tasks = "tasks"


# `create` adds records without reading or changing existing ones (a web form's key);
# `write` creates and changes, and implies `read`, since every write answers with the record.
Mode = Literal["read", "create", "write"]
MODES: tuple[Mode, ...] = ("read", "create", "write")
_IMPLIED_BY: dict[Mode, tuple[Mode, ...]] = {
    "read": ("read", "write"),
    "create": ("create", "write"),
    "write": ("write",),
}

_SALES_KINDS = frozenset(Kind)
_ALL: frozenset[Mode] = frozenset({"read", "write"})
ROLE_ACCESS: dict[Role, dict[Kind, frozenset[Mode]]] = {
    Role.rep: {k: _ALL for k in _SALES_KINDS},
    Role.manager: {k: _ALL for k in _SALES_KINDS},
    Role.director: {k: _ALL for k in _SALES_KINDS},
    Role.admin: {k: _ALL for k in _SALES_KINDS},
    Role.support_agent: {
        Kind.tickets: _ALL,
        Kind.customers: frozenset({"read"}),
        Kind.contacts: frozenset({"read"}),
        Kind.activities: _ALL,
        Kind.tasks: _ALL,
    },
}

# Beside the kinds' scopes: the change feed (`GET /api/v1/events`), and managing webhooks.
WEBHOOK_READ_SCOPES = frozenset({"webhooks:read", "webhooks:write"})
FEED_SCOPES = frozenset({"events:read"}) | WEBHOOK_READ_SCOPES
API_KEY_SCOPES = frozenset(f"{k.value}:{m}" for k in Kind for m in MODES) | FEED_SCOPES


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "api_key", "system"]
    id: uuid.UUID
    name: str
    role: Role | None = None
    team_id: uuid.UUID | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def key(self) -> str:
        """A stable string naming the actor, for idempotency keys and the audit trail."""
        return f"{self.kind}:{self.id}"

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.id if self.kind == "user" else None

    @property
    def sees_everything(self) -> bool:
        # The service's own jobs read what they act on wherever it is.
        return self.kind in ("api_key", "system") or self.role in (Role.director, Role.admin)

    def can(self, kind: Kind, mode: Mode) -> bool:
        if self.kind == "system":
            return False  # the service's own jobs never act through the API's checks
        granted: frozenset[Mode]
        if self.kind == "api_key":
            granted = frozenset(m for m in MODES if f"{kind.value}:{m}" in self.scopes)
        else:
            assert self.role is not None
            granted = ROLE_ACCESS[self.role].get(kind, frozenset())
        return any(m in granted for m in _IMPLIED_BY[mode])

    def require(self, kind: Kind, mode: Mode) -> None:
        if not self.can(kind, mode):
            what = f"{kind.value}:{mode}"
            raise Forbidden(
                f"Your credentials do not allow {mode} access to {kind.value}.",
                errors=[ErrorItem("insufficient_permission", f"needs {what}", None)],
            )

    def require_role(self, *roles: Role, action: str) -> None:
        if self.kind != "user" or self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(
                f"Only {allowed} may {action}.",
                errors=[ErrorItem("role_required", f"{action} needs one of: {allowed}", None)],
            )


def reads_webhooks(principal: "Principal") -> bool:
    """Webhook endpoints are administration records: admins see them, and API keys with a
    webhooks scope."""
    if principal.kind == "api_key":
        return bool(principal.scopes & WEBHOOK_READ_SCOPES)
    return principal.kind == "user" and principal.role == Role.admin


# The service itself, for what time alone decides (a quote's validity running out, a
# customer's silence after delivery): recorded in the audit trail as "system".
SYSTEM = Principal("system", uuid.UUID(int=0), "system")


# The caller's id and team enter every visibility clause as these named parameters, so a
# statement built once for one principal serves any other of the same shape when executed
# with `viewer_params(principal)`.
VIEWER_ID, VIEWER_TEAM_ID = "viewer_id", "viewer_team_id"


def _viewer(principal: Principal) -> sa.BindParameter[uuid.UUID]:
    return sa.bindparam(VIEWER_ID, principal.id, type_=sa.Uuid)


def team_members(principal: Principal) -> sa.Select[tuple[uuid.UUID]]:
    """The users of the principal's team; for a manager, also of every team they are the
    named manager of (one notion of "my team" for visibility and for escalations)."""
    from app.models import Team, User

    users = User.__table__  # type: ignore[attr-defined]
    team = sa.bindparam(VIEWER_TEAM_ID, principal.team_id, type_=sa.Uuid)
    member = users.c.team_id == team
    if principal.role == Role.manager:
        teams = Team.__table__  # type: ignore[attr-defined]
        led = sa.select(teams.c.id).where(teams.c.manager_id == _viewer(principal))
        member = sa.or_(member, users.c.team_id.in_(led))
    return sa.select(users.c.id).where(member)


def visibility_shape(principal: Principal) -> tuple[object, ...]:
    """What a visibility clause's SQL depends on; its parameters are `viewer_params`."""
    if principal.sees_everything:
        return ("all",)
    return (principal.role, principal.team_id is None)


def viewer_params(principal: Principal) -> dict[str, uuid.UUID | None]:
    return {VIEWER_ID: principal.id, VIEWER_TEAM_ID: principal.team_id}


def owned_by(
    principal: Principal, owner: sa.ColumnElement[uuid.UUID | None]
) -> sa.ColumnElement[bool]:
    """Rows owned by the principal or, for a manager, by someone of their team. A row
    owned by nobody is no one's to see here: it is seen through what it belongs to."""
    if principal.sees_everything:
        return sa.true()
    if principal.role == Role.manager:
        return sa.or_(owner == _viewer(principal), owner.in_(team_members(principal)))
    return owner == _viewer(principal)


def _shared_or_owned(principal: Principal, table: sa.Table) -> sa.ColumnElement[bool]:
    """A lead, customer or deal: the owner's (and their manager's), or, when its owner
    shared it, every teammate's."""
    owned = owned_by(principal, table.c.owner_id)
    if principal.role == Role.manager or principal.team_id is None:
        return owned  # a manager sees the whole team's already; no team, no teammates
    if "shared_with_team" in table.c:
        return sa.or_(owned, _shared_in_team(principal, table))
    # A deal's derived rows (its stage stays) are shared with the deal.
    from app.models import Deal

    deals: sa.Table = Deal.__table__  # type: ignore[attr-defined]
    shared_deals = sa.select(deals.c.id).where(_shared_in_team(principal, deals))
    return sa.or_(owned, table.c.deal_id.in_(shared_deals))


def _shared_in_team(principal: Principal, table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.shared_with_team.is_(True), table.c.owner_id.in_(team_members(principal))
    )


def visible_customers(principal: Principal) -> sa.ColumnElement[bool]:
    """Customers the principal owns, shares, covers as a contact's covering rep, or
    supports."""
    from app.models import Contact, Customer, Ticket

    customers = Customer.__table__  # type: ignore[attr-defined]
    if principal.sees_everything:
        return sa.true()
    if principal.role == Role.support_agent:
        tickets = Ticket.__table__  # type: ignore[attr-defined]
        return customers.c.id.in_(sa.select(tickets.c.customer_id))
    contacts = Contact.__table__  # type: ignore[attr-defined]
    covering = owned_by(principal, contacts.c.covering_rep_id)
    return sa.or_(
        _shared_or_owned(principal, customers),
        customers.c.id.in_(sa.select(contacts.c.customer_id).where(covering)),
    )


def _visible_ids(principal: Principal, kind: Kind) -> sa.Select[tuple[uuid.UUID]]:
    from app.models import Customer, Deal, Lead

    model = {Kind.customers: Customer, Kind.deals: Deal, Kind.leads: Lead}[kind]
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return sa.select(table.c.id).where(visible(principal, kind, table))


def visible_customer_ids(principal: Principal) -> sa.Select[tuple[uuid.UUID]]:
    return _visible_ids(principal, Kind.customers)


# What an unassigned task is about decides who sees it.
_TASK_SUBJECTS: dict[str, Kind] = {
    "lead": Kind.leads,
    "customer": Kind.customers,
    "deal": Kind.deals,
    "quote": Kind.quotes,
    "contract": Kind.contracts,
    "ticket": Kind.tickets,
}


def _task_subject_visible(principal: Principal, table: sa.Table) -> sa.ColumnElement[bool]:
    from app.models import Contract, Quote, Ticket

    subjects = {Kind.quotes: Quote, Kind.contracts: Contract, Kind.tickets: Ticket}
    branches = []
    for related_type, kind in _TASK_SUBJECTS.items():
        if not principal.can(kind, "read"):
            continue
        if kind in subjects:
            subject: sa.Table = subjects[kind].__table__  # type: ignore[attr-defined]
            ids = sa.select(subject.c.id).where(visible(principal, kind, subject))
        else:
            ids = _visible_ids(principal, kind)
        branches.append(sa.and_(table.c.related_type == related_type, table.c.related_id.in_(ids)))
    return sa.and_(table.c.assignee_id.is_(None), sa.or_(sa.false(), *branches))


def visible(principal: Principal, kind: Kind, table: sa.Table) -> sa.ColumnElement[bool]:
    """The SQL condition selecting the rows of `kind` the principal may see."""
    if principal.sees_everything:
        return sa.true()
    if kind == Kind.customers:
        return visible_customers(principal)
    if kind == Kind.contacts:
        return table.c.customer_id.in_(visible_customer_ids(principal))
    if kind in (Kind.leads, Kind.deals):
        return _shared_or_owned(principal, table)
    if kind in (Kind.quotes, Kind.contracts):
        # The deal's people see its quotes and contracts, shared deals included. A
        # correlated EXISTS: the planner looks the one deal up by its key, where `IN
        # (visible deals)` would hash every deal the viewer may see.
        from app.models import Deal

        deals: sa.Table = Deal.__table__  # type: ignore[attr-defined]
        through_deal = sa.exists().where(
            deals.c.id == table.c.deal_id, visible(principal, Kind.deals, deals)
        )
        return sa.or_(owned_by(principal, table.c.owner_id), through_deal)
    if kind == Kind.tickets:
        if principal.role == Role.support_agent:
            return sa.true()
        return sa.or_(
            table.c.customer_id.in_(visible_customer_ids(principal)),
            owned_by(principal, table.c.assignee_id),
        )
    if kind == Kind.tasks:
        return sa.or_(
            owned_by(principal, table.c.assignee_id), _task_subject_visible(principal, table)
        )
    if kind == Kind.activities:
        about = [table.c.customer_id.in_(visible_customer_ids(principal))]
        if principal.role != Role.support_agent:
            about += [
                table.c.deal_id.in_(_visible_ids(principal, Kind.deals)),
                table.c.lead_id.in_(_visible_ids(principal, Kind.leads)),
            ]
        return sa.or_(owned_by(principal, table.c.owner_id), *about)
    return owned_by(principal, table.c.owner_id)


def self_owned_column(principal: Principal, kind: Kind) -> str | None:
    """The column that, holding the caller's own id, makes a row visible to the caller by
    itself: a list filtered on it needs no visibility clause (which would only keep the
    planner from the owner's index). Mirrors the branches of `visible`."""
    if principal.user_id is None or kind == Kind.contacts:
        return None
    if kind == Kind.customers and principal.role == Role.support_agent:
        return None
    return "assignee_id" if kind in (Kind.tickets, Kind.tasks) else "owner_id"


def may_assign_to(principal: Principal, user_id: uuid.UUID, *, in_team: bool) -> bool:
    """Reps keep their records to themselves; a manager hands them out within the team;
    directors and admins to anyone."""
    if principal.sees_everything or user_id == principal.id:
        return True
    return principal.role == Role.manager and in_team


def answers_for(principal: Principal, owner_id: uuid.UUID | None, *, owner_in_team: bool) -> bool:
    """Whether the principal answers for a record: its owner, the owner's manager, or a
    director or admin. Only they hand it to someone else, share it or archive it; seeing
    a record (as a covering rep or a teammate) is not enough."""
    if principal.sees_everything or (owner_id is not None and owner_id == principal.id):
        return True
    return principal.role == Role.manager and owner_in_team


def require_assignable(
    principal: Principal, user_id: uuid.UUID, field_name: str, *, in_team: bool
) -> None:
    if may_assign_to(principal, user_id, in_team=in_team):
        return
    if principal.role == Role.manager:
        raise Forbidden(
            f"{field_name} names someone outside your team: a manager assigns within the team.",
            errors=[ErrorItem("assign_outside_team", "not a member of your team", field_name)],
        )
    raise Forbidden(
        f"Only a manager, director or admin may assign {field_name} to someone else.",
        errors=[ErrorItem("assign_not_allowed", "reps may only assign to themselves", field_name)],
    )


def require_may_unassign(principal: Principal, field_name: str) -> None:
    """A record owned by nobody is seen by directors and admins alone, so only they may
    leave one unowned: anyone else would lose sight of it."""
    if not principal.sees_everything:
        raise Forbidden(
            f"Only a director or admin may leave {field_name} empty.",
            errors=[ErrorItem("unassign_not_allowed", "give the record to someone", field_name)],
        )


def require_answers_for(
    principal: Principal, owner_id: uuid.UUID | None, action: str, *, owner_in_team: bool
) -> None:
    if not answers_for(principal, owner_id, owner_in_team=owner_in_team):
        raise Forbidden(
            f"Only the owner, their manager, a director or an admin may {action}.",
            errors=[ErrorItem("not_record_owner", f"{action} needs the record's owner", None)],
        )
