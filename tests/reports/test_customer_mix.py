"""Revenue and activity shares by tier and grade (January and February 2026).

K1 strategic/A won 6,000.00 in January and had a visit; K2 growth/B won 3,000.00 in January
and had two calls and a visit; K4 is potential but overridden to strategic, grade A: won
1,000.00 in February, one visit; K3 potential, ungraded, won a 500.00 USD contract in
February and had one call (its activities count in its own currency, CNY). Grades come
from the need intensity and purchasing power the reps record through the API.
"""

import uuid
from decimal import Decimal

import pytest

from app.core.enums import Role
from app.models import Customer
from tests.factories import (
    make_activity_row,
    make_contract_for,
    make_deal,
    make_user,
)
from tests.reports.helpers import at, report

PERIOD = {"from": "2026-01-01", "to": "2026-03-01"}
FIGURES = ("revenue", "revenue_share_pct", "activities", "activity_share_pct")
EMPTY = ("0.00", "0.00", 0, "0.00")
customers = Customer.__table__


async def graded_customer(client, conn, actor, tier, need=None, power=None, **values):  # type: ignore[no-untyped-def]
    """A customer created through the API (which grades it), then put in `tier` as if the
    RFM rules had computed it."""
    body = {"name": f"Customer {uuid.uuid4().hex[:6]}", "need_intensity": need,
            "purchasing_power": power, **values}  # fmt: skip
    created = await client.post("/api/v1/customers", json=body, headers=actor.headers)
    assert created.status_code == 201, created.text
    customer_id = uuid.UUID(created.json()["id"])
    await conn.execute(customers.update().where(customers.c.id == customer_id).values(tier=tier))
    return customer_id


@pytest.fixture
async def rep(client, conn, settings):  # type: ignore[no-untyped-def]
    rep = await make_user(conn, settings, role=Role.rep)
    other = await make_user(conn, settings, role=Role.rep)
    k1 = await graded_customer(client, conn, rep, "strategic", "high", "high")
    k2 = await graded_customer(client, conn, rep, "growth", "medium", "high")
    k3 = await graded_customer(client, conn, rep, "potential", need="high")
    k4 = await graded_customer(client, conn, rep, "potential", "high", "high")
    await conn.execute(
        customers.update().where(customers.c.id == k4).values(tier_override="strategic")
    )
    theirs = await graded_customer(client, conn, other, "dormant", "low", "high")
    for customer, amount, closed in [(k1, "6000.00", "2026-01-10"), (k2, "3000.00", "2026-01-20"),
                                     (k4, "1000.00", "2026-02-05")]:  # fmt: skip
        await make_deal(
            conn, owner_id=rep.id, customer_id=customer, stage="won", closed_at=at(closed),
            amount=Decimal(amount),
        )  # fmt: skip
    usd = await make_deal(
        conn, owner_id=rep.id, customer_id=k3, stage="won", closed_at=at("2026-02-10")
    )
    await make_contract_for(conn, deal_id=usd, owner_id=rep.id, amount="500.00", currency="USD")
    await make_deal(
        conn, owner_id=other.id, customer_id=theirs, stage="won", closed_at=at("2026-01-10"),
        amount=Decimal("50000.00"),
    )  # fmt: skip
    for customer, kind, when in [
        (k1, "visit", "2026-01-05"), (k2, "call", "2026-01-06"), (k2, "call", "2026-01-07"),
        (k2, "visit", "2026-01-08"), (k3, "call", "2026-02-01"), (k4, "visit", "2026-02-02"),
        (None, "call", "2026-01-09"),
    ]:  # fmt: skip
        await make_activity_row(
            conn, owner_id=rep.id, customer_id=customer, kind=kind, occurred_at=at(when)
        )
    await make_activity_row(
        conn, owner_id=other.id, customer_id=theirs, kind="visit", occurred_at=at("2026-01-05")
    )
    return rep


def _table(rows):  # type: ignore[no-untyped-def]
    return {
        (r.get("period_start"), r["currency"], r["dimension"], r["value"]): tuple(
            r[f] for f in FIGURES
        )
        for r in rows
    }


