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


Mode = Literal["read", "write"]

_SALES_KINDS = frozenset(Kind)
ROLE_ACCESS: dict[Role, dict[Kind, frozenset[Mode]]] = {
    Role.rep: {k: frozenset({"read", "write"}) for k in _SALES_KINDS},
    Role.manager: {k: frozenset({"read", "write"}) for k in _SALES_KINDS},
    Role.director: {k: frozenset({"read", "write"}) for k in _SALES_KINDS},
    Role.admin: {k: frozenset({"read", "write"}) for k in _SALES_KINDS},
    Role.support_agent: {
        Kind.tickets: frozenset({"read", "write"}),
        Kind.customers: frozenset({"read"}),
        Kind.contacts: frozenset({"read"}),
        Kind.activities: frozenset({"read", "write"}),
        Kind.tasks: frozenset({"read", "write"}),
    },
}

API_KEY_SCOPES = frozenset(f"{k.value}:{m}" for k in Kind for m in ("read", "write"))


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
        return self.kind == "api_key" or self.role in (Role.director, Role.admin)

    def can(self, kind: Kind, mode: Mode) -> bool:
        if self.kind == "system":
            return False  # the service's own jobs never act through the API's checks
        if self.kind == "api_key":
            return f"{kind.value}:{mode}" in self.scopes
        assert self.role is not None
        return mode in ROLE_ACCESS[self.role].get(kind, frozenset())

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


# The service itself, for what time alone decides (a quote's validity running out, a
# customer's silence after delivery): recorded in the audit trail as "system".
SYSTEM = Principal("system", uuid.UUID(int=0), "system")


# The caller's id and team enter every visibility clause as these named parameters, so a
# statement built once for one principal serves any other of the same shape when executed
# with `viewer_params(principal)`.
VIEWER_ID, VIEWER_TEAM_ID = "viewer_id", "viewer_team_id"


def _viewer(principal: Principal) -> sa.BindParameter[uuid.UUID]:
    return sa.bindparam(VIEWER_ID, principal.id, type_=sa.Uuid)


def _team_members(principal: Principal) -> sa.Select[tuple[uuid.UUID]]:
    from app.models import User

    users = User.__table__  # type: ignore[attr-defined]
    team = sa.bindparam(VIEWER_TEAM_ID, principal.team_id, type_=sa.Uuid)
    return sa.select(users.c.id).where(users.c.team_id == team)


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
    """Rows owned by the principal or, for a manager, by their team (or by nobody yet)."""
    if principal.sees_everything:
        return sa.true()
    if principal.role == Role.manager:
        mine = [owner == _viewer(principal), owner.is_(None)]
        if principal.team_id is not None:
            mine.append(owner.in_(_team_members(principal)))
        return sa.or_(*mine)
    return owner == _viewer(principal)


def visible_customers(principal: Principal) -> sa.ColumnElement[bool]:
    """Customers the principal owns, covers as a contact's covering rep, or supports."""
    from app.models import Contact, Customer, Ticket

    customers = Customer.__table__  # type: ignore[attr-defined]
    if principal.sees_everything:
        return sa.true()
    if principal.role == Role.support_agent:
        tickets = Ticket.__table__  # type: ignore[attr-defined]
        return customers.c.id.in_(sa.select(tickets.c.customer_id))
    contacts = Contact.__table__  # type: ignore[attr-defined]
    covering = contacts.c.covering_rep_id == _viewer(principal)
    if principal.role == Role.manager and principal.team_id is not None:
        covering = sa.or_(covering, contacts.c.covering_rep_id.in_(_team_members(principal)))
    return sa.or_(
        owned_by(principal, customers.c.owner_id),
        customers.c.id.in_(sa.select(contacts.c.customer_id).where(covering)),
    )


def visible_customer_ids(principal: Principal) -> sa.Select[tuple[uuid.UUID]]:
    from app.models import Customer

    customers = Customer.__table__  # type: ignore[attr-defined]
    return sa.select(customers.c.id).where(visible_customers(principal))


def visible(principal: Principal, kind: Kind, table: sa.Table) -> sa.ColumnElement[bool]:
    """The SQL condition selecting the rows of `kind` the principal may see."""
    if principal.sees_everything:
        return sa.true()
    if kind == Kind.customers:
        return visible_customers(principal)
    if kind == Kind.contacts:
        return table.c.customer_id.in_(visible_customer_ids(principal))
    if kind == Kind.tickets:
        if principal.role == Role.support_agent:
            return sa.true()
        return sa.or_(
            table.c.customer_id.in_(visible_customer_ids(principal)),
            owned_by(principal, table.c.assignee_id),
        )
    if kind == Kind.tasks:
        return owned_by(principal, table.c.assignee_id)
    if kind == Kind.activities:
        if principal.role == Role.support_agent:
            return sa.or_(
                table.c.owner_id == _viewer(principal),
                table.c.customer_id.in_(visible_customer_ids(principal)),
            )
        return sa.or_(
            owned_by(principal, table.c.owner_id),
            table.c.customer_id.in_(visible_customer_ids(principal)),
        )
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


def may_assign_to(principal: Principal, owner_id: uuid.UUID | None) -> bool:
    """Reps keep their records to themselves; managers and above hand them out."""
    if principal.sees_everything or principal.role == Role.manager:
        return True
    return owner_id == principal.id


def require_assignable(principal: Principal, owner_id: uuid.UUID | None, field_name: str) -> None:
    if not may_assign_to(principal, owner_id):
        raise Forbidden(
            f"Only a manager, director or admin may assign {field_name} to someone else.",
            errors=[
                ErrorItem("assign_not_allowed", "reps may only assign to themselves", field_name)
            ],
        )
