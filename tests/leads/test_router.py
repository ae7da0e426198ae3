import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.enums import Role, Seniority
from app.models import Lead, Task
from tests.factories import make_api_key, make_contact, make_customer, make_lead, make_user

leads_table = Lead.__table__
tasks_table = Task.__table__

MAN = {"budget_confirmed": True, "authority_confirmed": True, "need_confirmed": True}


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


@pytest.fixture
async def admin(conn, settings):
    return await make_user(conn, settings, role=Role.admin)


async def post_lead(client, actor, **body):
    body.setdefault("source", "website_form")
    body.setdefault("company_name", f"Co {uuid.uuid4().hex[:6]}")
    return await client.post("/api/v1/leads", json=body, headers=actor.headers)


def soon() -> str:
    return (utcnow().date() + timedelta(days=30)).isoformat()


async def test_lead_round_trip(client, conn, rep):
    created = await post_lead(
        client,
        rep,
        owner_id=str(rep.id),
        company_name="Acme Robotics",
        contact_name="Li Wei",
        email=" Li.Wei@Acme.CN ",
        phone="+86 138 1234 5678",
        source="search_ads",
        campaign="spring-2026",
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "new"
    assert body["owner_id"] == str(rep.id)
    assert body["inbound"] is True
    assert body["score"] == 0 and body["grade"] == "C"
    assert "email_normalized" not in body and "phone_normalized" not in body
    assert created.headers["location"] == f"/api/v1/leads/{body['id']}"
    assert created.headers["etag"] == '"1"'
    stored = (
        await conn.execute(
            sa.select(leads_table.c.email_normalized, leads_table.c.phone_normalized).where(
                leads_table.c.id == uuid.UUID(body["id"])
            )
        )
    ).one()
    assert tuple(stored) == ("li.wei@acme.cn", "+8613812345678")

    fetched = await client.get(created.headers["location"], headers=rep.headers)
    assert fetched.status_code == 200
    # Only the create answer says how the lead was routed (here: it named its owner).
    assert body.pop("routing") is None
    assert fetched.json() == body

    patched = await client.patch(
        created.headers["location"],
        json={"contact_title": "CTO"},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["contact_title"] == "CTO"
    assert patched.json()["version"] == 2
    stale = await client.patch(
        created.headers["location"],
        json={"contact_title": "CEO"},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 412


async def test_outbound_channel_is_not_inbound(client, rep):
    body = (await post_lead(client, rep, owner_id=str(rep.id), source="telemarketing")).json()
    assert body["inbound"] is False


async def test_bant_on_create_scores_and_routes_grade_a_to_least_loaded_senior(
    client, conn, settings, admin
):
    busy_senior = await make_user(conn, settings, seniority=Seniority.senior)
    free_senior = await make_user(conn, settings, seniority=Seniority.senior)
    standard = await make_user(conn, settings)
    await make_lead(conn, owner_id=busy_senior.id)
    # Finished leads are not load.
    for status in ("converted", "disqualified", "archived"):
        await make_lead(conn, owner_id=free_senior.id, status=status)

    hot = await post_lead(client, admin, **MAN, expected_purchase_date=soon())
    assert hot.status_code == 201, hot.text
    assert (hot.json()["score"], hot.json()["grade"]) == (100, "A")
    assert hot.json()["owner_id"] == str(free_senior.id)

    cold = (await post_lead(client, admin, budget_confirmed=True)).json()
    assert (cold["score"], cold["grade"]) == (30, "C")
    assert cold["owner_id"] == str(standard.id)


async def test_routing_breaks_ties_by_user_id_and_falls_back_to_the_other_pool(
    client, conn, settings, admin
):
    first, second = sorted(
        [await make_user(conn, settings), await make_user(conn, settings)], key=lambda a: a.id
    )
    await make_user(conn, settings, is_active=False)
    a = (await post_lead(client, admin, **MAN, expected_purchase_date=soon())).json()
    assert a["grade"] == "A"
    # No senior rep: the standard pool takes it, lower id first.
    assert a["owner_id"] == str(first.id)
    b = (await post_lead(client, admin)).json()
    assert b["owner_id"] == str(second.id)


async def test_no_rep_leaves_the_lead_unassigned(client, admin):
    body = (await post_lead(client, admin)).json()
    assert body["owner_id"] is None


async def test_partner_key_with_leads_write_creates_and_routes(client, conn, settings):
    rep = await make_user(conn, settings)
    key = await make_api_key(conn, scopes=["leads:write", "leads:read"])
    created = await post_lead(client, key, source="partner", email="buyer@partner-lead.cn")
    assert created.status_code == 201, created.text
    assert created.json()["owner_id"] == str(rep.id)
    reader = await make_api_key(conn, scopes=["leads:read"])
    assert (await post_lead(client, reader)).status_code == 403


async def test_rep_may_not_hand_a_lead_to_someone_else(client, conn, settings, rep):
    other = await make_user(conn, settings)
    response = await post_lead(client, rep, owner_id=str(other.id))
    assert response.status_code == 403


async def test_duplicate_email_or_phone_is_409_unless_allowed(client, conn, rep):
    existing = await make_lead(conn, owner_id=rep.id, email="wang@dup.cn")
    customer = await make_customer(conn, owner_id=rep.id)
    contact = await make_contact(conn, customer_id=customer, phone="010-8888-9999")

    refused = await post_lead(client, rep, email=" WANG@dup.cn", phone="+86 10 8888 9999")
    assert refused.status_code == 409
    problem = refused.json()
    assert {e["code"] for e in problem["errors"]} == {"duplicate_lead"}
    assert {(d["type"], d["id"], d["field"]) for d in problem["duplicates"]} == {
        ("lead", str(existing), "email"),
        ("contact", str(contact), "phone"),
    }
    assert str(existing) in refused.text and str(contact) in refused.text

    allowed = await post_lead(client, rep, email="wang@dup.cn", allow_duplicate=True)
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["duplicate_of"] == [
        {"type": "lead", "id": str(existing), "field": "email"}
    ]


async def test_finished_leads_do_not_count_as_duplicates(client, conn, rep):
    await make_lead(conn, owner_id=rep.id, email="gone@dup.cn", status="disqualified")
    await make_lead(conn, owner_id=rep.id, email="gone@dup.cn", status="converted")
    created = await post_lead(client, rep, owner_id=str(rep.id), email="gone@dup.cn")
    assert created.status_code == 201, created.text
    assert created.json()["duplicate_of"] == []


async def test_trade_show_lead_gets_one_follow_up_task_even_when_retried(client, conn, rep):
    headers = {**rep.headers, "Idempotency-Key": "show-1"}
    body = {"source": "trade_show", "company_name": "Booth 12", "owner_id": str(rep.id)}
    first = await client.post("/api/v1/leads", json=body, headers=headers)
    again = await client.post("/api/v1/leads", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    lead = first.json()
    tasks = (
        (
            await conn.execute(
                sa.select(tasks_table).where(tasks_table.c.related_id == uuid.UUID(lead["id"]))
            )
        )
        .mappings()
        .all()
    )
    assert len(tasks) == 1
    task = tasks[0]
    assert task["kind"] == "trade_show_follow_up"
    assert task["assignee_id"] == rep.id
    assert task["related_type"] == "lead"
    assert task["dedupe_key"] == f"trade_show_follow_up:{lead['id']}"
    created_at = datetime.fromisoformat(lead["created_at"])
    assert task["due_at"] == created_at + timedelta(hours=24)
    count = (await conn.execute(sa.select(sa.func.count()).select_from(leads_table))).scalar()
    assert count == 1


async def test_other_channels_get_no_follow_up_task(client, conn, rep):
    await post_lead(client, rep, owner_id=str(rep.id), source="website_form")
    count = (await conn.execute(sa.select(sa.func.count()).select_from(tasks_table))).scalar()
    assert count == 0


async def test_referral_must_name_a_visible_referring_customer(client, conn, settings, rep):
    missing = await post_lead(client, rep, owner_id=str(rep.id), source="referral")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "referrer_customer_id"

    other = await make_user(conn, settings)
    hidden = await make_customer(conn, owner_id=other.id)
    refused = await post_lead(
        client, rep, owner_id=str(rep.id), source="referral", referrer_customer_id=str(hidden)
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "reference_not_found"

    mine = await make_customer(conn, owner_id=rep.id)
    created = await post_lead(
        client, rep, owner_id=str(rep.id), source="referral", referrer_customer_id=str(mine)
    )
    assert created.status_code == 201, created.text
    assert created.json()["referrer_customer_id"] == str(mine)


async def test_list_filters_search_and_visibility(client, conn, settings, rep):
    other = await make_user(conn, settings)
    await make_lead(conn, owner_id=rep.id, company_name="Shanghai Motors", grade="A")
    await make_lead(
        conn, owner_id=rep.id, company_name="Beijing Steel", contact_name="shang Li",
        source="trade_show", campaign="expo",
    )  # fmt: skip
    await make_lead(
        conn, owner_id=rep.id, company_name="Hangzhou Tea", email="Buyer@Tea.cn",
        status="contacted",
    )  # fmt: skip
    await make_lead(conn, owner_id=other.id, company_name="Shanghai Hidden")

    async def names(query: str) -> list[str]:
        response = await client.get(f"/api/v1/leads?{query}", headers=rep.headers)
        assert response.status_code == 200, response.text
        return sorted(item["company_name"] for item in response.json()["items"])

    assert await names("") == ["Beijing Steel", "Hangzhou Tea", "Shanghai Motors"]
    assert await names("q=SHANG") == ["Beijing Steel", "Shanghai Motors"]
    assert await names("q=buyer@tea.CN") == ["Hangzhou Tea"]
    assert await names("q=%25") == []
    assert await names("status=contacted") == ["Hangzhou Tea"]
    assert await names("source=trade_show") == ["Beijing Steel"]
    assert await names("campaign=expo") == ["Beijing Steel"]
    assert await names("grade=A") == ["Shanghai Motors"]
    assert await names(f"owner_id={other.id}") == []

    hidden = await make_lead(conn, owner_id=other.id)
    assert (await client.get(f"/api/v1/leads/{hidden}", headers=rep.headers)).status_code == 404


async def test_created_after_and_before_filter_by_instant(client, conn, rep):
    old = datetime(2025, 1, 10, tzinfo=UTC)
    await make_lead(conn, owner_id=rep.id, company_name="Old", created_at=old, updated_at=old)
    await make_lead(conn, owner_id=rep.id, company_name="New")
    after = await client.get(
        "/api/v1/leads", params={"created_after": "2025-06-01T00:00:00+08:00"}, headers=rep.headers
    )
    assert [i["company_name"] for i in after.json()["items"]] == ["New"]
    before = await client.get(
        "/api/v1/leads", params={"created_before": "2025-01-10T00:00:01Z"}, headers=rep.headers
    )
    assert [i["company_name"] for i in before.json()["items"]] == ["Old"]
    naive = await client.get(
        "/api/v1/leads", params={"created_after": "2025-06-01T00:00:00"}, headers=rep.headers
    )
    assert naive.status_code == 422


async def test_pages_cover_every_lead_once(client, conn, rep):
    moment = utcnow()
    for _ in range(7):
        await make_lead(conn, owner_id=rep.id, created_at=moment, updated_at=moment)
    for sort in ("created_at", "-created_at", "updated_at", "-updated_at"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, "sort": sort} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/leads", params=params, headers=rep.headers)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 7, sort


async def test_default_order_is_newest_first(client, conn, rep):
    for day in (1, 3, 2):
        moment = datetime(2025, 3, day, tzinfo=UTC)
        await make_lead(
            conn, owner_id=rep.id, company_name=f"d{day}", created_at=moment, updated_at=moment
        )
    page = (await client.get("/api/v1/leads", headers=rep.headers)).json()
    assert [i["company_name"] for i in page["items"]] == ["d3", "d2", "d1"]


async def test_patch_refuses_state_and_qualification_fields_naming_the_action(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id)
    url = f"/api/v1/leads/{lead}"
    status = await client.patch(url, json={"status": "qualified"}, headers=rep.headers)
    assert status.status_code == 422
    assert "/status" in status.text
    bant = await client.patch(url, json={"budget_confirmed": True}, headers=rep.headers)
    assert bant.status_code == 422
    assert "/qualify" in bant.text
    nulled = await client.patch(url, json={"company_name": None}, headers=rep.headers)
    assert nulled.status_code == 422


async def test_patch_to_referral_needs_a_referrer(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id)
    response = await client.patch(
        f"/api/v1/leads/{lead}", json={"source": "referral"}, headers=rep.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "referrer_required"


async def test_patch_normalizes_a_new_email(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id)
    response = await client.patch(
        f"/api/v1/leads/{lead}", json={"email": "New@Mail.CN"}, headers=rep.headers
    )
    assert response.status_code == 200, response.text
    stored = (
        await conn.execute(
            sa.select(leads_table.c.email_normalized).where(leads_table.c.id == lead)
        )
    ).scalar()
    assert stored == "new@mail.cn"


async def test_bad_inputs_are_problems_not_500s(client, rep):
    cases = [
        ("get", "/api/v1/leads/not-a-uuid", {}, 400),
        ("get", "/api/v1/leads?status=hot", {}, 422),
        ("get", "/api/v1/leads?sort=score", {}, 422),
        ("get", "/api/v1/leads?sort=email_normalized", {}, 422),
        ("get", "/api/v1/leads?cursor=garbage", {}, 400),
        ("get", "/api/v1/leads?stauts=new", {}, 400),
        ("get", "/api/v1/leads?created_after=0001-01-01T00:00:00%2B05:00", {}, 422),
        ("post", "/api/v1/leads", {"json": {"company_name": "x"}}, 422),
        ("post", "/api/v1/leads", {"json": {"company_name": "x", "source": "tv"}}, 422),
        ("post", "/api/v1/leads", {"json": {"company_name": "", "source": "other"}}, 422),
        (
            "post",
            "/api/v1/leads",
            {"json": {"company_name": "x", "source": "other", "email": "not-an-email"}},
            422,
        ),
        (
            "post",
            "/api/v1/leads",
            {"json": {"company_name": "x", "source": "other", "budget_amount": "-5"}},
            422,
        ),
        (
            "post",
            "/api/v1/leads",
            {"json": {"company_name": "x", "source": "other", "decision_maker_count": 10**12}},
            422,
        ),
        (
            "post",
            "/api/v1/leads",
            {"json": {"company_name": "x", "source": "other", "score": 99}},
            422,
        ),
    ]
    for method, url, kwargs, status in cases:
        response = await getattr(client, method)(url, headers=rep.headers, **kwargs)
        assert response.status_code == status, (url, kwargs, response.text)
        assert response.headers["content-type"] == "application/problem+json"


# --- status flow ---------------------------------------------------------------------------


async def change(client, actor, lead, status, reason=None, **headers):
    body = {"status": status} | ({"reason": reason} if reason else {})
    return await client.post(
        f"/api/v1/leads/{lead}/status", json=body, headers={**actor.headers, **headers}
    )


async def test_status_flow_follows_the_sop(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id)
    skipped = await change(client, rep, lead, "qualified")
    assert skipped.status_code == 409
    assert skipped.json()["errors"][0]["code"] == "lead_transition_not_allowed"

    contacted = await change(client, rep, lead, "contacted", **{"If-Match": '"1"'})
    assert contacted.status_code == 200, contacted.text
    assert contacted.json()["status"] == "contacted"
    assert contacted.headers["etag"] == '"2"'
    stale = await change(client, rep, lead, "qualified", **{"If-Match": '"1"'})
    assert stale.status_code == 412
    # A stale client hears 412 before any verdict on the data it no longer has.
    stale_and_refused = await change(client, rep, lead, "new", **{"If-Match": '"1"'})
    assert stale_and_refused.status_code == 412
    qualified = await change(client, rep, lead, "qualified")
    assert qualified.json()["status"] == "qualified"


async def test_converted_is_only_reached_through_convert(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id, status="qualified")
    response = await change(client, rep, lead, "converted")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "use_convert_action"


async def test_parking_a_lead_sets_next_touch_and_a_touch_task(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id, status="contacted")
    before = utcnow()
    parked = await change(client, rep, lead, "nurturing")
    assert parked.status_code == 200, parked.text
    touch = datetime.fromisoformat(parked.json()["next_touch_at"])
    assert before + timedelta(days=90) <= touch <= utcnow() + timedelta(days=90)
    task = (
        (await conn.execute(sa.select(tasks_table).where(tasks_table.c.related_id == lead)))
        .mappings()
        .one()
    )
    assert task["kind"] == "nurture_touch"
    assert task["assignee_id"] == rep.id

    back = await change(client, rep, lead, "contacted")
    assert back.json()["next_touch_at"] is None


async def test_disqualifying_needs_a_reason_and_is_final(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id)
    refused = await change(client, rep, lead, "disqualified")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reason"
    done = await change(client, rep, lead, "disqualified", reason="spam form")
    assert done.status_code == 200
    assert done.json()["disqualified_reason"] == "spam form"
    again = await change(client, rep, lead, "contacted")
    assert again.status_code == 409


async def test_status_change_of_a_hidden_lead_is_404(client, conn, settings, rep):
    other = await make_user(conn, settings)
    lead = await make_lead(conn, owner_id=other.id)
    assert (await change(client, rep, lead, "contacted")).status_code == 404


# --- qualification -------------------------------------------------------------------------


async def test_qualify_records_evidence_and_rescoring(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id, status="contacted", industry="New Energy")
    url = f"/api/v1/leads/{lead}/qualify"
    first = await client.post(
        url,
        json={
            "budget_confirmed": True,
            "budget_amount": "250000.00",
            "evidence": [
                {"who": "CFO Zhang", "what": "budget approved", "when": "2026-01-05T10:00:00+08:00"}
            ],
        },
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["score"], body["grade"]) == (40, "B")  # budget 30 + high-growth industry 10
    assert body["budget_amount"] == "250000.00"
    [entry] = body["qualification_evidence"]
    assert entry["who"] == "CFO Zhang"
    assert entry["recorded_by"] == str(rep.id)
    assert datetime.fromisoformat(entry["when"]) == datetime(2026, 1, 5, 2, tzinfo=UTC)

    second = await client.post(
        url,
        json={
            "authority_confirmed": True,
            "need_confirmed": True,
            "need_description": "automate the warehouse",
            "expected_purchase_date": soon(),
            "evidence": [{"who": "COO Li", "what": "signs off", "when": "2026-01-06T09:00:00Z"}],
        },
        headers=rep.headers,
    )
    body = second.json()
    assert body["budget_confirmed"] is True  # kept from the first call
    assert (body["score"], body["grade"]) == (100, "A")
    assert [e["who"] for e in body["qualification_evidence"]] == ["CFO Zhang", "COO Li"]
    assert body["version"] == 3

    crowded = await client.post(
        url, json={"industry": "retail", "decision_maker_count": 5}, headers=rep.headers
    )
    assert (crowded.json()["score"], crowded.json()["grade"]) == (90, "A")


async def test_qualify_refuses_null_facts_and_closed_leads(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id)
    nulled = await client.post(
        f"/api/v1/leads/{lead}/qualify", json={"budget_confirmed": None}, headers=rep.headers
    )
    assert nulled.status_code == 422
    closed = await make_lead(conn, owner_id=rep.id, status="disqualified")
    refused = await client.post(
        f"/api/v1/leads/{closed}/qualify", json={"need_confirmed": True}, headers=rep.headers
    )
    assert refused.status_code == 409


async def test_expected_purchase_date_far_away_scores_no_timeline(client, rep):
    far = (date.today() + timedelta(days=400)).isoformat()
    body = (await post_lead(client, rep, owner_id=str(rep.id), expected_purchase_date=far)).json()
    assert body["score"] == 0


# --- retries, duplicates on PATCH, partner keys, qualified_at ----------------------------


async def test_a_retried_qualify_adds_the_evidence_once(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id, status="contacted")
    body = {
        "budget_confirmed": True,
        "evidence": [{"who": "CFO Zhang", "what": "budget approved", "when": "2026-01-05T10:00Z"}],
    }
    headers = {**rep.headers, "Idempotency-Key": "qualify-1", "If-Match": '"1"'}
    url = f"/api/v1/leads/{lead}/qualify"
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len(again.json()["qualification_evidence"]) == 1
    stored = await client.get(f"/api/v1/leads/{lead}", headers=rep.headers)
    assert (len(stored.json()["qualification_evidence"]), stored.json()["version"]) == (1, 2)
    other = await client.post(url, json={**body, "need_confirmed": True}, headers=headers)
    assert other.status_code == 422


async def test_a_retried_status_change_replays(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id, status="contacted")
    headers = {"Idempotency-Key": "park-1", "If-Match": '"1"'}
    first = await change(client, rep, lead, "nurturing", **headers)
    again = await change(client, rep, lead, "nurturing", **headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    count = sa.select(sa.func.count()).select_from(tasks_table)
    assert (await conn.execute(count.where(tasks_table.c.related_id == lead))).scalar() == 1


async def test_patching_in_a_duplicate_email_or_phone_is_409_unless_allowed(client, conn, rep):
    existing = await make_lead(conn, owner_id=rep.id, email="wang@dup.cn")
    customer = await make_customer(conn, owner_id=rep.id)
    contact = await make_contact(conn, customer_id=customer, phone="010-8888-9999")
    lead = await make_lead(conn, owner_id=rep.id, email="li@own.cn")
    url = f"/api/v1/leads/{lead}"

    refused = await client.patch(url, json={"email": "WANG@dup.cn"}, headers=rep.headers)
    assert refused.status_code == 409
    assert refused.json()["duplicates"] == [{"type": "lead", "id": str(existing), "field": "email"}]
    unchanged = await client.get(url, headers=rep.headers)
    assert (unchanged.json()["email"], unchanged.json()["version"]) == ("li@own.cn", 1)

    allowed = await client.patch(
        url, json={"email": "wang@dup.cn", "allow_duplicate": True}, headers=rep.headers
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["duplicate_of"] == [
        {"type": "lead", "id": str(existing), "field": "email"}
    ]
    # The email was accepted as a duplicate; a new phone is checked on its own.
    phone = await client.patch(url, json={"phone": "+86 10 8888 9999"}, headers=rep.headers)
    assert phone.status_code == 409
    assert [d["field"] for d in phone.json()["duplicates"]] == ["phone"]
    same = await client.patch(url, json={"email": " Wang@DUP.cn "}, headers=rep.headers)
    assert same.status_code == 200, same.text
    cleared = await client.patch(url, json={"email": None}, headers=rep.headers)
    assert cleared.json()["duplicate_of"] == []
    both = await client.patch(
        url, json={"phone": "01088889999", "allow_duplicate": True}, headers=rep.headers
    )
    assert both.json()["duplicate_of"] == [
        {"type": "contact", "id": str(contact), "field": "phone"}
    ]


async def test_a_partner_key_hears_which_fields_match_but_not_whose(client, conn, rep):
    existing = await make_lead(conn, owner_id=rep.id, email="wang@dup.cn")
    customer = await make_customer(conn, owner_id=rep.id)
    contact = await make_contact(conn, customer_id=customer, phone="010-8888-9999")
    form = await make_api_key(conn, scopes=["leads:create"])
    body = {"email": "wang@dup.cn", "phone": "01088889999"}
    refused = await post_lead(client, form, **body)
    assert refused.status_code == 409
    problem = refused.json()
    assert sorted((e["code"], e["field"]) for e in problem["errors"]) == [
        ("duplicate_lead", "email"),
        ("duplicate_lead", "phone"),
    ]
    assert "duplicates" not in problem
    assert str(existing) not in refused.text and str(contact) not in refused.text

    created = await post_lead(client, form, allow_duplicate=True, **body)
    assert created.status_code == 201, created.text
    assert created.json()["duplicate_of"] == []  # it may read neither leads nor contacts
    reader = await make_api_key(conn, scopes=["leads:read"])
    fetched = await client.get(f"/api/v1/leads/{created.json()['id']}", headers=reader.headers)
    assert fetched.json()["duplicate_of"] == [
        {"type": "lead", "id": str(existing), "field": "email"}
    ]
    other = await make_customer(conn, owner_id=rep.id)
    another = await make_contact(conn, customer_id=other, email="zhao@dup.cn")
    writer = await make_api_key(conn, scopes=["leads:write"])
    patched = await client.patch(
        f"/api/v1/leads/{created.json()['id']}",
        json={"email": "zhao@dup.cn"},
        headers=writer.headers,
    )
    assert patched.status_code == 409
    assert [e["field"] for e in patched.json()["errors"]] == ["email"]
    assert str(another) not in patched.text  # a lead key may not read contacts


async def test_a_create_only_key_adds_leads_but_neither_reads_nor_edits_them(client, conn, rep):
    form = await make_api_key(conn, scopes=["leads:create"])
    created = await post_lead(client, form)
    assert created.status_code == 201, created.text
    lead = created.json()["id"]
    assert (await client.get(f"/api/v1/leads/{lead}", headers=form.headers)).status_code == 403
    assert (await client.get("/api/v1/leads", headers=form.headers)).status_code == 403
    patched = await client.patch(
        f"/api/v1/leads/{lead}", json={"company_name": "Hijacked"}, headers=form.headers
    )
    assert patched.status_code == 403
    assert patched.json()["errors"][0]["code"] == "insufficient_permission"
    writer = await make_api_key(conn, scopes=["leads:write"])
    read = await client.get(f"/api/v1/leads/{lead}", headers=writer.headers)
    assert read.status_code == 200  # write implies read: every write answers with the record


async def test_qualified_at_records_the_first_qualification_and_stays(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id, status="contacted")
    before = utcnow()
    first = (await change(client, rep, lead, "qualified")).json()
    qualified_at = datetime.fromisoformat(first["qualified_at"])
    assert before <= qualified_at <= utcnow()
    nurtured = (await change(client, rep, lead, "nurturing")).json()
    assert nurtured["qualified_at"] == first["qualified_at"]
    again = (await change(client, rep, lead, "qualified")).json()
    assert again["qualified_at"] == first["qualified_at"]
    dropped = (await change(client, rep, lead, "disqualified", reason="went with a rival")).json()
    assert (dropped["status"], dropped["qualified_at"]) == ("disqualified", first["qualified_at"])
    refused = await client.patch(
        f"/api/v1/leads/{lead}", json={"qualified_at": None}, headers=rep.headers
    )
    assert refused.status_code == 422


async def test_one_uk_number_written_two_ways_is_one_person(client, conn, rep):
    first = await post_lead(client, rep, owner_id=str(rep.id), phone="+44 (0)20 7946 0958")
    assert first.status_code == 201, first.text
    again = await post_lead(client, rep, owner_id=str(rep.id), phone="+44 20 7946 0958")
    assert again.status_code == 409, again.text
    assert again.json()["duplicates"] == [
        {"type": "lead", "id": first.json()["id"], "field": "phone"}
    ]
    customer = await make_customer(conn, owner_id=rep.id)
    contact = await client.post(
        f"/api/v1/customers/{customer}/contacts",
        json={"name": "Jane Smith", "phone": "0044 20 7946 0958"},
        headers=rep.headers,
    )
    assert contact.status_code == 201, contact.text
    third = await post_lead(client, rep, owner_id=str(rep.id), phone="+442079460958")
    assert {(d["type"], d["field"]) for d in third.json()["duplicates"]} == {
        ("lead", "phone"),
        ("contact", "phone"),
    }


async def test_a_national_number_is_read_in_the_configured_region(engine, conn, settings, rep):
    import httpx

    from app.core.config import Settings
    from app.main import create_app
    from tests.conftest import RolledBackDatabase

    american = Settings(**{**settings.model_dump(), "default_phone_region": "US"})
    app = create_app(american, RolledBackDatabase(engine, conn))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as us_client:
        created = await post_lead(us_client, rep, owner_id=str(rep.id), phone="(415) 555-0100")
        assert created.status_code == 201, created.text
        # The same person written internationally is found as a duplicate.
        again = await post_lead(us_client, rep, owner_id=str(rep.id), phone="+1 415-555-0100")
        assert again.status_code == 409, again.text
    stored = await conn.scalar(
        sa.select(leads_table.c.phone_normalized).where(
            leads_table.c.id == uuid.UUID(created.json()["id"])
        )
    )
    assert stored == "+14155550100"
    assert created.json()["phone"] == "(415) 555-0100"


@pytest.mark.parametrize("phone", ["12345", "+44 20 7946 09", "138 1234 567"])
async def test_an_invalid_phone_is_a_422_naming_the_field(client, conn, rep, phone):
    created = await post_lead(client, rep, owner_id=str(rep.id), phone=phone)
    assert created.status_code == 422, created.text
    assert [(e["code"], e["field"]) for e in created.json()["errors"]] == [
        ("invalid_phone", "phone")
    ]
    lead = await make_lead(conn, owner_id=rep.id)
    patched = await client.patch(
        f"/api/v1/leads/{lead}", json={"phone": phone}, headers=rep.headers
    )
    assert patched.status_code == 422, patched.text
    assert patched.json()["errors"][0]["field"] == "phone"
    customer = await make_customer(conn, owner_id=rep.id)
    contact = await client.post(
        f"/api/v1/customers/{customer}/contacts",
        json={"name": "Li Wei", "phone": phone},
        headers=rep.headers,
    )
    assert contact.status_code == 422, contact.text
    assert contact.json()["errors"][0]["field"] == "phone"


async def test_a_rep_whose_lead_is_routed_away_is_told_to_whom_and_may_still_read_it(
    client, conn, settings
):
    junior = await make_user(conn, settings, role=Role.rep)
    senior = await make_user(conn, settings, role=Role.rep, seniority=Seniority.senior)
    created = await post_lead(client, junior, **MAN, expected_purchase_date=soon())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["owner_id"] == str(senior.id)
    assert body["created_by"] == str(junior.id)
    assert body["routing"] == {
        "pool": "senior",
        "owner_id": str(senior.id),
        "owner_name": body["routing"]["owner_name"],
        "owner_seniority": "senior",
    }
    assert body["routing"]["owner_name"]
    # The Location answers the rep who captured it...
    read = await client.get(created.headers["location"], headers=junior.headers)
    assert read.status_code == 200, read.text
    assert read.json()["owner_id"] == str(senior.id)
    assert "routing" not in read.json()
    # ...read-only: changing it stays the owner's, and it is not in the creator's list.
    patched = await client.patch(
        created.headers["location"], json={"company_name": "Mine now"}, headers=junior.headers
    )
    assert patched.status_code == 404
    listed = await client.get("/api/v1/leads", headers=junior.headers)
    assert listed.json()["items"] == []
    # Someone else who neither owns nor captured it still gets a 404.
    stranger = await make_user(conn, settings, role=Role.rep)
    assert (
        await client.get(created.headers["location"], headers=stranger.headers)
    ).status_code == 404


async def test_a_lead_given_an_owner_has_no_routing(client, rep):
    body = (await post_lead(client, rep, owner_id=str(rep.id))).json()
    assert body["routing"] is None
    assert body["created_by"] == str(rep.id)
