"""The webhook endpoints API: secrets shown once, rotation, validation, access, replay."""

import base64
import uuid

import pytest
import sqlalchemy as sa

from app.core.enums import Role
from app.events.catalogue import EventType
from app.webhooks.repository import deliveries_table
from tests.factories import make_api_key, make_user
from tests.webhooks.conftest import deliver, emit_events, fan_out_all, register
from tests.webhooks.receiver import Answer

BASE = "/api/v1/webhook-endpoints"


def _field_errors(response):  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "application/problem+json"
    return {(e["code"], e.get("field")) for e in response.json()["errors"]}


async def test_the_secret_is_shown_once_and_never_audited(hooks, admin, receiver):
    created = await register(hooks, admin, receiver.url)
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    one = await hooks.get(f"{BASE}/{created['id']}", headers=admin.headers)
    assert one.status_code == 200 and "secret" not in one.json()
    assert one.headers["ETag"] == '"1"'
    listed = await hooks.get(BASE, headers=admin.headers)
    assert [e["id"] for e in listed.json()["items"]] == [created["id"]]
    assert secret not in listed.text
    rotated = await hooks.post(f"{BASE}/{created['id']}/rotate-secret", headers=admin.headers)
    audit = await hooks.get(
        "/api/v1/audit", params={"entity_id": created["id"]}, headers=admin.headers
    )
    assert [e["action"] for e in audit.json()["items"]] == ["rotate_secret", "create"]
    assert secret not in audit.text and rotated.json()["secret"] not in audit.text
    assert "whsec_" not in audit.text


async def test_an_idempotent_retry_of_the_creation_does_not_show_the_secret(hooks, admin, receiver):
    body = {"url": receiver.url, "event_types": ["*"]}
    headers = {**admin.headers, "Idempotency-Key": "create-hook-1"}
    first = await hooks.post(BASE, json=body, headers=headers)
    again = await hooks.post(BASE, json=body, headers=headers)
    assert first.json()["secret"] and again.json()["secret"] is None
    assert again.json()["id"] == first.json()["id"]


async def test_rotation_signs_with_both_secrets_during_the_grace_period(hooks, admin, receiver):
    created = await register(hooks, admin, receiver.url)
    response = await hooks.post(
        f"{BASE}/{created['id']}/rotate-secret", headers={**admin.headers, "If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_expires_at"]
    assert response.headers["ETag"] == '"2"'
    sent = await hooks.post(f"{BASE}/{created['id']}/test", headers=admin.headers)
    assert sent.status_code == 200, sent.text
    assert sent.json()["delivered"] is True and sent.json()["status_code"] == 200
    (request,) = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.verified(created["secret"])["type"] == "webhook.test"
    assert request.verified(rotated["secret"])["data"]["endpoint_id"] == created["id"]
    assert request.webhook_id == sent.json()["webhook_id"]


async def test_the_test_send_reports_a_failure(hooks, admin, receiver):
    created = await register(hooks, admin, receiver.url)
    receiver.answer(Answer(500, body=b"down for maintenance"))
    sent = (await hooks.post(f"{BASE}/{created['id']}/test", headers=admin.headers)).json()
    assert sent["delivered"] is False and sent["status_code"] == 500
    assert sent["error"] == "HTTP 500" and sent["response_body"] == "down for maintenance"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"url": "ftp://example.com/x", "event_types": ["deal.*"]}, ("url_scheme", "url")),
        ({"url": "https://user:pw@example.com/", "event_types": ["*"]}, ("url_credentials", "url")),
        (
            {"url": "https://example.com/", "event_types": ["deal.eaten"]},
            ("value_error", "event_types.0"),
        ),
        (
            {"url": "https://example.com/", "event_types": ["nothing.*"]},
            ("value_error", "event_types.0"),
        ),
        ({"url": "https://example.com/", "event_types": []}, ("too_short", "event_types")),
    ],
)
async def test_invalid_input_names_the_field(hooks, admin, body, expected):
    response = await hooks.post(BASE, json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert expected in _field_errors(response)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://100.64.0.1/hook",
    ],
)
async def test_private_addresses_are_refused_by_default(client, conn, settings, url):
    admin = await make_user(conn, settings, role=Role.admin)
    response = await client.post(
        BASE, json={"url": url, "event_types": ["*"]}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert ("url_not_public", "url") in _field_errors(response)


async def test_private_addresses_are_allowed_with_the_setting(hooks, admin):
    response = await hooks.post(
        BASE, json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}, headers=admin.headers
    )
    assert response.status_code == 201, response.text


