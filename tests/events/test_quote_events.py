"""Every quote change emits exactly its event, with the quote's id and new version; a
refused one emits none. Driven over HTTP (the expiry job directly), read from the feed."""

from datetime import timedelta
from typing import Any

import pytest

from app.core.clock import utcnow
from app.quotes.expiry import expire_lapsed_quotes
from tests.events.feed import events_of, types_of
from tests.factories import Actor, make_quote
from tests.quotes.conftest import customer_id, deal_id, director, manager, rep, team
from tests.quotes.helpers import act, advance, create_quote, line

__all__ = ["customer_id", "deal_id", "director", "manager", "rep", "team"]


async def patch(client, actor: Actor, quote: dict[str, Any], body: dict[str, Any]):  # type: ignore[no-untyped-def]
    headers = {**actor.headers, "If-Match": f'"{quote["version"]}"'}
    return await client.patch(f"/api/v1/quotes/{quote['id']}", json=body, headers=headers)


async def test_a_quote_from_creation_to_acceptance(client, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    renamed = await patch(client, rep, quote, {"title": "Line 3, phase 2"})
    assert renamed.status_code == 200, renamed.text
    repriced = await patch(client, rep, renamed.json(), {"lines": [line(price="1200.00")]})
    assert repriced.status_code == 200, repriced.text
    assert repriced.json()["version"] == 3  # a draft edited in place still moves the ETag
    unchanged = await patch(client, rep, repriced.json(), {"title": "Line 3, phase 2"})
    assert unchanged.status_code == 200
    accepted = await advance(client, rep, unchanged.json(), "submit", "send", "accept")

    events = await events_of(client, rep, quote["id"])
    assert [e["type"] for e in events] == [
        "quote.created",
        "quote.updated",
        "quote.updated",
        "quote.submitted",
        "quote.approved",
        "quote.sent",
        "quote.accepted",
    ]
    assert {e["record_id"] for e in events} == {quote["id"]}
    # Within the author's authority the submit approves too: one version, both events.
    assert [e["record_version"] for e in events] == [1, 2, 3, 4, 4, 5, 6]
    assert events[1]["changed_fields"] == ["title"]
    submitted, approved = events[3], events[4]
    assert (submitted["previous"]["status"], submitted["data"]["status"]) == ("draft", "approved")
    assert submitted["actor_id"] == str(rep.id) and submitted["origin"] is None
    assert approved["data"] == submitted["data"] and approved["id"] != submitted["id"]
    assert events[-1]["data"] == {
        key: accepted[key] for key in events[-1]["data"] if key != "current_version"
    }


async def test_an_approval_and_a_rejection_are_events(client, rep, manager, deal_id):
    approved = await create_quote(client, rep, deal_id, header="8")
    pending = await advance(client, rep, approved, "submit")
    assert pending["status"] == "pending_approval"
    await advance(client, manager, pending, "approve")
    assert await types_of(client, rep, approved["id"]) == [
        "quote.created",
        "quote.submitted",
        "quote.approved",
    ]

    rejected = await create_quote(client, rep, deal_id, header="8")
    pending = await advance(client, rep, rejected, "submit")
    refusal = await act(client, manager, pending, "reject", {"reason": "Too generous"})
    assert refusal.status_code == 200, refusal.text
    events = await events_of(client, rep, rejected["id"])
    assert [e["type"] for e in events] == ["quote.created", "quote.submitted", "quote.rejected"]
    assert events[-1]["data"]["status"] == "rejected"


async def test_a_copy_is_a_new_quote_created(client, rep, deal_id):
    source = await create_quote(client, rep, deal_id)
    response = await client.post(
        f"/api/v1/quotes/{source['id']}/copy", json={}, headers=rep.headers
    )
    assert response.status_code == 201, response.text
    copy = response.json()
    assert await types_of(client, rep, copy["id"]) == ["quote.created"]
    assert await types_of(client, rep, source["id"]) == ["quote.created"]


async def test_expiring_a_lapsed_quote_is_an_event(client, conn, rep, deal_id):
    yesterday = utcnow().date() - timedelta(days=1)
    made = await make_quote(
        conn, deal_id=deal_id, owner_id=rep.id, status="sent", valid_until=yesterday
    )
    expired = await act(client, rep, {"id": made["quote_id"], "version": 1}, "expire")
    assert expired.status_code == 200, expired.text
    [event] = await events_of(client, rep, made["quote_id"])
    assert (event["type"], event["record_version"]) == ("quote.expired", 2)
    assert event["actor_type"] == "user"


async def test_the_expiry_job_emits_one_event_per_quote_as_the_system(client, conn, rep, deal_id):
    now = utcnow()
    yesterday = now.date() - timedelta(days=1)
    lapsed = [
        (await make_quote(conn, deal_id=deal_id, owner_id=rep.id, status=s, valid_until=yesterday))[
            "quote_id"
        ]
        for s in ("pending_approval", "approved", "sent")
    ]
    current = await make_quote(conn, deal_id=deal_id, owner_id=rep.id, status="sent")
    assert await expire_lapsed_quotes(conn, now) == 3
    for quote_id in lapsed:
        [event] = await events_of(client, rep, quote_id)
        assert (event["type"], event["record_id"]) == ("quote.expired", str(quote_id))
        assert (event["actor_type"], event["origin"]) == ("system", "job:quote_expiry")
        assert (event["data"]["status"], event["record_version"]) == ("expired", 2)
        assert event["changed_fields"] == ["status"]
    assert await types_of(client, rep, current["quote_id"]) == []
    assert await expire_lapsed_quotes(conn, now) == 0
    assert [len(await events_of(client, rep, q)) for q in lapsed] == [1, 1, 1]


@pytest.mark.parametrize(
    ("header", "action", "status"),
    [
        ("16", "submit", 422),  # above every approver's authority
        ("0", "accept", 409),  # a draft cannot be accepted
        ("0", "expire", 409),  # still valid
    ],
)
async def test_a_refused_quote_action_emits_nothing(client, rep, deal_id, header, action, status):
    quote = await create_quote(client, rep, deal_id, header=header)
    refused = await act(client, rep, quote, action)
    assert refused.status_code == status, refused.text
    assert await types_of(client, rep, quote["id"]) == ["quote.created"]


async def test_a_stale_or_unauthorised_change_emits_nothing(client, rep, manager, deal_id):
    quote = await create_quote(client, rep, deal_id, header="8")
    stale = await act(client, rep, {**quote, "version": 7}, "submit")
    assert stale.status_code == 412
    stale_edit = await patch(client, rep, {**quote, "version": 7}, {"title": "Renamed"})
    assert stale_edit.status_code == 412
    pending = await advance(client, rep, quote, "submit")
    own = await act(client, rep, pending, "approve")  # never a self-approval
    assert own.status_code == 403
    assert await types_of(client, rep, quote["id"]) == ["quote.created", "quote.submitted"]
