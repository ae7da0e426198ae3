"""Sales and forecast reports, every number computed by hand.

Won deals of rep A (January to March 2026):
- S1 closed 01-11 after 10 days, accepted contract 1,200.50 (its 1,000.00 estimate ignored);
- S2 closed 01-31 23:59:59 after 61 days, no contract: counts at its 800.25 estimate;
- S3 closed 02-01 00:00:00 after 17 days, no amount anywhere (unpriced);
- S4 closed 02-21 after 20 days: quote v1 (1,500.00) superseded by v2 (1,400.00), which
  the contract was made from: 1,400.00;
- S5 closed 02-15 after 5 days, contract in USD 300.00 (its CNY estimate ignored);
- S6 was won and reopened: open now, in no figure;
- S7 lost earlier, reopened, won 03-10 after 68 days at its 700.00 estimate;
- S8 closed 03-20 after 19 days, its only contract terminated: 250.00 estimate.
Lost: X1 (01-20), X2 (03-31 23:59:59); X3 closed 04-01 00:00, outside the period.
Rep B (another team) won 10,000.00 on 01-05.
"""

from datetime import date
from decimal import Decimal

import pytest

from app.core.enums import Role
from app.models import Contract, QuoteVersion
from tests.factories import (
    insert,
    make_contract_for,
    make_customer,
    make_deal,
    make_lead,
    make_quote,
    make_team,
    make_user,
)
from tests.reports.helpers import at, pick, report

PERIOD = {"from": "2026-01-01", "to": "2026-04-01"}
FIGURES = (
    "won_count", "won_amount", "average_deal_size", "estimated_count", "unpriced_count",
    "lost_count", "win_rate_pct", "median_sales_cycle_days",
)  # fmt: skip
ZERO = (0, "0.00", None, 0, 0, 0, None, None)


async def _won(conn, owner, created, closed, **values):  # type: ignore[no-untyped-def]
    return await make_deal(
        conn, owner_id=owner.id, stage="won", created_at=at(created), closed_at=at(closed),
        stage_changed_at=at(closed), **values,
    )  # fmt: skip


async def _superseded_then_contracted(conn, deal_id, owner_id):  # type: ignore[no-untyped-def]
    """Quote v1 at 1,500.00 superseded by v2 at 1,400.00; the contract is made from v2."""
    first = await make_quote(
        conn, deal_id=deal_id, owner_id=owner_id, status="superseded", unit_list_price="1500.00"
    )
    second = await insert(
        conn, QuoteVersion, quote_id=first["quote_id"], number=2, status="accepted",
        currency="CNY", valid_until=date(2026, 3, 1), list_total=Decimal("1400.00"),
        subtotal=Decimal("1400.00"), total=Decimal("1400.00"), fingerprint="v2",
    )  # fmt: skip
    await insert(
        conn, Contract, title="S4", quote_id=first["quote_id"], quote_version_id=second["id"],
        deal_id=deal_id, owner_id=owner_id, status="closed", amount=Decimal("1400.00"),
    )  # fmt: skip


@pytest.fixture
async def world(conn, settings):  # type: ignore[no-untyped-def]
    team, other_team = await make_team(conn, name="East"), await make_team(conn, name="West")
    rep = await make_user(conn, settings, role=Role.rep, team_id=team, name="Rep A")
    other = await make_user(conn, settings, role=Role.rep, team_id=other_team, name="Rep B")
    director = await make_user(conn, settings, role=Role.director)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    strategic = await make_customer(
        conn, owner_id=rep.id, tier="potential", tier_override="strategic"
    )
    referral = await make_lead(conn, owner_id=rep.id, source="referral", status="converted")
    s1 = await _won(
        conn, rep, "2026-01-01", "2026-01-11", amount=Decimal("1000.00"), product="Sensors",
        lead_id=referral,
    )  # fmt: skip
    await make_contract_for(conn, deal_id=s1, owner_id=rep.id, amount="1200.50")
    await _won(
        conn, rep, "2025-12-01T23:59:59", "2026-01-31T23:59:59", amount=Decimal("800.25"),
        product="Sensors",
    )  # fmt: skip
    await _won(conn, rep, "2026-01-15", "2026-02-01T00:00:00", product="Cabinet")
    s4 = await _won(
        conn, rep, "2026-02-01", "2026-02-21", amount=Decimal("5000.00"), product="Cabinet",
        customer_id=strategic,
    )  # fmt: skip
    await _superseded_then_contracted(conn, s4, rep.id)
    s5 = await _won(
        conn, rep, "2026-02-10", "2026-02-15", amount=Decimal("9999.00"), product="Sensors"
    )
    await make_contract_for(conn, deal_id=s5, owner_id=rep.id, amount="300.00", currency="USD")
    await make_deal(
        conn, owner_id=rep.id, stage="implementation", created_at=at("2026-01-02"),
        amount=Decimal("4444.00"),
    )  # fmt: skip
    await _won(conn, rep, "2026-01-01", "2026-03-10", amount=Decimal("700.00"))
    s8 = await _won(conn, rep, "2026-03-01", "2026-03-20", amount=Decimal("250.00"))
    await make_contract_for(conn, deal_id=s8, owner_id=rep.id, amount="999.00", status="terminated")
    for closed in ("2026-01-20", "2026-03-31T23:59:59", "2026-04-01T00:00:00"):
        await make_deal(
            conn, owner_id=rep.id, stage="lost", created_at=at("2026-01-01"),
            closed_at=at(closed), lost_reason="price",
        )  # fmt: skip
    await _won(conn, other, "2026-01-01", "2026-01-05", amount=Decimal("10000.00"))
    return {"rep": rep, "other": other, "director": director, "manager": manager}


