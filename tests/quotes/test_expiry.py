"""Quotes past their validity expire in one pass, recorded like the API's expire action."""

from datetime import timedelta

import sqlalchemy as sa

from app.core.clock import utcnow
from app.models import AuditEntry, Quote, QuoteVersion
from app.quotes.expiry import expire_lapsed_quotes
from tests.factories import make_quote
from tests.quotes.helpers import act, codes


async def _state(conn, quote_id):
    quotes, versions = Quote.__table__, QuoteVersion.__table__
    row = (
        await conn.execute(
            sa.select(quotes.c.status, quotes.c.version, versions.c.status, versions.c.expired_at)
            .join(versions, versions.c.quote_id == quotes.c.id)
            .where(quotes.c.id == quote_id)
        )
    ).one()
    return tuple(row)


async def test_lapsed_quotes_expire_and_the_rest_are_left_alone(client, conn, rep, deal_id):
    now = utcnow()
    yesterday, today = now.date() - timedelta(days=1), now.date()

    async def quote(status, valid_until):
        made = await make_quote(
            conn, deal_id=deal_id, owner_id=rep.id, status=status, valid_until=valid_until
        )
        return made["quote_id"]

    lapsed = [await quote(status, yesterday) for status in ("pending_approval", "approved", "sent")]
    last_day = await quote("sent", today)
    finished = [await quote(status, yesterday) for status in ("draft", "accepted", "rejected")]

    assert await expire_lapsed_quotes(conn, now) == 3
    for quote_id in lapsed:
        assert await _state(conn, quote_id) == ("expired", 2, "expired", now)
    assert (await _state(conn, last_day))[:3] == ("sent", 1, "sent")
    assert [(await _state(conn, q))[0] for q in finished] == ["draft", "accepted", "rejected"]
    assert await expire_lapsed_quotes(conn, now) == 0  # nothing expires twice

    audit = AuditEntry.__table__
    entries = (
        await conn.execute(
            sa.select(audit.c.entity_id, audit.c.action, audit.c.actor_type, audit.c.before)
            .where(audit.c.entity_id.in_(lapsed))
            .order_by(audit.c.at)
        )
    ).all()
    assert {(e.entity_id, e.action, e.actor_type) for e in entries} == {
        (q, "expire", "system") for q in lapsed
    }
    assert sorted(e.before["status"] for e in entries) == ["approved", "pending_approval", "sent"]

    sent = {"id": lapsed[2], "version": 2}
    late = await act(client, rep, sent, "accept")
    assert late.status_code == 409
    assert "quote.expired" in codes(late)
