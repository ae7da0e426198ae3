import pytest

from app.core.enums import Role
from app.policy.router import router as policy_router
from app.rules.leads import LeadPolicy
from app.rules.policy import DEFAULT_POLICY, POLICY_VERSION, PolicySet
from tests.factories import make_api_key, make_user


@pytest.fixture
def app(app):
    # Until app/main.py registers the policy router, mount it on the test app here.
    if not any(getattr(r, "path", None) == "/api/v1/policy" for r in app.routes):
        app.include_router(policy_router)
    return app


async def test_policy_is_published_to_any_authenticated_caller(client, conn, settings):
    agent = await make_user(conn, settings, role=Role.support_agent)
    response = await client.get("/api/v1/policy", headers=agent.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == POLICY_VERSION
    assert set(body) >= {"deals", "quotes", "contracts", "leads", "customers", "tasks"}
    assert body["deals"]["win_probability_pct"]["negotiation"] == "80.00"
    assert body["deals"]["stale_after_days"] == 30
    assert body["quotes"]["discount_authority_pct"]["manager"] == "10.00"
    assert body["tasks"]["trade_show_follow_up_hours"] == 24
    gate = body["deals"]["gates"][0]
    assert (gate["from_stage"], gate["to_stage"]) == ("development", "initiation")
    key = await make_api_key(conn, scopes=["deals:read"])
    assert (await client.get("/api/v1/policy", headers=key.headers)).status_code == 200


async def test_policy_needs_credentials_and_takes_no_query(client, conn, settings):
    assert (await client.get("/api/v1/policy")).status_code == 401
    rep = await make_user(conn, settings)
    assert (await client.get("/api/v1/policy?version=1", headers=rep.headers)).status_code == 400


def test_task_delays_follow_the_lead_policy_of_the_same_set():
    tuned = PolicySet(leads=LeadPolicy(touch_interval_days=60, trade_show_follow_up_hours=12))
    assert tuned.tasks.nurture_touch_days == 60
    assert tuned.tasks.trade_show_follow_up_hours == 12
    assert DEFAULT_POLICY.tasks.nurture_touch_days == 90


async def test_the_webhook_delivery_policy_is_published(client, conn, settings):
    from app.webhooks.policy import DEFAULT_WEBHOOK_POLICY

    key = await make_api_key(conn, scopes=["webhooks:read"])
    webhooks = (await client.get("/api/v1/policy", headers=key.headers)).json()["webhooks"]
    assert webhooks["retry_schedule_seconds"] == list(DEFAULT_WEBHOOK_POLICY.retry_schedule_seconds)
    assert webhooks["retry_schedule_seconds"][:2] == [5, 300]
    assert webhooks["timeout_seconds"] == settings.webhook_timeout_seconds == 15
    assert webhooks["disable_after_failing_days"] == 5
    assert webhooks["delivery_log_retention_days"] == 30
    assert webhooks["retry_after_cap_seconds"] == 6 * 3600
