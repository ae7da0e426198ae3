"""Time in stage (`deal_stage_stays`): kept move by move, equal to a rebuild from the history,
and following the deal's owner."""

import uuid

import sqlalchemy as sa

from app.core.enums import Role
from app.deals.stays import rebuild, stays_table
from tests.factories import make_deal, make_stage_history, make_team, make_user
from tests.reports.helpers import at

HISTORIES = {
    "straight": [("development", "2026-01-01"), ("initiation", "2026-01-03")],
    # Back and forth: two visits to initiation, one still under way.
    "back_and_forth": [
        ("development", "2026-01-01"),
        ("initiation", "2026-01-02T06:00:00"),
        ("development", "2026-01-04"),
        ("initiation", "2026-01-05T12:00:00"),
    ],
    "closed": [
        ("development", "2026-01-01"),
        ("initiation", "2026-01-11"),
        ("lost", "2026-01-21"),
    ],
    # A move dated before the one it follows adds no time (never negative).
    "back_dated": [
        ("development", "2026-02-01"),
        ("implementation", "2026-02-10"),
        ("won", "2026-02-05"),
    ],
}


async def _stays(conn, deal_ids):  # type: ignore[no-untyped-def]
    s = stays_table
    rows = await conn.execute(
        sa.select(
            s.c.deal_id,
            s.c.stage,
            s.c.owner_id,
            s.c.first_arrived_at,
            s.c.arrived_at,
            s.c.seconds_in_stage,
            s.c.visits,
        ).where(s.c.deal_id.in_(deal_ids))
    )
    return {(r.deal_id, r.stage): r._asdict() for r in rows}


async def test_kept_move_by_move_and_rebuilt_alike(conn, settings):
    rep = await make_user(conn, settings, role=Role.rep)
    deals = {}
    for name, moves in HISTORIES.items():
        deals[name] = await make_deal(conn, owner_id=rep.id, stage=moves[-1][0])
        await make_stage_history(conn, deal_id=deals[name], moves=[(s, at(t)) for s, t in moves])

    kept = await _stays(conn, list(deals.values()))
    by = {(name, stage): kept[(deal_id, stage)] for name, deal_id in deals.items() for _, stage in [
        (None, s) for s, _ in HISTORIES[name]
    ]}  # fmt: skip

    forth = by[("back_and_forth", "initiation")]
    assert forth["visits"] == 2
    assert forth["first_arrived_at"] == at("2026-01-02T06:00:00")
    assert forth["arrived_at"] == at("2026-01-05T12:00:00")  # still there
    assert forth["seconds_in_stage"] == 42 * 3600  # the finished first visit
    development = by[("back_and_forth", "development")]
    assert development["visits"] == 2 and development["arrived_at"] is None
    assert development["seconds_in_stage"] == (30 + 36) * 3600
    closed = by[("closed", "initiation")]
    assert closed["arrived_at"] is None and closed["seconds_in_stage"] == 10 * 86400
    assert by[("back_dated", "implementation")]["seconds_in_stage"] == 0
    assert by[("straight", "development")]["seconds_in_stage"] == 2 * 86400
    assert {row["owner_id"] for row in kept.values()} == {rep.id}

    await conn.execute(sa.delete(stays_table).where(stays_table.c.deal_id.in_(deals.values())))
    await conn.execute(rebuild(conn.dialect.name))
    rebuilt = await _stays(conn, list(deals.values()))
    in_order = [deal_id for name, deal_id in deals.items() if name != "back_dated"]
    assert {k: v for k, v in rebuilt.items() if k[0] in in_order} == {
        k: v for k, v in kept.items() if k[0] in in_order
    }
    # A rebuild takes moves in time order; either way no stage gets negative time.
    assert all(v["seconds_in_stage"] >= 0 for v in rebuilt.values())


async def test_reassigning_a_deal_moves_its_stays(client, conn, settings):
    team = await make_team(conn)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    rep = await make_user(conn, settings, role=Role.rep, team_id=team)
    other = await make_user(conn, settings, role=Role.rep, team_id=team)
    created = await client.post(
        "/api/v1/deals", json={"name": "Pump retrofit", "owner_id": str(rep.id)},
        headers=manager.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    deal_id = uuid.UUID(created.json()["id"])

    patched = await client.patch(
        f"/api/v1/deals/{deal_id}", json={"owner_id": str(other.id)},
        headers={**manager.headers, "If-Match": created.headers["etag"]},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    owners = (
        await conn.execute(
            sa.select(stays_table.c.owner_id).where(stays_table.c.deal_id == deal_id)
        )
    ).scalars()
    assert list(owners) == [other.id]
