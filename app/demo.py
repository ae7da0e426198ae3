"""`salesflow seed-demo`: a realistic demo company to log in to and look around.

A director, two managers with their teams of reps, a support agent and an admin;
customers whose won business puts them in every tier; deals in every stage with their
stage history; tickets on the SLA clocks. Everything goes through the same services and
rules as the API, so the demo data obeys every constraint real data does.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Principal
from app.core.clock import utcnow
from app.core.enums import DealStage, DecisionRole, Role, Seniority, TicketPriority, TicketType
from app.core.errors import Conflict
from app.core.ids import new_id
from app.customers.schemas import ContactCreate, CustomerCreate
from app.customers.service import create_contact, create_customer
from app.customers.tiering import recompute_all
from app.deals.repository import record_stage_change
from app.models import Deal, Team, User
from app.rules.customers import DEFAULT_CUSTOMER_POLICY
from app.rules.phones import DEFAULT_PHONE_REGION
from app.tickets.schemas import TicketCreate
from app.tickets.service import open_ticket
from app.users.service import create_user

DOMAIN = "demo.salesflow.dev"
users_table: sa.Table = User.__table__  # type: ignore[attr-defined]
teams_table: sa.Table = Team.__table__  # type: ignore[attr-defined]
deals_table: sa.Table = Deal.__table__  # type: ignore[attr-defined]

# (name, industry, won deals as (days ago, amount)) — chosen to land in each tier.
CUSTOMERS: list[tuple[str, str, list[tuple[int, str]]]] = [
    (
        "Huaxin New Energy",
        "new_energy",
        [(5, "600000"), (40, "450000"), (70, "520000"), (100, "300000"), (150, "380000")],
    ),
    ("Shenzhen BioMed", "biomedicine", [(20, "250000"), (120, "150000"), (200, "90000")]),
    ("Ningbo Precision Parts", "manufacturing", [(60, "80000"), (250, "60000")]),
    ("Chengdu Retail Group", "retail", [(220, "120000"), (400, "200000")]),
    ("Xi'an Logistics", "logistics", []),
    ("Qingdao Marine Tech", "marine", []),
]


@dataclass(frozen=True)
class DemoCompany:
    password: str
    users: dict[str, str]
    customers: int
    deals: int
    tickets: int


def _principal(row: Any) -> Principal:
    return Principal("user", row["id"], row["name"], Role(row["role"]), row["team_id"])


async def _team(conn: AsyncConnection, name: str) -> uuid.UUID:
    team_id = new_id()
    now = utcnow()
    await conn.execute(
        teams_table.insert().values(id=team_id, name=name, created_at=now, updated_at=now)
    )
    return team_id


async def _people(conn: AsyncConnection, password: str) -> dict[str, Any]:
    east, west = await _team(conn, "East China"), await _team(conn, "West China")
    specs = [
        ("admin", Role.admin, None, Seniority.standard, "Ada Admin"),
        ("director", Role.director, None, Seniority.senior, "Deng Director"),
        ("manager.east", Role.manager, east, Seniority.senior, "Mei Manager"),
        ("manager.west", Role.manager, west, Seniority.senior, "Wang Manager"),
        ("rep.li", Role.rep, east, Seniority.senior, "Li Rep"),
        ("rep.zhang", Role.rep, east, Seniority.standard, "Zhang Rep"),
        ("rep.chen", Role.rep, west, Seniority.senior, "Chen Rep"),
        ("rep.zhao", Role.rep, west, Seniority.standard, "Zhao Rep"),
        ("agent.sun", Role.support_agent, None, Seniority.standard, "Sun Agent"),
    ]
    people = {}
    for handle, role, team, seniority, name in specs:
        people[handle] = await create_user(
            conn,
            email=f"{handle}@{DOMAIN}",
            password=password,
            role=role,
            name=name,
            team_id=team,
            seniority=seniority,
        )
    for team, manager in ((east, "manager.east"), (west, "manager.west")):
        await conn.execute(
            teams_table.update()
            .where(teams_table.c.id == team)
            .values(manager_id=people[manager]["id"])
        )
    return people


async def _deal(
    conn: AsyncConnection,
    owner: Any,
    customer_id: uuid.UUID,
    stage: DealStage,
    amount: str,
    days_ago: int,
    name: str,
) -> None:
    now = utcnow()
    at = now - timedelta(days=days_ago)
    closed = stage in (DealStage.won, DealStage.lost)
    row = {
        "id": new_id(),
        "name": name,
        "customer_id": customer_id,
        "owner_id": owner["id"],
        "stage": stage,
        "amount": Decimal(amount),
        "currency": "CNY",
        "expected_close_date": (at + timedelta(days=60)).date(),
        "need_description": "Production-line automation upgrade",
        "closed_at": at if closed else None,
        "closed_from_stage": DealStage.implementation
        if stage == DealStage.won
        else (DealStage.proposal if stage == DealStage.lost else None),
        "lost_reason": "price" if stage == DealStage.lost else None,
        "stage_changed_at": at,
        "created_at": at - timedelta(days=30),
        "updated_at": at,
    }
    await conn.execute(deals_table.insert().values(row))
    await record_stage_change(
        conn, row, from_stage=None, changed_by=owner["id"], reason="demo data", at=at
    )


async def seed_demo(conn: AsyncConnection, password: str) -> DemoCompany:
    """Fill an empty database with the demo company; refuses to run twice."""
    taken = await conn.execute(
        sa.select(users_table.c.id).where(users_table.c.email.like(f"%@{DOMAIN}")).limit(1)
    )
    if taken.first() is not None:
        raise Conflict("The demo company is already in this database.")
    people = await _people(conn, password)
    reps = [people[h] for h in ("rep.li", "rep.zhang", "rep.chen", "rep.zhao")]
    deals = 0
    customer_ids = []
    for index, (name, industry, won) in enumerate(CUSTOMERS):
        rep = reps[index % len(reps)]
        customer = await create_customer(
            conn, _principal(rep), CustomerCreate(name=name, industry=industry)
        )
        customer_ids.append((customer["id"], rep))
        await create_contact(
            conn,
            _principal(rep),
            customer["id"],
            ContactCreate(
                name=f"Decision maker at {name}",
                decision_role=DecisionRole.decision_maker,
                email=f"buyer{index}@example.com",
            ),
            phone_region=DEFAULT_PHONE_REGION,
        )
        for number, (days_ago, amount) in enumerate(won):
            await _deal(
                conn,
                rep,
                customer["id"],
                DealStage.won,
                amount,
                days_ago,
                f"{name} order {number + 1}",
            )
            deals += 1
    for index, stage in enumerate(DealStage):
        customer_id, rep = customer_ids[index % len(customer_ids)]
        await _deal(
            conn,
            rep,
            customer_id,
            stage,
            f"{(index + 1) * 50000}",
            10 + index,
            f"Pipeline deal: {stage}",
        )
        deals += 1
    await recompute_all(conn, utcnow(), DEFAULT_CUSTOMER_POLICY)
    agent = _principal(people["agent.sun"])
    tickets = 0
    for index, (kind, hours_ago) in enumerate(
        [
            (TicketType.hardware_fault, 0.5),
            (TicketType.usage_question, 0.9),
            (TicketType.complaint, 2),
            (TicketType.software_bug, 30),
        ]
    ):
        customer_id, _ = customer_ids[index]
        await open_ticket(
            conn,
            agent,
            TicketCreate(
                subject=f"Demo {kind.replace('_', ' ')}",
                type=kind,
                customer_id=customer_id,
                priority=TicketPriority.normal,
                assignee_id=people["agent.sun"]["id"],
                reported_at=utcnow() - timedelta(hours=hours_ago),
            ),
        )
        tickets += 1
    return DemoCompany(
        password=password,
        users={h: str(p["email"]) for h, p in people.items()},
        customers=len(customer_ids),
        deals=deals,
        tickets=tickets,
    )
