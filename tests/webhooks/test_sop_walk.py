"""A partner's view of the SOP: register an endpoint, walk a lead through conversion, its
deal through every gate to won (quote approved, contract signed, delivery accepted), then
a ticket of the new customer to an SLA breach; the job engine's own tasks (as the
in-process runner runs them) deliver every event, in order per record, each signed and
verifiable with the standardwebhooks library."""

import uuid
from collections import defaultdict
from typing import Any

import httpx

from app.core.clock import utcnow
from app.core.enums import Role
from app.jobs import inprocess, tasks
from app.jobs.tasks import JobContext
from app.webhooks.policy import subscribes_to
from tests.contracts.helpers import delivered, signed, step
from tests.events.feed import events_of
from tests.factories import Actor, make_user
from tests.quotes.helpers import advance, create_quote
from tests.tickets.helpers import FrozenClock, make_managed_team, open_ticket
from tests.webhooks.conftest import register
from tests.webhooks.receiver import Answer

SUBSCRIBED = ["lead.*", "deal.*", "quote.approved", "contract.signed", "ticket.*"]


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


async def _convert_a_lead(hooks: httpx.AsyncClient, rep: Actor) -> dict[str, Any]:
    lead = _ok(
        await hooks.post(
            "/api/v1/leads",
            json={
                "source": "website_form",
                "company_name": "Acme",
                "contact_name": "Li Wei",
                "email": "li@acme.cn",
            },
            headers=rep.headers,
        ),
        201,
    )
    for status in ("contacted", "qualified"):
        _ok(
            await hooks.post(
                f"/api/v1/leads/{lead['id']}/status", json={"status": status}, headers=rep.headers
            )
        )
    return _ok(
        await hooks.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=rep.headers),
        201,
    )


async def _walk_the_deal_to_won(
    hooks: httpx.AsyncClient, rep: Actor, manager: Actor, conversion: dict[str, Any]
) -> dict[str, str]:
    """Every gate met as a rep meets it; answers the quote's and the contract's ids."""
    deal, contact = conversion["deal"]["id"], conversion["contact"]
    customer = conversion["customer"]["id"]

    async def transition(stage: str) -> None:
        path = f"/api/v1/deals/{deal}/transition"
        _ok(await hooks.post(path, json={"to_stage": stage}, headers=rep.headers))

    facts = {
        "need_description": "3 lines",
        "amount": "920.00",
        "expected_close_date": "2027-06-30",
    }
    _ok(await hooks.patch(f"/api/v1/deals/{deal}", json=facts, headers=rep.headers))
    _ok(
        await hooks.patch(
            f"/api/v1/customers/{customer}/contacts/{contact['id']}",
            json={"decision_role": "decision_maker"},
            headers=rep.headers,
        )
    )
    await transition("initiation")
    approval = f"/api/v1/deals/{deal}/presales-approval"
    _ok(await hooks.post(approval, headers=manager.headers))
    await transition("proposal")
    # 8 % off is beyond a rep's authority: the manager approves it.
    quote = await create_quote(hooks, rep, uuid.UUID(deal), header="8")
    submitted = await advance(hooks, rep, quote, "submit")
    assert submitted["status"] == "pending_approval"
    quote = await advance(hooks, manager, submitted, "approve")
    meeting = {
        "kind": "meeting",
        "occurred_at": utcnow().isoformat(),
        "contact_id": contact["id"],
        "deal_id": deal,
        "summary": "Walked the decision maker through the layout",
    }
    _ok(await hooks.post("/api/v1/activities", json=meeting, headers=rep.headers), 201)
    await transition("bidding")
    bid = {"amount": "920.00"}
    _ok(await hooks.post(f"/api/v1/deals/{deal}/bid", json=bid, headers=rep.headers))
    await transition("negotiation")
    quote = await advance(hooks, rep, quote, "send", "accept")
    contract = await signed(hooks, rep, manager, {"quote_id": quote["id"]})  # -> implementation
    contract = await step(hooks, rep, await delivered(hooks, rep, contract), "accept")  # -> won
    won = _ok(await hooks.get(f"/api/v1/deals/{deal}", headers=rep.headers))
    assert won["stage"] == "won"
    return {"quote": quote["id"], "contract": contract["id"]}