async def test_shares_by_tier_and_grade(client, rep):
    body = await report(client, "customer-mix", rep, **PERIOD)
    assert len(body["rows"]) == 2 * 2 * 8  # months x currencies x (4 tiers + 3 grades + none)
    rows = _table(body["rows"])
    jan, feb = "2026-01-01", "2026-02-01"
    assert {k[2:]: v for k, v in rows.items() if k[:2] == (jan, "CNY")} == {
        ("tier", "strategic"): ("6000.00", "66.67", 1, "25.00"),
        ("tier", "growth"): ("3000.00", "33.33", 3, "75.00"),
        ("tier", "potential"): EMPTY,
        ("tier", "dormant"): EMPTY,
        ("grade", "A"): ("6000.00", "66.67", 1, "25.00"),
        ("grade", "B"): ("3000.00", "33.33", 3, "75.00"),
        ("grade", "C"): EMPTY,
        ("grade", None): EMPTY,
    }
    # No USD revenue in January; activity shares are of all 4 January activities.
    assert {v for k, v in rows.items() if k[:2] == (jan, "USD")} == {("0.00", None, 0, "0.00")}
    assert {k[2:]: v for k, v in rows.items() if k[:2] == (feb, "CNY")} == {
        ("tier", "strategic"): ("1000.00", "100.00", 1, "50.00"),
        ("tier", "growth"): EMPTY,
        ("tier", "potential"): ("0.00", "0.00", 1, "50.00"),
        ("tier", "dormant"): EMPTY,
        ("grade", "A"): ("1000.00", "100.00", 1, "50.00"),
        ("grade", "B"): EMPTY,
        ("grade", "C"): EMPTY,
        ("grade", None): ("0.00", "0.00", 1, "50.00"),
    }
    feb_usd = {k[2:]: v for k, v in rows.items() if k[:2] == (feb, "USD")}
    assert (
        feb_usd[("tier", "potential")]
        == feb_usd[("grade", None)]
        == ("500.00", "100.00", 0, "0.00")
    )
    assert feb_usd[("tier", "strategic")] == ("0.00", "0.00", 0, "0.00")
    totals = _table(body["totals"])
    assert {k[2:]: v for k, v in totals.items() if k[1] == "CNY" and v != EMPTY} == {
        ("tier", "strategic"): ("7000.00", "70.00", 2, "33.33"),
        ("tier", "growth"): ("3000.00", "30.00", 3, "50.00"),
        ("tier", "potential"): ("0.00", "0.00", 1, "16.67"),
        ("grade", "A"): ("7000.00", "70.00", 2, "33.33"),
        ("grade", "B"): ("3000.00", "30.00", 3, "50.00"),
        ("grade", None): ("0.00", "0.00", 1, "16.67"),
    }


async def test_visits_only(client, rep):
    body = await report(
        client, "customer-mix", rep, activity_kind="visit", grouping="year", **PERIOD
    )
    tiers = {r["value"]: (r["activities"], r["activity_share_pct"]) for r in body["rows"]
             if r["dimension"] == "tier" and r["currency"] == "CNY"}  # fmt: skip
    assert tiers == {
        "strategic": (2, "66.67"), "growth": (1, "33.33"), "potential": (0, "0.00"),
        "dormant": (0, "0.00"),
    }  # fmt: skip


async def test_activity_shares_are_over_every_currency(client, conn, settings):
    """One visit to a USD customer, three to a CNY strategic one: 25 % and 75 % of visits,
    while each currency's revenue keeps its own 100 %."""
    rep = await make_user(conn, settings, role=Role.rep)
    usd = await graded_customer(client, conn, rep, "potential", "medium", "low", currency="USD")
    cny = await graded_customer(client, conn, rep, "strategic", "high", "high")
    for customer, amount, currency in [(usd, "800.00", "USD"), (cny, "2000.00", "CNY")]:
        await make_deal(
            conn, owner_id=rep.id, customer_id=customer, stage="won", amount=Decimal(amount),
            currency=currency, closed_at=at("2026-01-15"),
        )  # fmt: skip
    for customer, when in [(usd, "2026-01-03"), (cny, "2026-01-04"), (cny, "2026-01-05"),
                           (cny, "2026-01-06")]:  # fmt: skip
        await make_activity_row(
            conn, owner_id=rep.id, customer_id=customer, kind="visit", occurred_at=at(when)
        )
    body = await report(client, "customer-mix", rep, **{"from": "2026-01-01", "to": "2026-02-01"})
    figures = {(r["currency"], r["dimension"], r["value"]): tuple(r[f] for f in FIGURES)
               for r in body["totals"] if r["revenue"] != "0.00" or r["activities"]}  # fmt: skip
    assert figures == {
        ("USD", "tier", "potential"): ("800.00", "100.00", 1, "25.00"),
        ("USD", "grade", "C"): ("800.00", "100.00", 1, "25.00"),
        ("CNY", "tier", "strategic"): ("2000.00", "100.00", 3, "75.00"),
        ("CNY", "grade", "A"): ("2000.00", "100.00", 3, "75.00"),
    }