async def test_every_sales_number_by_month_and_currency(client, world):
    body = await report(client, "sales", world["rep"], **PERIOD)
    keys = [(r["period_start"], r["currency"]) for r in body["rows"]]
    assert keys == [
        (m, c) for m in ("2026-01-01", "2026-02-01", "2026-03-01") for c in ("CNY", "USD")
    ]
    assert all(r["owner_id"] is r["team_id"] is r["product"] is None for r in body["rows"])
    rows = {(r["period_start"], r["currency"]): tuple(r[f] for f in FIGURES) for r in body["rows"]}
    assert rows == {
        ("2026-01-01", "CNY"): (2, "2000.75", "1000.38", 1, 0, 1, "66.67", "35.50"),
        ("2026-01-01", "USD"): ZERO,
        ("2026-02-01", "CNY"): (2, "1400.00", "1400.00", 0, 1, 0, "100.00", "18.50"),
        ("2026-02-01", "USD"): (1, "300.00", "300.00", 0, 0, 0, "100.00", "5.00"),
        ("2026-03-01", "CNY"): (2, "950.00", "475.00", 2, 0, 1, "66.67", "43.50"),
        ("2026-03-01", "USD"): ZERO,
    }
    totals = {t["currency"]: tuple(t[f] for f in FIGURES) for t in body["totals"]}
    assert totals == {
        "CNY": (6, "4350.75", "870.15", 3, 1, 2, "75.00", "19.50"),
        "USD": (1, "300.00", "300.00", 0, 0, 0, "100.00", "5.00"),
    }


async def test_by_product_and_filters(client, world):
    body = await report(client, "sales", world["rep"], by="product", **PERIOD)
    totals = {
        (t["product"], t["currency"]): (t["won_count"], t["won_amount"], t["lost_count"])
        for t in body["totals"]
    }
    assert totals == {
        ("Cabinet", "CNY"): (2, "1400.00", 0),
        ("Sensors", "CNY"): (2, "2000.75", 0),
        ("Sensors", "USD"): (1, "300.00", 0),
        (None, "CNY"): (2, "950.00", 2),
    }
    assert len(body["rows"]) == 3 * 4  # every month for every product and currency
    cabinet = await report(client, "sales", world["rep"], product="Cabinet", **PERIOD)
    assert [(t["won_count"], t["won_amount"], t["unpriced_count"]) for t in cabinet["totals"]] == [
        (2, "1400.00", 1)
    ]
    strategic = await report(client, "sales", world["rep"], tier="strategic", **PERIOD)
    assert [(t["won_count"], t["won_amount"]) for t in strategic["totals"]] == [(1, "1400.00")]
    referral = await report(client, "sales", world["rep"], channel="referral", **PERIOD)
    assert [(t["won_count"], t["won_amount"]) for t in referral["totals"]] == [(1, "1200.50")]


