"""SLA attainment and open tickets on a hand-built set (January and February 2026).

T1 (January, the rep's customer) met both clocks. T2 answered late, resolved in time.
T3 (31 January 23:59:59) answered in time, unresolved past its due time. T4 (1 February
00:00) was resolved in time and reopened: its resolution clock runs again. T5 waits on
the customer past its old due time (paused, not breached). T6 carries a recorded
resolution breach although its final resolution is before its (retargeted) due time.
T7 is new and nothing is due yet. T8 and T9 fall outside the period; T10 was stored as
breached by the sweeper although its due times lie ahead.
"""

from datetime import timedelta

import pytest

from app.core.enums import Role
from app.models import TicketSlaEvent
from tests.factories import insert, make_customer, make_ticket_row, make_user
from tests.reports.helpers import at, pick, report

PERIOD = {"from": "2026-01-01", "to": "2026-03-01"}
LATER = at("2099-01-01")
FIGURES = (
    "tickets", "response_met", "response_breached", "response_pending",
    "response_attainment_pct", "resolution_met", "resolution_breached", "resolution_pending",
    "resolution_attainment_pct", "breaches",
)  # fmt: skip
H = timedelta(hours=1)


@pytest.fixture
async def world(conn, settings):  # type: ignore[no-untyped-def]
    rep = await make_user(conn, settings, role=Role.rep)
    g1 = await make_user(conn, settings, role=Role.support_agent, name="Agent One")
    g2 = await make_user(conn, settings, role=Role.support_agent, name="Agent Two")
    director = await make_user(conn, settings, role=Role.director)
    mine = await make_customer(conn, owner_id=rep.id)
    theirs = await make_customer(conn, owner_id=None)

    async def ticket(reported, customer, agent, type_, responded, resolved, **values):  # type: ignore[no-untyped-def]
        start = at(reported)
        values.setdefault("first_response_due_at", start + H)
        values.setdefault("resolution_due_at", start + 48 * H)
        return await make_ticket_row(
            conn, customer_id=customer, reported_at=start, type=type_,
            assignee_id=agent.id if agent else None,
            first_responded_at=None if responded is None else start + responded,
            resolved_at=None if resolved is None else start + resolved, **values,
        )  # fmt: skip

    await ticket("2026-01-05", mine, g1, "usage_question", H / 2, 24 * H, status="closed")
    await ticket("2026-01-10", theirs, g1, "hardware_fault", 2 * H, 40 * H, status="resolved")
    await ticket(
        "2026-01-31T23:59:59", theirs, g2, "complaint", H / 2, None, status="open",
        resolution_due_at=at("2026-02-02"),
    )  # fmt: skip
    await ticket(
        "2026-02-01T00:00:00", theirs, g2, "usage_question", H / 4, None, status="reopened",
        resolution_due_at=LATER,
    )  # fmt: skip
    await ticket(
        "2026-02-10", theirs, g1, "software_bug", H / 2, None, status="pending_customer",
        resolution_due_at=at("2026-02-11"),
    )  # fmt: skip
    t6 = await ticket(
        "2026-02-15", theirs, g2, "usage_question", H / 2, 60 * H, status="resolved",
        resolution_due_at=at("2026-02-15") + 72 * H,
    )  # fmt: skip
    await insert(
        conn, TicketSlaEvent, ticket_id=t6, seq=1, kind="breached", clock="resolution",
        at=at("2026-02-17"), policy_version="p1", calendar_version="c1", payload={},
        recorded_at=at("2026-02-17"),
    )  # fmt: skip
    await ticket(
        "2026-02-20", theirs, None, "usage_question", None, None, status="new",
        first_response_due_at=LATER, resolution_due_at=LATER,
    )  # fmt: skip
    await ticket(
        "2026-03-01T00:00:00", theirs, g1, "usage_question", H / 2, None, status="open",
        resolution_due_at=LATER, sla_status="at_risk",
    )  # fmt: skip
    await ticket("2025-12-31T23:59:59", theirs, g1, "usage_question", 5 * H, H, status="closed")
    await ticket(
        "2026-03-02", theirs, g2, "hardware_fault", H / 2, None, status="open",
        resolution_due_at=LATER, sla_status="breached",
    )  # fmt: skip
    return {"rep": rep, "g1": g1, "g2": g2, "director": director}


