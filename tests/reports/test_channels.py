"""Channel and campaign ROI on a hand-built dataset (January to March 2026, monthly).

Rep A's leads: Expo (trade show) C1 converted in January into a deal won in April for a
10,000.00 contract, C2 qualified in January, C3 new in February; Search Q1 (search ads)
C4 converted in January into a lost deal; C5 (search ads, no campaign) converted in March
into a deal won at its 2,000.00 estimate. C6 (Expo) was created before the period.
Campaigns: Expo cost 4,000.00 from 1 January, Search Q1 500.00 from 10 February, Webinar
no cost yet from 5 March; "Old" started before the period.
"""

from datetime import date
from decimal import Decimal

import pytest

from app.core.enums import LeadSource, Role
from tests.factories import (
    make_api_key,
    make_campaign,
    make_contract_for,
    make_deal,
    make_lead,
    make_user,
)
from tests.reports.helpers import at, pick, report

PERIOD = {"from": "2026-01-01", "to": "2026-04-01"}
FIGURES = ("leads", "qualified", "converted", "won", "revenue", "cost", "roi_pct")
NOTHING = (0, 0, 0, 0, "0.00", None, None)


@pytest.fixture
async def world(conn, settings):  # type: ignore[no-untyped-def]
    rep = await make_user(conn, settings, role=Role.rep)
    other = await make_user(conn, settings, role=Role.rep)
    director = await make_user(conn, settings, role=Role.director)

    async def lead(owner, source, campaign, created, status):  # type: ignore[no-untyped-def]
        return await make_lead(
            conn, owner_id=owner.id, source=source, campaign=campaign, created_at=at(created),
            status=status,
        )  # fmt: skip

    c1 = await lead(rep, "trade_show", "Expo", "2026-01-10", "converted")
    won = await make_deal(
        conn, owner_id=rep.id, lead_id=c1, stage="won", closed_at=at("2026-04-15"),
        amount=Decimal("1.00"),
    )  # fmt: skip
    await make_contract_for(conn, deal_id=won, owner_id=rep.id, amount="10000.00")
    await lead(rep, "trade_show", "Expo", "2026-01-20", "qualified")
    await lead(rep, "trade_show", "Expo", "2026-02-05", "new")
    c4 = await lead(rep, "search_ads", "Search Q1", "2026-01-05", "converted")
    await make_deal(conn, owner_id=rep.id, lead_id=c4, stage="lost", closed_at=at("2026-02-01"))
    c5 = await lead(rep, "search_ads", None, "2026-03-01", "converted")
    await make_deal(
        conn, owner_id=rep.id, lead_id=c5, stage="won", closed_at=at("2026-03-15"),
        amount=Decimal("2000.00"),
    )  # fmt: skip
    c6 = await lead(rep, "trade_show", "Expo", "2025-12-31T23:59:59", "converted")
    await make_deal(
        conn, owner_id=rep.id, lead_id=c6, stage="won", closed_at=at("2026-01-15"),
        amount=Decimal("99999.00"),
    )  # fmt: skip
    await lead(other, "trade_show", "Expo", "2026-01-15", "new")
    await make_campaign(conn, name="Expo", cost=Decimal("4000.00"), starts_on=date(2026, 1, 1))
    await make_campaign(
        conn, name="Search Q1", channel="search_ads", cost=Decimal("500.00"),
        starts_on=date(2026, 2, 10),
    )  # fmt: skip
    await make_campaign(conn, name="Webinar", channel="email_campaign", starts_on=date(2026, 3, 5))
    await make_campaign(conn, name="Old", cost=Decimal("777.00"), starts_on=date(2025, 12, 1))
    return {"rep": rep, "director": director}


QUIET = [c for c in LeadSource if c not in ("email_campaign", "search_ads", "trade_show")]


