"""The funnel, asserted number by number on a small dataset built by hand.

Rep A's records (January to March 2026, monthly):
- leads L1..L6: January has L1 (new), L2 (qualified), L3 (converted; created one second
  before February); February has L4 (converted, created at midnight) and L6 (qualified on
  02-20, then sent back to nurturing: it still counts as qualified); L5 was created one
  second before the period and never counts;
- D1 (product Conveyor) goes development 01-05, initiation 01-15, proposal 02-01, back to
  initiation 02-10, proposal again 02-20, bidding 03-01 (still there): proposal counts
  once, in February;
- D2 (a strategic customer's) opened in December (its development arrival is outside the
  period) and runs through every stage to won on 03-01;
- D3 opens 01-20 and is lost on 02-05;
- D4 (product Conveyor) runs all stages in early February, is won 02-10 and reopened
  03-05: it still counts as won, in February.
Rep B (another team) has one lead and one deal in January that A never sees.
"""

import pytest

from app.core.enums import Role
from tests.factories import (
    make_api_key,
    make_customer,
    make_deal,
    make_lead,
    make_stage_history,
    make_team,
    make_user,
)
from tests.reports.helpers import at, pick, report

PERIOD = {"from": "2026-01-01", "to": "2026-04-01"}
STEPS = [
    "leads", "qualified", "converted", "development", "initiation", "proposal", "bidding",
    "negotiation", "implementation", "won",
]  # fmt: skip
FULL_PATH = ["development", "initiation", "proposal", "bidding", "negotiation", "implementation"]


async def _deal(conn, owner, moves, **values):  # type: ignore[no-untyped-def]
    stage = values.pop("stage", moves[-1][0])
    deal_id = await make_deal(
        conn, owner_id=owner.id, stage=stage, stage_changed_at=at(moves[-1][1]), **values
    )
    await make_stage_history(conn, deal_id=deal_id, moves=[(s, at(t)) for s, t in moves])
    return deal_id


@pytest.fixture
async def world(conn, settings):  # type: ignore[no-untyped-def]
    team, other_team = await make_team(conn), await make_team(conn)
    rep = await make_user(conn, settings, role=Role.rep, team_id=team)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    other = await make_user(conn, settings, role=Role.rep, team_id=other_team)
    director = await make_user(conn, settings, role=Role.director)
    lead = {}
    for name, created, status, source in [
        ("L1", "2026-01-10", "new", "website_form"),
        ("L2", "2026-01-20", "qualified", "website_form"),
        ("L3", "2026-01-31T23:59:59", "converted", "trade_show"),
        ("L4", "2026-02-01T00:00:00", "converted", "website_form"),
        ("L5", "2025-12-31T23:59:59", "converted", "trade_show"),
        ("L6", "2026-02-15", "nurturing", "trade_show"),
    ]:
        converted_at = at(created) if status == "converted" else None
        lead[name] = await make_lead(
            conn, owner_id=rep.id, created_at=at(created), status=status, source=source,
            converted_at=converted_at,
            **({"qualified_at": at("2026-02-20")} if name == "L6" else {}),
        )  # fmt: skip
    await make_lead(conn, owner_id=other.id, created_at=at("2026-01-15"), status="qualified")
    await _deal(
        conn, rep,
        [("development", "2026-01-05"), ("initiation", "2026-01-15"),
         ("proposal", "2026-02-01"), ("initiation", "2026-02-10"),
         ("proposal", "2026-02-20"), ("bidding", "2026-03-01")],
        lead_id=lead["L3"], product="Conveyor",
    )  # fmt: skip
    d2_moves = list(zip(FULL_PATH, ["2025-12-20", "2026-01-04", "2026-01-10", "2026-01-20",
                                    "2026-02-01", "2026-02-11"], strict=True))  # fmt: skip
    strategic = await make_customer(conn, owner_id=rep.id, tier="strategic")
    await _deal(
        conn, rep, [*d2_moves, ("won", "2026-03-01")], closed_at=at("2026-03-01"),
        customer_id=strategic,
    )  # fmt: skip
    await _deal(
        conn, rep, [("development", "2026-01-20"), ("lost", "2026-02-05")],
        closed_at=at("2026-02-05"),
    )  # fmt: skip
    d4_moves = [(s, f"2026-02-0{i + 1}") for i, s in enumerate(FULL_PATH)]
    await _deal(
        conn, rep, [*d4_moves, ("won", "2026-02-10"), ("implementation", "2026-03-05")],
        product="Conveyor",
    )  # fmt: skip
    await _deal(conn, other, [("development", "2026-01-10")])
    return {"rep": rep, "manager": manager, "director": director, "other": other}