def _figures(row):  # type: ignore[no-untyped-def]
    return tuple(row[f] for f in FIGURES)


async def test_every_attainment_number(client, world):
    body = await report(client, "service", world["g1"], **PERIOD)
    assert [(r["period_start"], r["type"], r["agent_id"]) for r in body["rows"]] == [
        ("2026-01-01", None, None), ("2026-02-01", None, None),
    ]  # fmt: skip
    assert [_figures(r) for r in body["rows"]] == [
        (3, 2, 1, 0, "66.67", 2, 1, 0, "66.67", 2),
        (4, 3, 0, 1, "100.00", 0, 1, 3, "0.00", 1),
    ]
    assert [_figures(t) for t in body["totals"]] == [(7, 5, 1, 1, "83.33", 2, 2, 3, "50.00", 3)]
    director_view = await report(client, "service", world["director"], **PERIOD)
    assert director_view["totals"] == body["totals"]
    rep_view = await report(client, "service", world["rep"], **PERIOD)
    assert [_figures(t) for t in rep_view["totals"]] == [
        (1, 1, 0, 0, "100.00", 1, 0, 0, "100.00", 0)
    ]


async def test_by_type_lists_every_type(client, world):
    body = await report(client, "service", world["g1"], by="type", **PERIOD)
    assert len(body["rows"]) == 2 * 6
    totals = {t["type"]: _figures(t) for t in body["totals"]}
    assert totals == {
        "complaint": (1, 1, 0, 0, "100.00", 0, 1, 0, "0.00", 1),
        "feedback": (0, 0, 0, 0, None, 0, 0, 0, None, 0),
        "hardware_fault": (1, 0, 1, 0, "0.00", 1, 0, 0, "100.00", 1),
        "inspection": (0, 0, 0, 0, None, 0, 0, 0, None, 0),
        "software_bug": (1, 1, 0, 0, "100.00", 0, 0, 1, None, 0),
        "usage_question": (4, 3, 0, 1, "100.00", 1, 1, 2, "50.00", 1),
    }
    bugs = await report(client, "service", world["g1"], type="software_bug", **PERIOD)
    assert [t["tickets"] for t in bugs["totals"]] == [1]


async def test_by_agent_with_names(client, world):
    body = await report(client, "service", world["g1"], by="agent", **PERIOD)
    totals = {t["agent_name"]: _figures(t) for t in body["totals"]}
    assert totals == {
        "Agent One": (3, 2, 1, 0, "66.67", 2, 0, 1, "100.00", 1),
        "Agent Two": (3, 3, 0, 0, "100.00", 0, 2, 1, "0.00", 2),
        None: (1, 0, 0, 1, None, 0, 0, 1, None, 0),
    }
    assert pick(body["totals"], "agent_id", agent_name="Agent One") == [(str(world["g1"].id),)]
    one = await report(client, "service", world["g1"], agent_id=str(world["g2"].id), **PERIOD)
    assert [t["tickets"] for t in one["totals"]] == [3]


async def test_open_tickets_by_sla_status_now(client, world):
    response = await client.get("/api/v1/reports/service/open-tickets", headers=world["g1"].headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "as_of" in body
    counts = ("open", "on_track", "at_risk", "breached")
    assert [tuple(t[c] for c in counts) for t in body["totals"]] == [(6, 3, 1, 2)]
    by_type = await client.get(
        "/api/v1/reports/service/open-tickets", params={"by": "type"}, headers=world["g1"].headers
    )
    rows = {r["type"]: tuple(r[c] for c in counts) for r in by_type.json()["rows"]}
    assert rows == {
        "complaint": (1, 0, 0, 1),
        "hardware_fault": (1, 0, 0, 1),
        "software_bug": (1, 1, 0, 0),
        "usage_question": (3, 2, 1, 0),
    }
    refused = await client.get(
        "/api/v1/reports/service/open-tickets", params={"from": "2026-01-01"},
        headers=world["g1"].headers,
    )  # fmt: skip
    assert refused.status_code == 400