async def test_a_partner_receives_the_whole_walk_in_order_signed(
    hooks, conn, db, hook_settings, outbound, admin, receiver, monkeypatch
):
    clock = FrozenClock(utcnow().replace(microsecond=0))  # what the tickets believe is now
    monkeypatch.setattr("app.tickets.clock.utcnow", clock)
    team, manager = await make_managed_team(conn, hook_settings)
    rep = await make_user(conn, hook_settings, role=Role.rep, team_id=team)
    agent = await make_user(conn, hook_settings, role=Role.support_agent, team_id=team)
    endpoint = await register(hooks, admin, receiver.url, SUBSCRIBED)

    conversion = await _convert_a_lead(hooks, rep)
    records = {
        "lead": conversion["lead"]["id"],
        "deal": conversion["deal"]["id"],
        **await _walk_the_deal_to_won(hooks, rep, manager, conversion),
    }
    customer = uuid.UUID(conversion["customer"]["id"])
    ticket = await open_ticket(hooks, agent, customer, assignee_id=str(agent.id))
    records["ticket"] = ticket["id"]
    queued: set[uuid.UUID] = set()
    ctx = JobContext(db, hook_settings, outbound, inprocess.queue_due(queued))
    clock.advance(days=3)  # past both of the ticket's SLA targets
    swept = await tasks.sla_sweep(ctx)
    assert swept.breaches == 2

    receiver.answer(Answer(status=500))  # the first attempt fails: it and the rest wait
    run = inprocess.webhooks(queued)
    await run(ctx)
    assert len(receiver.received) == 1  # stopped at the failure: order is kept
    first_id = receiver.received[0].webhook_id
    deliveries = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    log = (await hooks.get(deliveries, headers=admin.headers)).json()["items"]
    failed = next(d for d in log if d["status"] == "failed")
    _ok(await hooks.post(f"{deliveries}/{failed['id']}/retry", headers=admin.headers), 202)
    await run(ctx)

    got = receiver.received[1:]
    assert got[0].webhook_id == first_id  # the retry is the same message
    # The library raises unless Salesflow signed it.
    payloads = {r.webhook_id: r.verified(endpoint["secret"]) for r in got}
    assert len(payloads) == len(got)  # each event once
    by_record: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for webhook_id, payload in payloads.items():
        assert payload["id"] == webhook_id
        by_record[payload["data"]["record_id"]].append((webhook_id, payload["type"]))
    for name, record_id in records.items():
        feed = [(e["id"], e["type"]) for e in await events_of(hooks, admin, record_id)]
        wanted = [(i, t) for i, t in feed if subscribes_to(SUBSCRIBED, t)]
        assert by_record[record_id] == wanted, name  # every event of the record, in order

    def types(name: str) -> list[str]:
        return [t for _, t in by_record[records[name]]]

    assert types("lead") == [
        "lead.created",
        "lead.status_changed",
        "lead.status_changed",
        "lead.converted",
    ]
    assert types("quote") == ["quote.approved"]
    assert types("contract") == ["contract.signed"]
    assert types("deal") == [
        "deal.created",
        "deal.updated",
        "deal.stage_changed",
        "deal.presales_approved",
        "deal.stage_changed",
        "deal.stage_changed",
        "deal.bid_submitted",
        "deal.stage_changed",
        "deal.stage_changed",  # the contract signed
        "deal.stage_changed",  # the delivery accepted
    ]
    stages = [
        payloads[webhook_id]["data"]["data"]["stage"]
        for webhook_id, event_type in by_record[records["deal"]]
        if event_type == "deal.stage_changed"
    ]
    assert stages == ["initiation", "proposal", "bidding", "negotiation", "implementation", "won"]
    # Both clocks breached: first response and resolution.
    assert types("ticket") == ["ticket.created", "ticket.sla_breached", "ticket.sla_breached"]