def _figures(rows, **match):  # type: ignore[no-untyped-def]
    return pick(
        rows, "step", "count", "conversion_pct", "drop_off", "median_days_in_stage", **match
    )


async def test_every_number_of_the_funnel_by_month(client, world):
    body = await report(client, "funnel", world["rep"], **PERIOD)
    assert body["period"] == {"from": "2026-01-01", "to": "2026-04-01", "grouping": "month"}
    rows = body["rows"]
    assert [r["period_start"] for r in rows] == [
        m for m in ("2026-01-01", "2026-02-01", "2026-03-01") for _ in STEPS
    ]
    # Records (a lead with its deal is one) count at the furthest step they reached in
    # the month and at every step before it. January: L1 (leads), L2 (qualified), L3 with
    # D1 (initiation), D2 (bidding: it arrived at development in December), D3
    # (development).
    assert _figures(rows, period_start="2026-01-01") == [
        ("leads", 5, None, None, None),
        ("qualified", 4, "80.00", 1, None),
        ("converted", 3, "75.00", 1, None),
        ("development", 3, "100.00", 0, "13.00"),
        ("initiation", 2, "66.67", 1, "16.50"),
        ("proposal", 1, "50.00", 1, "10.00"),
        ("bidding", 1, "100.00", 0, "12.00"),
        ("negotiation", 0, "0.00", 1, None),
        ("implementation", 0, None, 0, None),
        ("won", 0, None, 0, None),
    ]
    # February: L3/D1 (proposal), L4 (converted), L6 (qualified), D2 (implementation),
    # D4 (won).
    assert _figures(rows, period_start="2026-02-01") == [
        ("leads", 5, None, None, None),
        ("qualified", 5, "100.00", 0, None),
        ("converted", 4, "80.00", 1, None),
        ("development", 3, "75.00", 1, "1.00"),
        ("initiation", 3, "100.00", 0, "1.00"),
        ("proposal", 3, "100.00", 0, "9.50"),
        ("bidding", 2, "66.67", 1, "1.00"),
        ("negotiation", 2, "100.00", 0, "5.50"),
        ("implementation", 2, "100.00", 0, "18.00"),
        ("won", 1, "50.00", 1, None),
    ]
    # March: D1 reaches bidding, D2 is won; D4's second visit to implementation is no
    # first arrival.
    assert _figures(rows, period_start="2026-03-01") == [
        ("leads", 2, None, None, None),
        ("qualified", 2, "100.00", 0, None),
        ("converted", 2, "100.00", 0, None),
        ("development", 2, "100.00", 0, None),
        ("initiation", 2, "100.00", 0, None),
        ("proposal", 2, "100.00", 0, None),
        ("bidding", 2, "100.00", 0, None),
        ("negotiation", 1, "50.00", 1, None),
        ("implementation", 1, "100.00", 0, None),
        ("won", 1, "100.00", 0, None),
    ]
    # Over the period each record counts once, at its furthest step: L1 leads, L2 and L6
    # qualified, L4 converted, D3 development, L3/D1 bidding, D2 and D4 won.
    assert _figures(body["totals"]) == [
        ("leads", 8, None, None, None),
        ("qualified", 7, "87.50", 1, None),
        ("converted", 5, "71.43", 2, None),
        ("development", 4, "80.00", 1, "10.00"),
        ("initiation", 3, "75.00", 1, "6.00"),
        ("proposal", 3, "100.00", 0, "10.00"),
        ("bidding", 3, "100.00", 0, "6.50"),
        ("negotiation", 2, "66.67", 1, "5.50"),
        ("implementation", 2, "100.00", 0, "18.00"),
        ("won", 2, "100.00", 0, None),
    ]


def _never_above_the_step_before(rows):  # type: ignore[no-untyped-def]
    return all(
        r["conversion_pct"] is None or (0 <= float(r["conversion_pct"]) <= 100) for r in rows
    ) and all(r["drop_off"] is None or r["drop_off"] >= 0 for r in rows)