async def test_by_owner_and_team_with_names_for_the_director(client, world):
    body = await report(client, "sales", world["director"], by="owner", **PERIOD)
    totals = pick(
        body["totals"], "owner_name", "team_name", "won_count", "won_amount", currency="CNY"
    )
    assert sorted(totals) == [("Rep A", "East", 6, "4350.75"), ("Rep B", "West", 1, "10000.00")]
    january = pick(
        body["rows"], "owner_id", "won_amount", period_start="2026-01-01", currency="CNY"
    )
    assert sorted(january) == sorted(
        [(str(world["rep"].id), "2000.75"), (str(world["other"].id), "10000.00")]
    )
    teams = await report(client, "sales", world["director"], by="team", **PERIOD)
    by_team = pick(teams["totals"], "team_name", "owner_id", "won_amount", currency="CNY")
    assert sorted(by_team) == [("East", None, "4350.75"), ("West", None, "10000.00")]
    manager_view = await report(client, "sales", world["manager"], **PERIOD)
    rep_view = await report(client, "sales", world["rep"], **PERIOD)
    assert manager_view == rep_view


async def test_an_empty_period_is_zero_rows_in_the_default_currency(client, world):
    body = await report(client, "sales", world["rep"], **{"from": "2025-01-01", "to": "2025-03-01"})
    assert [(r["period_start"], r["currency"]) for r in body["rows"]] == [
        ("2025-01-01", "CNY"), ("2025-02-01", "CNY"),
    ]  # fmt: skip
    assert all(tuple(r[f] for f in FIGURES) == ZERO for r in body["rows"])
    by_owner = await report(
        client, "sales", world["rep"], by="owner", **{"from": "2025-01-01", "to": "2025-03-01"}
    )
    assert by_owner["rows"] == by_owner["totals"] == []


# ------------------------------------------------------------------ forecast


@pytest.fixture
async def pipeline(conn, settings):  # type: ignore[no-untyped-def]
    rep = await make_user(conn, settings, role=Role.rep)
    for stage, amount, close, currency in [
        ("development", "1000.00", "2026-01-15", "CNY"),
        ("proposal", "333.33", "2026-01-31", "CNY"),
        ("negotiation", "1234.56", "2026-02-01", "CNY"),
        ("implementation", None, "2026-02-10", "CNY"),
        ("development", "1.25", "2026-03-31", "CNY"),  # 0.125 rounds half up to 0.13
        ("proposal", "100.00", "2026-02-15", "USD"),
        ("won", "500.00", "2026-02-01", "CNY"),  # closed: not pipeline
        ("lost", "500.00", "2026-02-01", "CNY"),
        ("bidding", "500.00", "2026-04-01", "CNY"),  # closes after the period
        ("bidding", "500.00", "2025-12-31", "CNY"),  # before it
    ]:
        await make_deal(
            conn, owner_id=rep.id, stage=stage, currency=currency,
            amount=None if amount is None else Decimal(amount),
            expected_close_date=date.fromisoformat(close),
        )  # fmt: skip
    return rep


async def test_weighted_forecast_by_expected_close_month(client, pipeline):
    body = await report(client, "sales/forecast", pipeline, **PERIOD)
    figures = ("open_count", "unpriced_count", "pipeline_amount", "weighted_amount")
    rows = {(r["period_start"], r["currency"]): tuple(r[f] for f in figures) for r in body["rows"]}
    assert rows == {
        ("2026-01-01", "CNY"): (2, 0, "1333.33", "233.33"),
        ("2026-01-01", "USD"): (0, 0, "0.00", "0.00"),
        ("2026-02-01", "CNY"): (2, 1, "1234.56", "987.65"),
        ("2026-02-01", "USD"): (1, 0, "100.00", "40.00"),
        ("2026-03-01", "CNY"): (1, 0, "1.25", "0.13"),
        ("2026-03-01", "USD"): (0, 0, "0.00", "0.00"),
    }
    totals = {t["currency"]: tuple(t[f] for f in figures) for t in body["totals"]}
    assert totals == {"CNY": (5, 1, "2569.14", "1221.11"), "USD": (1, 0, "100.00", "40.00")}
    quarter = await report(client, "sales/forecast", pipeline, grouping="quarter", **PERIOD)
    assert [r["weighted_amount"] for r in quarter["rows"]] == ["1221.11", "40.00"]


async def test_forecast_matches_the_weighted_amount_the_deals_show(pipeline):
    from app.core.enums import DealStage
    from app.rules.deals import DealPolicy, weighted_amount

    shown = [
        weighted_amount(Decimal(a), DealStage(s), DealPolicy())
        for s, a in [("development", "1000.00"), ("proposal", "333.33"), ("negotiation", "1234.56"),
                     ("development", "1.25")]
    ]  # fmt: skip
    assert sum(shown) == Decimal("1221.11")
