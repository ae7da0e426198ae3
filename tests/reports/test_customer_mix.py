"""Revenue and activity shares by tier and grade (January and February 2026).

K1 strategic/A won 6,000.00 in January and had a visit; K2 growth/B won 3,000.00 in January
and had two calls and a visit; K4 is potential but overridden to strategic, grade A: won
1,000.00 in February, one visit; K3 potential, ungraded, won a 500.00 USD contract in
February and had one call (its activities count in its own currency, CNY).
"""

from decimal import Decimal

import pytest

from app.core.enums import Role
from tests.factories import (
    make_activity_row,
    make_contract_for,
    make_customer,
    make_deal,
    make_user,
)
from tests.reports.helpers import at, report

PERIOD = {"from": "2026-01-01", "to": "2026-03-01"}
FIGURES = ("revenue", "revenue_share_pct", "activities", "activity_share_pct")
EMPTY = ("0.00", "0.00", 0, "0.00")


@pytest.fixture
async def rep(conn, settings):  # type: ignore[no-untyped-def]
    rep = await make_user(conn, settings, role=Role.rep)
    other = await make_user(conn, settings, role=Role.rep)
    k1 = await make_customer(conn, owner_id=rep.id, tier="strategic", grade="A")
    k2 = await make_customer(conn, owner_id=rep.id, tier="growth", grade="B")
    k3 = await make_customer(conn, owner_id=rep.id, tier="potential")
    k4 = await make_customer(
        conn, owner_id=rep.id, tier="potential", tier_override="strategic", grade="A"
    )
    theirs = await make_customer(conn, owner_id=other.id, tier="dormant", grade="C")
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
    assert {v for k, v in rows.items() if k[:2] == (jan, "USD")} == {("0.00", None, 0, None)}
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
        feb_usd[("tier", "potential")] == feb_usd[("grade", None)] == ("500.00", "100.00", 0, None)
    )
    assert feb_usd[("tier", "strategic")] == ("0.00", "0.00", 0, None)
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