async def test_later_stages_entered_without_the_earlier_ones_never_convert_over_100(
    client, conn, settings
):
    """Deals that entered later stages in the month without their earlier ones being
    counted there (opened the month before, imported straight into a late stage, or a
    rush of deals opened without leads): each counts at every step before its furthest."""
    rep = await make_user(conn, settings, role=Role.rep)
    for index in range(12):
        # Opened in December; in January each reaches initiation or later.
        later = FULL_PATH[1 : 2 + index % 5]
        moves = [("development", "2025-12-10")] + [
            (stage, f"2026-01-{10 + i:02d}") for i, stage in enumerate(later)
        ]
        await _deal(conn, rep, moves)
    # Imported straight into negotiation in January, and won there.
    await _deal(conn, rep, [("negotiation", "2026-01-05"), ("won", "2026-01-25")])
    # One lead in January, converted.
    lead = await make_lead(
        conn, owner_id=rep.id, created_at=at("2026-01-03"), status="converted",
        converted_at=at("2026-01-04"),
    )  # fmt: skip
    await _deal(conn, rep, [("development", "2026-01-04")], lead_id=lead)
    body = await report(client, "funnel", rep, **{"from": "2026-01-01", "to": "2026-02-01"})
    assert _never_above_the_step_before(body["rows"] + body["totals"])
    counts = [t["count"] for t in body["totals"]]
    assert counts == sorted(counts, reverse=True)
    # 14 records: the 12 December deals, the imported one, the converted lead with its deal.
    assert dict(pick(body["totals"], "step", "count")) == {
        "leads": 14, "qualified": 14, "converted": 14, "development": 14, "initiation": 13,
        "proposal": 10, "bidding": 7, "negotiation": 5, "implementation": 3, "won": 1,
    }  # fmt: skip


async def test_manager_sees_the_team_and_director_sees_everyone(client, world):
    rep_view = await report(client, "funnel", world["rep"], **PERIOD)
    manager_view = await report(client, "funnel", world["manager"], **PERIOD)
    assert manager_view == rep_view
    director_view = await report(client, "funnel", world["director"], **PERIOD)
    january = dict(pick(director_view["rows"], "step", "count", period_start="2026-01-01"))
    # Rep B's lead (qualified) and deal (development) join rep A's five January records.
    assert (january["leads"], january["qualified"], january["development"]) == (7, 6, 4)
    theirs = await report(
        client, "funnel", world["director"], owner_id=str(world["other"].id), **PERIOD
    )
    # Their deal, opened without a lead, counts at the lead steps it skipped.
    assert [t["count"] for t in theirs["totals"]] == [2, 2, 1, 1, 0, 0, 0, 0, 0, 0]
    team = await report(
        client, "funnel", world["director"], team_id=str(world["rep"].team_id), **PERIOD
    )
    assert team["totals"] == rep_view["totals"]


async def test_channel_filter_follows_deals_back_to_their_lead(client, world):
    body = await report(client, "funnel", world["rep"], channel="trade_show", **PERIOD)
    # L3 and L6 are trade-show leads in the period; only D1 was converted from one.
    assert [(t["step"], t["count"]) for t in body["totals"]] == [
        ("leads", 2), ("qualified", 2), ("converted", 1), ("development", 1),
        ("initiation", 1), ("proposal", 1), ("bidding", 1), ("negotiation", 0),
        ("implementation", 0), ("won", 0),
    ]  # fmt: skip


async def test_product_and_tier_narrow_the_deal_steps_only(client, world):
    # D1 and D4 are Conveyor deals: D1 (L3's) reached bidding, D4 every stage and won.
    conveyor = await report(client, "funnel", world["rep"], product="Conveyor", **PERIOD)
    assert [t["count"] for t in conveyor["totals"]] == [6, 5, 3, 2, 2, 2, 2, 1, 1, 1]
    # D2 is the strategic customer's: it arrived at development in December, and counts
    # there too since it went on from there in the period.
    strategic = await report(client, "funnel", world["rep"], tier="strategic", **PERIOD)
    assert [t["count"] for t in strategic["totals"]] == [6, 5, 3, 1, 1, 1, 1, 1, 1, 1]
    nothing = await report(client, "funnel", world["rep"], product="Press", **PERIOD)
    assert [t["count"] for t in nothing["totals"]] == [5, 4, 2, 0, 0, 0, 0, 0, 0, 0]


