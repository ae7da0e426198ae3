"""The in-process scheduled round: re-tier, open due tasks, run deadlines, forget old keys."""

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.models import Customer, IdempotencyKey, LoginThrottle, Quote, Task
from app.ops import schedule
from tests.factories import make_customer, make_deal, make_quote, make_user

customers = Customer.__table__
tasks = Task.__table__


@pytest.fixture
async def gone_quiet(conn, settings):  # type: ignore[no-untyped-def]
    """A customer stored as `potential` whose last purchase was 200 days ago."""
    rep = await make_user(conn, settings)
    customer_id = await make_customer(
        conn, owner_id=rep.id, tier="potential", need_intensity="high", purchasing_power="low"
    )
    await make_deal(
        conn,
        owner_id=rep.id,
        customer_id=customer_id,
        stage="won",
        amount=Decimal("80000.00"),
        closed_at=utcnow() - timedelta(days=200),
    )
    return customer_id


async def _state(conn, customer_id):  # type: ignore[no-untyped-def]
    row = (
        await conn.execute(
            sa.select(customers.c.tier, customers.c.grade).where(customers.c.id == customer_id)
        )
    ).one()
    kinds = (
        await conn.execute(sa.select(tasks.c.kind).where(tasks.c.related_id == customer_id))
    ).scalars()
    return row.tier, row.grade, list(kinds)


async def test_a_round_re_tiers_then_opens_the_due_tasks_once(app, conn, gone_quiet):
    first = await schedule.run_round(app.state.db, app.state.settings, utcnow())
    assert first is not None and first.tiered >= 1
    assert first.tasks.reactivations >= 1
    assert await _state(conn, gone_quiet) == ("dormant", "C", ["dormant_reactivation"])
    again = await schedule.run_round(app.state.db, app.state.settings, utcnow())
    assert again is not None and again.tasks.reactivations == 0
    assert await _state(conn, gone_quiet) == ("dormant", "C", ["dormant_reactivation"])


def test_settings_default_to_an_hourly_round():
    from app.core.config import Settings

    assert Settings().triggers_interval_seconds == 3600
    assert Settings(triggers_interval_seconds=0).triggers_interval_seconds == 0
    with pytest.raises(ValueError):
        Settings(triggers_interval_seconds=-1)


async def test_a_round_expires_lapsed_quotes_and_forgets_what_is_past_keeping(
    app, conn, settings, gone_quiet
):
    now = utcnow()
    rep = await make_user(conn, settings)
    deal_id = await make_deal(conn, owner_id=rep.id, customer_id=gone_quiet, stage="proposal")
    lapsed = await make_quote(
        conn, deal_id=deal_id, owner_id=rep.id, status="sent", valid_until=now.date() - timedelta(1)
    )
    keys, counters = IdempotencyKey.__table__, LoginThrottle.__table__
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    window = timedelta(seconds=settings.login_failure_window_seconds)
    second = timedelta(seconds=1)
    for name, created in (("stale", now - ttl), ("fresh", now - ttl + second)):
        await conn.execute(
            keys.insert().values(
                principal="user:x",
                key=name,
                method="POST",
                path="/api/v1/leads",
                request_hash="0" * 64,
                response_headers={},
                created_at=created,
            )
        )
    for key, opened in (
        ("account:old@x", now - window),
        ("account:recent@x", now - window + second),
    ):
        await conn.execute(counters.insert().values(key=key, attempts=3, window_started_at=opened))

    result = await schedule.run_round(app.state.db, settings, now)

    assert result is not None
    assert result.expired_quotes == 1
    quotes = Quote.__table__
    status = await conn.scalar(sa.select(quotes.c.status).where(quotes.c.id == lapsed["quote_id"]))
    assert status == "expired"
    assert result.forgotten_idempotency_keys == 1 and result.forgotten_login_failures == 1
    assert list(await conn.scalars(sa.select(keys.c.key))) == ["fresh"]
    assert list(await conn.scalars(sa.select(counters.c.key))) == ["account:recent@x"]
