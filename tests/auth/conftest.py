"""Two sales teams and everyone around them, with a record of every kind owned in East."""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from app.core.clock import utcnow
from app.core.enums import Role
from tests.factories import (
    Actor,
    insert,
    make_activity_row,
    make_api_key,
    make_contact,
    make_contract_for,
    make_customer,
    make_deal,
    make_lead,
    make_task,
    make_team,
    make_user,
)
from tests.tickets.helpers import open_ticket


@dataclass
class Company:
    actors: dict[str, Actor]
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Actor:
        return self.actors[name]


SALES_READ = [f"{k}:read" for k in ("leads", "customers", "contacts", "deals", "quotes")] + [
    f"{k}:read" for k in ("contracts", "tickets", "tasks", "activities")
]


@pytest.fixture
async def company(conn, settings, client) -> Company:
    """East (manager, rep, teammate) and West (manager, rep); a director, an admin, an
    after-sales agent, and partner keys. East's rep owns one record of every kind."""
    east, west = await make_team(conn), await make_team(conn)
    people = {
        "east_rep": (Role.rep, east),
        "east_teammate": (Role.rep, east),
        "east_manager": (Role.manager, east),
        "west_rep": (Role.rep, west),
        "west_manager": (Role.manager, west),
        "director": (Role.director, None),
        "admin": (Role.admin, None),
        "agent": (Role.support_agent, None),
    }
    actors = {
        name: await make_user(conn, settings, role=role, team_id=team)
        for name, (role, team) in people.items()
    }
    actors["key_all"] = await make_api_key(
        conn, scopes=[s.replace(":read", ":write") for s in SALES_READ]
    )
    actors["key_read"] = await make_api_key(conn, scopes=SALES_READ)
    actors["key_form"] = await make_api_key(conn, scopes=["leads:create"])
    actors["key_none"] = await make_api_key(conn, scopes=["campaigns:read"])
    company = Company(actors, {"east": east, "west": west})
    await _east_records(conn, company)
    ticket = await open_ticket(client, company["east_rep"], company.ids["customer"])
    company.ids["ticket"] = uuid.UUID(ticket["id"])
    return company


async def _east_records(conn, company: Company) -> None:  # type: ignore[no-untyped-def]
    from app.models import ContractChangeRequest, Delivery, PaymentMilestone

    rep = company["east_rep"].id
    ids = company.ids
    now = utcnow()
    ids["lead"] = await make_lead(conn, owner_id=rep)
    ids["customer"] = await make_customer(conn, owner_id=rep)
    ids["contact"] = await make_contact(conn, customer_id=ids["customer"])
    ids["deal"] = await make_deal(conn, owner_id=rep, customer_id=ids["customer"])
    ids["contract"] = await make_contract_for(
        conn, deal_id=ids["deal"], owner_id=rep, amount="1000.00", status="signed"
    )
    contract = {"contract_id": ids["contract"]}
    ids["quote"] = (
        await make_contract_quote(conn, ids["contract"])  # the contract's accepted quote
    )
    ids["delivery"] = (
        await insert(conn, Delivery, **contract, planned_date=now.date(), status="scheduled")
    )["id"]
    ids["milestone"] = (
        await insert(
            conn,
            PaymentMilestone,
            **contract,
            position=1,
            kind="advance",
            percent=Decimal("100.00"),
            amount=Decimal("1000.00"),
            anchor="signing",
            days_after=10,
        )
    )["id"]
    ids["change"] = (
        await insert(
            conn,
            ContractChangeRequest,
            **contract,
            description="Extra conveyor",
            extra_fee=Decimal("100.00"),
            status="pending",
            requested_by=rep,
        )
    )["id"]
    ids["task"] = await make_task(
        conn, assignee_id=rep, related_type="deal", related_id=ids["deal"]
    )
    ids["activity"] = await make_activity_row(
        conn, owner_id=rep, occurred_at=now, customer_id=ids["customer"]
    )


async def make_contract_quote(conn, contract_id: uuid.UUID) -> uuid.UUID:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from app.models import Contract

    contracts = Contract.__table__  # type: ignore[attr-defined]
    statement = sa.select(contracts.c.quote_id).where(contracts.c.id == contract_id)
    return (await conn.execute(statement)).scalar_one()  # type: ignore[no-any-return]