async def test_a_deal_won_twice_counts_once_where_it_was_first_won(client, conn, world):
    rep = world["rep"]
    moves = [(s, f"2026-01-0{i + 1}") for i, s in enumerate(FULL_PATH)]
    await _deal(
        conn, rep, [*moves, ("won", "2026-01-10"), ("implementation", "2026-01-20"),
                    ("won", "2026-02-25")], closed_at=at("2026-02-25"), product="Twice",
    )  # fmt: skip
    body = await report(client, "funnel", rep, product="Twice", **PERIOD)
    assert dict(pick(body["rows"], "period_start", "count", step="won")) == {
        "2026-01-01": 1, "2026-02-01": 0, "2026-03-01": 0,
    }  # fmt: skip
    assert pick(body["totals"], "count", "median_days_in_stage", step="won") == [(1, None)]


async def test_quarter_and_week_buckets(client, world):
    quarter = await report(client, "funnel", world["rep"], grouping="quarter", **PERIOD)
    assert {r["period_start"] for r in quarter["rows"]} == {"2026-01-01"}
    assert [r["count"] for r in quarter["rows"]] == [r["count"] for r in quarter["totals"]]
    week = await report(
        client,
        "funnel",
        world["rep"],
        grouping="week",
        **{"from": "2026-01-29", "to": "2026-02-03"},
    )
    # Thursday 29 January is in the week of Monday the 26th; 1 February (Sunday) too.
    starts = sorted({r["period_start"] for r in week["rows"]})
    assert starts == ["2026-01-26", "2026-02-02"]
    leads = dict(pick(week["rows"], "period_start", "count", step="leads"))
    # L3 (31 Jan), L4, D2 and D4 (1 Feb, Sunday); D4 again on Monday 2 February.
    assert leads == {"2026-01-26": 4, "2026-02-02": 1}


async def test_a_partner_needs_both_scopes_and_an_agent_is_refused(client, conn, settings):
    deals_only = await make_api_key(conn, scopes=["deals:read"])
    response = await client.get("/api/v1/reports/funnel", params=PERIOD, headers=deals_only.headers)
    assert response.status_code == 403
    agent = await make_user(conn, settings, role=Role.support_agent)
    response = await client.get("/api/v1/reports/funnel", params=PERIOD, headers=agent.headers)
    assert response.status_code == 403
    both = await make_api_key(conn, scopes=["deals:read", "leads:read"])
    assert (await report(client, "funnel", both, **PERIOD))["totals"][0]["count"] == 0


async def test_buckets_are_utc_whatever_the_session_time_zone(client, conn, backend, world):
    if backend != "postgresql":
        pytest.skip("SQLite has no session time zone")
    import sqlalchemy as sa

    # In Shanghai, L3 (31 January 23:59:59 UTC) was created on 1 February.
    await conn.execute(sa.text("SET LOCAL TIME ZONE 'Asia/Shanghai'"))
    body = await report(client, "funnel", world["rep"], **PERIOD)
    leads = dict(pick(body["rows"], "period_start", "count", step="leads"))
    assert leads == {"2026-01-01": 5, "2026-02-01": 5, "2026-03-01": 2}


async def test_a_lead_qualified_then_nurtured_through_the_api_counts_as_qualified(
    client, conn, settings
):
    rep = await make_user(conn, settings, role=Role.rep)
    lead = await make_lead(conn, owner_id=rep.id, status="contacted")
    for status in ("qualified", "nurturing"):
        moved = await client.post(
            f"/api/v1/leads/{lead}/status", json={"status": status}, headers=rep.headers
        )
        assert moved.status_code == 200, moved.text
    created = moved.json()["created_at"][:10]
    next_year = f"{int(created[:4]) + 1}-01-01"
    body = await report(
        client, "funnel", rep, grouping="year", **{"from": created, "to": next_year}
    )
    assert [(t["step"], t["count"]) for t in body["totals"][:3]] == [
        ("leads", 1), ("qualified", 1), ("converted", 0),
    ]  # fmt: skip