async def test_every_channel_number(client, world):
    body = await report(client, "channels", world["rep"], **PERIOD)
    keys = [("email_campaign", "Webinar"), ("search_ads", "Search Q1"), ("search_ads", None),
            ("trade_show", "Expo")]  # fmt: skip
    every = sorted([*keys, *((c.value, None) for c in QUIET)], key=lambda k: k[0])
    assert [(r["period_start"], r["channel"], r["campaign"]) for r in body["rows"]] == [
        (m, *k) for m in ("2026-01-01", "2026-02-01", "2026-03-01") for k in every
    ]
    assert {r["currency"] for r in body["rows"]} == {"CNY"}
    rows = {(r["period_start"], r["campaign"]): tuple(r[f] for f in FIGURES) for r in body["rows"]
            if (r["channel"], r["campaign"]) in keys}  # fmt: skip
    # A rep sees no campaign cost: it is set against every lead, most of them not theirs.
    assert rows == {
        ("2026-01-01", "Webinar"): NOTHING,
        ("2026-01-01", "Search Q1"): (1, 1, 1, 0, "0.00", None, None),
        ("2026-01-01", None): NOTHING,
        ("2026-01-01", "Expo"): (2, 2, 1, 1, "10000.00", None, None),
        ("2026-02-01", "Webinar"): NOTHING,
        ("2026-02-01", "Search Q1"): NOTHING,
        ("2026-02-01", None): NOTHING,
        ("2026-02-01", "Expo"): (1, 0, 0, 0, "0.00", None, None),
        ("2026-03-01", "Webinar"): NOTHING,
        ("2026-03-01", "Search Q1"): NOTHING,
        ("2026-03-01", None): (1, 1, 1, 1, "2000.00", None, None),
        ("2026-03-01", "Expo"): NOTHING,
    }
    quiet = [tuple(r[f] for f in FIGURES) for r in body["rows"] if r["channel"] in QUIET]
    assert quiet == [NOTHING] * 3 * len(QUIET)
    totals = {t["campaign"]: tuple(t[f] for f in FIGURES) for t in body["totals"]
              if (t["channel"], t["campaign"]) in keys}  # fmt: skip
    assert totals == {
        "Webinar": NOTHING,
        "Search Q1": (1, 1, 1, 0, "0.00", None, None),
        None: (1, 1, 1, 1, "2000.00", None, None),
        "Expo": (3, 2, 1, 1, "10000.00", None, None),
    }


async def test_cost_and_roi_only_for_who_sees_every_lead(client, conn, settings, world):
    body = await report(client, "channels", world["director"], **PERIOD)
    costs = {(r["period_start"], r["campaign"]): (r["leads"], r["cost"], r["roi_pct"])
             for r in body["rows"] if r["cost"] is not None}  # fmt: skip
    # Rep B's Expo lead counts too: 3 Expo leads in January, revenue 10,000.00 on 4,000.00.
    assert costs == {
        ("2026-01-01", "Expo"): (3, "4000.00", "150.00"),
        ("2026-02-01", "Search Q1"): (0, "500.00", "-100.00"),
    }
    partner = await make_api_key(conn, scopes=["leads:read", "deals:read"])
    assert (await report(client, "channels", partner, **PERIOD))["totals"] == body["totals"]
    mine = await report(client, "channels", world["director"], owner_id=str(world["rep"].id),
                        **PERIOD)  # fmt: skip
    assert {t["cost"] for t in mine["totals"]} == {None}
    manager = await make_user(conn, settings, role=Role.manager)
    team_view = await report(client, "channels", manager, **PERIOD)
    assert {t["cost"] for t in team_view["totals"]} == {None}


async def test_a_lead_names_its_campaign_in_any_case(client, conn, world):
    for text in (" expo ", "EXPO", "Webinar"):
        await make_lead(
            conn, owner_id=world["rep"].id, source="trade_show", campaign=text,
            created_at=at("2026-03-10"),
        )  # fmt: skip
    await make_lead(
        conn, owner_id=world["rep"].id, source="event", campaign=" Roadshow ",
        created_at=at("2026-03-11"),
    )  # fmt: skip
    body = await report(client, "channels", world["rep"], grouping="quarter", **PERIOD)
    leads = {(t["channel"], t["campaign"]): t["leads"] for t in body["totals"] if t["leads"]}
    assert leads == {
        ("trade_show", "Expo"): 5,
        ("trade_show", "Webinar"): 1,
        ("search_ads", "Search Q1"): 1,
        ("search_ads", None): 1,
        ("event", "Roadshow"): 1,
    }


async def test_a_quiet_period_lists_every_channel_with_zeros(client, world):
    quiet = {"from": "2027-01-01", "to": "2027-03-01"}
    body = await report(client, "channels", world["director"], **quiet)
    assert [(r["period_start"], r["channel"]) for r in body["rows"]] == [
        (m, c.value) for m in ("2027-01-01", "2027-02-01") for c in sorted(LeadSource)
    ]
    assert {(r["campaign"], r["currency"], *(r[f] for f in FIGURES)) for r in body["rows"]} == {
        (None, "CNY", *NOTHING)
    }
    assert len(body["totals"]) == len(LeadSource)
    one = await report(client, "channels", world["director"], channel="referral", **quiet)
    assert [(t["channel"], t["leads"]) for t in one["totals"]] == [("referral", 0)]


async def test_channel_filter_and_visibility(client, world):
    shows = await report(client, "channels", world["rep"], channel="trade_show", **PERIOD)
    assert pick(shows["totals"], "channel", "campaign", "leads", "cost") == [
        ("trade_show", "Expo", 3, None)
    ]
    everyone = await report(client, "channels", world["director"], channel="trade_show", **PERIOD)
    assert pick(everyone["totals"], "leads", "roi_pct") == [(4, "150.00")]
    quarter = await report(client, "channels", world["rep"], grouping="quarter", **PERIOD)
    revenue = {r["campaign"]: r["revenue"] for r in quarter["rows"] if r["revenue"] != "0.00"}
    assert revenue == {None: "2000.00", "Expo": "10000.00"}