def test_production_requires_https_unless_allowed(settings):
    from app.webhooks.ssrf import UnsafeUrl, check_url_shape

    production = settings.model_copy(update={"environment": "production"})
    with pytest.raises(UnsafeUrl) as refusal:
        check_url_shape("http://partner.example.com/hook", production)
    assert refusal.value.code == "https_required"
    check_url_shape("https://partner.example.com/hook", production)
    allowed = production.model_copy(update={"webhook_allow_http": True})
    check_url_shape("http://partner.example.com/hook", allowed)


async def test_patch_follows_if_match_and_refuses_state_fields(hooks, admin, receiver):
    created = await register(hooks, admin, receiver.url)
    path = f"{BASE}/{created['id']}"
    stale = await hooks.patch(
        path, json={"description": "x"}, headers={**admin.headers, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    status = await hooks.patch(path, json={"status": "healthy"}, headers=admin.headers)
    assert status.status_code == 422 and ("state_field", "status") in _field_errors(status)
    bad = await hooks.patch(path, json={"event_types": ["deal.nope"]}, headers=admin.headers)
    assert ("value_error", "event_types.0") in _field_errors(bad)
    changed = await hooks.patch(
        path,
        json={"event_types": ["ticket.sla_breached", "lead.*"], "enabled": False},
        headers={**admin.headers, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["event_types"] == ["ticket.sla_breached", "lead.*"]
    assert (body["enabled"], body["status"], body["disabled_reason"]) == (
        False,
        "disabled",
        "by_admin",
    )
    assert changed.headers["ETag"] == '"2"'


async def test_delete_hides_the_endpoint(hooks, admin, receiver):
    created = await register(hooks, admin, receiver.url)
    deleted = await hooks.delete(f"{BASE}/{created['id']}", headers=admin.headers)
    assert deleted.status_code == 200 and deleted.json()["enabled"] is False
    assert (await hooks.get(f"{BASE}/{created['id']}", headers=admin.headers)).status_code == 404
    assert (await hooks.get(BASE, headers=admin.headers)).json()["items"] == []


async def test_who_may_manage_webhooks(hooks, admin, receiver, conn, settings):
    created = await register(hooks, admin, receiver.url)
    path = f"{BASE}/{created['id']}"
    body = {"url": receiver.url, "event_types": ["*"]}
    for role in (Role.rep, Role.manager, Role.director):
        user = await make_user(conn, settings, role=role)
        assert (await hooks.get(BASE, headers=user.headers)).status_code == 403
        assert (await hooks.get(path, headers=user.headers)).status_code == 403
        assert (await hooks.post(BASE, json=body, headers=user.headers)).status_code == 403
    reader = await make_api_key(conn, scopes=["webhooks:read"])
    writer = await make_api_key(conn, scopes=["webhooks:write"])
    other = await make_api_key(conn, scopes=["deals:write", "events:read"])
    assert (await hooks.get(path, headers=reader.headers)).status_code == 200
    assert (await hooks.get(f"{path}/deliveries", headers=reader.headers)).status_code == 200
    assert (await hooks.post(BASE, json=body, headers=reader.headers)).status_code == 403
    assert (await hooks.post(f"{path}/rotate-secret", headers=reader.headers)).status_code == 403
    assert (await hooks.get(path, headers=other.headers)).status_code == 403
    assert (await hooks.post(BASE, json=body, headers=writer.headers)).status_code == 201
    missing = f"{BASE}/{uuid.uuid4()}"
    assert (await hooks.get(missing, headers=writer.headers)).status_code == 404
    assert (await hooks.get(f"{missing}/deliveries", headers=admin.headers)).status_code == 404
    unknown = await hooks.get(BASE, params={"curser": "x"}, headers=admin.headers)
    assert unknown.status_code == 400


async def test_retry_of_a_dead_delivery_sends_the_event_again(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    created = await register(hooks, admin, receiver.url)
    (event_id,) = await emit_events(conn, EventType.deal_created)
    await fan_out_all(db)
    await conn.execute(
        deliveries_table.update().values(status="dead", next_attempt_at=None, attempts=11)
    )
    log = (await hooks.get(f"{BASE}/{created['id']}/deliveries", headers=admin.headers)).json()
    dead = log["items"][0]
    retried = await hooks.post(
        f"{BASE}/{created['id']}/deliveries/{dead['id']}/retry", headers=admin.headers
    )
    assert retried.status_code == 202, retried.text
    fresh = retried.json()
    assert fresh["id"] != dead["id"] and fresh["trigger"] == "retry" and fresh["attempts"] == 0
    again = await hooks.post(
        f"{BASE}/{created['id']}/deliveries/{dead['id']}/retry", headers=admin.headers
    )
    assert again.json()["id"] == fresh["id"]  # already waiting: no second copy
    await deliver(db, outbound, created, hook_settings)
    assert [r.webhook_id for r in receiver.received] == [str(event_id)]
    dead_only = await hooks.get(
        f"{BASE}/{created['id']}/deliveries", params={"status": "dead"}, headers=admin.headers
    )
    assert [d["id"] for d in dead_only.json()["items"]] == [dead["id"]]
    missing = await hooks.post(
        f"{BASE}/{created['id']}/deliveries/{uuid.uuid4()}/retry", headers=admin.headers
    )
    assert missing.status_code == 404


async def _sent_ids(conn, endpoint_id):  # type: ignore[no-untyped-def]
    statement = sa.select(deliveries_table.c.event_id, deliveries_table.c.trigger).where(
        deliveries_table.c.endpoint_id == uuid.UUID(endpoint_id)
    )
    return (await conn.execute(statement)).all()


async def test_replay_delivers_exactly_the_chosen_range(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    created = await register(hooks, admin, receiver.url, ["deal.*"])
    ids = await emit_events(
        conn,
        EventType.deal_created,
        EventType.lead_created,
        EventType.deal_updated,
        EventType.deal_stage_changed,
    )
    await fan_out_all(db)
    await deliver(db, outbound, created, hook_settings)
    receiver.received.clear()
    path = f"{BASE}/{created['id']}/replay"

    after = await hooks.post(path, json={"after_event_id": str(ids[0])}, headers=admin.headers)
    assert after.status_code == 202, after.text
    assert after.json() == {
        "deliveries_created": 2,
        "first_event_id": str(ids[2]),
        "last_event_id": str(ids[3]),
    }
    await deliver(db, outbound, created, hook_settings)
    assert [r.webhook_id for r in receiver.received] == [str(ids[2]), str(ids[3])]

    from app.events.outbox import events_table

    occurred = sa.select(events_table.c.occurred_at).where(events_table.c.id == ids[2])
    since = (await conn.execute(occurred)).scalar_one()
    window = {"since": since.isoformat(), "until": (since.replace(year=since.year + 1)).isoformat()}
    by_time = await hooks.post(path, json=window, headers=admin.headers)
    assert by_time.json()["deliveries_created"] == 2
    # From the first event on (earlier tests' committed events in this database are older).
    first_at = sa.select(events_table.c.occurred_at).where(events_table.c.id == ids[0])
    first = (await conn.execute(first_at)).scalar_one()
    everything = await hooks.post(path, json={"since": first.isoformat()}, headers=admin.headers)
    assert everything.json()["deliveries_created"] == 3
    replayed = [e for e, trigger in await _sent_ids(conn, created["id"]) if trigger == "replay"]
    assert len(replayed) == 7 and ids[1] not in replayed


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ("replay_range_missing", "since")),
        ({"until": "2026-01-01T00:00:00Z"}, ("replay_since_missing", "since")),
        (
            {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            ("replay_range_reversed", "until"),
        ),
        (
            {"since": "2026-01-01T00:00:00Z", "after_event_id": str(uuid.uuid4())},
            ("replay_range_ambiguous", "after_event_id"),
        ),
        ({"after_event_id": str(uuid.uuid4())}, ("reference_not_found", "after_event_id")),
        ({"since": "2026-01-01T00:00:00"}, ("value_error", "since")),
    ],
)
async def test_replay_ranges_are_validated(hooks, admin, receiver, body, expected):
    created = await register(hooks, admin, receiver.url)
    response = await hooks.post(f"{BASE}/{created['id']}/replay", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert expected in _field_errors(response)
