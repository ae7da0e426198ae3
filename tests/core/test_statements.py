"""Prebuilt write statements: built once per shape, each execution writes its own values."""

import sqlalchemy as sa

from app.audit.service import audit_table
from app.core import statements
from app.core.clock import utcnow
from app.core.ids import new_id


def _entry(action: str) -> dict[str, object]:
    return {
        "id": new_id(),
        "at": utcnow(),
        "actor_type": "system",
        "actor_id": None,
        "actor_name": "system",
        "action": action,
        "entity_type": "probe",
        "entity_id": new_id(),
        "before": {},
        "after": {"n": action},
        "request_id": None,
    }


async def _actions(conn, entries) -> list[str]:
    ids = [entry["id"] for entry in entries]
    rows = await conn.execute(
        sa.select(audit_table.c.action, audit_table.c.after)
        .where(audit_table.c.id.in_(ids))
        .order_by(audit_table.c.action)
    )
    return [f"{action}:{after['n']}" for action, after in rows]


async def test_a_shape_reused_writes_each_executions_own_values(conn):
    first, second, third, fourth = (_entry(name) for name in ("a", "b", "c", "d"))
    await statements.execute_together(
        conn, [statements.insert(audit_table, first), statements.insert(audit_table, second)]
    )
    # The same sequence of shapes again: the combined statement is reused, the values not.
    await statements.execute_together(
        conn, [statements.insert(audit_table, third), statements.insert(audit_table, fourth)]
    )
    assert await _actions(conn, [first, second, third, fourth]) == ["a:a", "b:b", "c:c", "d:d"]


async def test_prebuilt_and_ad_hoc_statements_run_together(conn):
    prebuilt, ad_hoc = _entry("p"), _entry("q")
    await statements.execute_together(
        conn, [statements.insert(audit_table, prebuilt), audit_table.insert().values(ad_hoc)]
    )
    assert await _actions(conn, [prebuilt, ad_hoc]) == ["p:p", "q:q"]


async def test_an_update_by_id_changes_only_its_row(conn):
    kept, changed = _entry("k"), _entry("m")
    for entry in (kept, changed):
        await statements.run(conn, statements.insert(audit_table, entry))
    update = statements.update_by_id(
        audit_table, changed["id"], {"action": "z"}, returning=[audit_table.c.action]
    )
    assert (await statements.run(conn, update)).scalar_one() == "z"
    assert await _actions(conn, [kept, changed]) == ["k:k", "z:m"]


async def test_a_few_rows_share_one_prebuilt_insert_and_each_run_writes_its_own(conn):
    batches = [[_entry("r1"), _entry("r2")], [_entry("r3"), _entry("r4")]]
    for batch in batches:
        write = statements.insert_rows(audit_table, batch)
        assert isinstance(write, statements.Write)
        await statements.execute_together(conn, [write])
    assert await _actions(conn, [e for batch in batches for e in batch]) == [
        "r1:r1",
        "r2:r2",
        "r3:r3",
        "r4:r4",
    ]
    many = [_entry(f"m{n:02}") for n in range(statements.ROWS_PREBUILT + 1)]
    await statements.execute_together(conn, [statements.insert_rows(audit_table, many)])
    assert len(await _actions(conn, many)) == len(many)
