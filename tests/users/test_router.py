import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core.enums import Role
from app.core.errors import InvalidInput
from app.models import ApiKey, AuditEntry, User
from app.users import service
from tests.factories import PASSWORD, make_team, make_user

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def admin(conn, settings):
    return await make_user(conn, settings, role=Role.admin)


def new_user_body(**overrides):
    return {
        "email": f"New.User-{uuid.uuid4().hex[:8]}@Example.com",
        "name": "New User",
        "role": "rep",
        "password": "twelve chars!",
    } | overrides


async def login(client, email, password):
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_admin_creates_a_user_who_can_log_in(client, admin):
    body = new_user_body(seniority="senior")
    created = await client.post("/api/v1/users", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == body["email"].lower()
    assert user["role"] == "rep" and user["seniority"] == "senior" and user["is_active"] is True
    assert "password" not in created.text and "password_hash" not in created.text
    assert created.headers["location"] == f"/api/v1/users/{user['id']}"
    assert created.headers["etag"] == '"1"'

    token = await login(client, body["email"].upper(), body["password"])
    assert token.status_code == 200, token.text
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json()["id"] == user["id"]
    fetched = await client.get(created.headers["location"], headers=admin.headers)
    assert fetched.json()["last_login_at"] is not None
    assert "password_hash" not in fetched.text


async def test_email_is_unique_whatever_its_case(client, admin):
    body = new_user_body()
    assert (await client.post("/api/v1/users", json=body, headers=admin.headers)).status_code == 201
    again = new_user_body(email=body["email"].swapcase())
    duplicate = await client.post("/api/v1/users", json=again, headers=admin.headers)
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"
    assert duplicate.json()["errors"][0]["field"] == "email"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password": "eleven char"}, "password"),
        ({"role": "superuser"}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"seniority": "junior"}, "seniority"),
        ({"team_id": str(uuid.uuid4())}, "team_id"),
        ({"password_hash": "x"}, "password_hash"),
    ],
)
async def test_bad_user_input_is_422_naming_the_field(client, admin, overrides, field):
    response = await client.post(
        "/api/v1/users", json=new_user_body(**overrides), headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_only_admins_create_or_change_users(client, conn, settings):
    target = await make_user(conn, settings, role=Role.rep)
    for role in (Role.rep, Role.manager, Role.director, Role.support_agent):
        actor = await make_user(conn, settings, role=role)
        created = await client.post("/api/v1/users", json=new_user_body(), headers=actor.headers)
        assert created.status_code == 403, role
        patched = await client.patch(
            f"/api/v1/users/{target.id}", json={"name": "Renamed"}, headers=actor.headers
        )
        assert patched.status_code == 403, role


async def test_deactivating_a_user_stops_their_token_at_once(client, conn, settings, admin):
    rep = await make_user(conn, settings, role=Role.rep)
    assert (await client.get("/api/v1/me", headers=rep.headers)).status_code == 200
    url = f"/api/v1/users/{rep.id}"
    off = await client.patch(
        url, json={"is_active": False}, headers={**admin.headers, "If-Match": '"1"'}
    )
    assert off.status_code == 200, off.text
    assert off.json()["is_active"] is False and off.json()["version"] == 2
    refused = await client.get("/api/v1/me", headers=rep.headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await login(client, rep.email, PASSWORD)).status_code == 401

    back = await client.patch(url, json={"is_active": True}, headers=admin.headers)
    assert back.status_code == 200, back.text
    # Reactivation does not revive the sessions the user had before: they log in again.
    assert (await client.get("/api/v1/me", headers=rep.headers)).status_code == 401
    fresh = await login(client, rep.email, PASSWORD)
    assert fresh.status_code == 200, fresh.text
    headers = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_a_new_password_revokes_the_tokens_issued_before_it(client, conn, settings, admin):
    rep = await make_user(conn, settings, role=Role.rep)
    other = await make_user(conn, settings, role=Role.rep)
    before = await login(client, rep.email, PASSWORD)
    old = {"Authorization": f"Bearer {before.json()['access_token']}"}
    changed = await client.patch(
        f"/api/v1/users/{rep.id}", json={"password": NEW_PASSWORD}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    for headers in (old, rep.headers):
        refused = await client.get("/api/v1/me", headers=headers)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    after = await login(client, rep.email, NEW_PASSWORD)
    new = {"Authorization": f"Bearer {after.json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=new)).status_code == 200
    # Everyone else's sessions are untouched, and so are the user's after a rename.
    assert (await client.get("/api/v1/me", headers=other.headers)).status_code == 200
    await client.patch(f"/api/v1/users/{rep.id}", json={"name": "Renamed"}, headers=admin.headers)
    assert (await client.get("/api/v1/me", headers=new)).status_code == 200


async def test_patch_changes_role_and_team_and_honours_if_match(client, conn, settings, admin):
    rep = await make_user(conn, settings, role=Role.rep)
    team = await make_team(conn)
    url = f"/api/v1/users/{rep.id}"
    changed = await client.patch(
        url,
        json={"role": "manager", "team_id": str(team), "seniority": "senior"},
        headers={**admin.headers, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "manager" and changed.json()["team_id"] == str(team)
    assert changed.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"name": "Stale"}, headers={**admin.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert (await client.get(url, headers=admin.headers)).json()["name"] != "Stale"
    me = (await client.get("/api/v1/me", headers=rep.headers)).json()
    assert me["role"] == "manager"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "other@example.com"},
        {"password_hash": "x"},
        {"role": None},
        {"is_active": None},
        {"password": "short"},
        {"team_id": str(uuid.uuid4())},
    ],
)
async def test_bad_user_patches_are_refused(client, conn, settings, admin, body):
    rep = await make_user(conn, settings, role=Role.rep)
    response = await client.patch(f"/api/v1/users/{rep.id}", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text


async def test_admin_may_not_lock_themselves_out(client, admin):
    url = f"/api/v1/users/{admin.id}"
    for body in ({"is_active": False}, {"role": "director"}):
        response = await client.patch(url, json=body, headers=admin.headers)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["code"] == "self_lockout"
    renamed = await client.patch(url, json={"name": "Still Admin"}, headers=admin.headers)
    assert renamed.status_code == 200


async def test_password_change_replaces_the_old_one_and_is_audited_without_the_hash(
    client, conn, settings, admin
):
    rep = await make_user(conn, settings, role=Role.rep)
    response = await client.patch(
        f"/api/v1/users/{rep.id}", json={"password": NEW_PASSWORD}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert (await login(client, rep.email, PASSWORD)).status_code == 401
    assert (await login(client, rep.email, NEW_PASSWORD)).status_code == 200
    trail = await client.get(f"/api/v1/audit?entity_id={rep.id}", headers=admin.headers)
    (entry,) = trail.json()["items"]
    assert entry["action"] == "updated" and entry["after"] == {"password_changed": True}
    assert "argon2" not in trail.text


async def test_users_are_visible_by_role(client, conn, settings):
    team, other_team = await make_team(conn), await make_team(conn)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    rep = await make_user(conn, settings, role=Role.rep, team_id=team)
    teammate = await make_user(conn, settings, role=Role.rep, team_id=team)
    outsider = await make_user(conn, settings, role=Role.rep, team_id=other_team)
    director = await make_user(conn, settings, role=Role.director)

    async def status(actor, user):
        return (await client.get(f"/api/v1/users/{user.id}", headers=actor.headers)).status_code

    assert await status(rep, rep) == 200
    assert await status(rep, teammate) == 404
    assert await status(manager, teammate) == 200
    assert await status(manager, outsider) == 404
    assert await status(director, outsider) == 200

    listed = (await client.get("/api/v1/users", headers=manager.headers)).json()["items"]
    assert {i["id"] for i in listed} == {str(manager.id), str(rep.id), str(teammate.id)}
    own = (await client.get("/api/v1/users", headers=rep.headers)).json()["items"]
    assert [i["id"] for i in own] == [str(rep.id)]


async def test_user_list_filters_and_pages(client, conn, settings, admin):
    team = await make_team(conn)
    members = [await make_user(conn, settings, role=Role.rep, team_id=team) for _ in range(5)]
    await make_user(conn, settings, role=Role.manager, team_id=team)
    await make_user(conn, settings, role=Role.rep, team_id=team, is_active=False)

    query = f"/api/v1/users?team_id={team}&role=rep&is_active=true"
    seen, cursor = [], None
    while True:
        url = query + "&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=admin.headers)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(m.id) for m in members]

    inactive = await client.get(
        f"/api/v1/users?team_id={team}&is_active=false", headers=admin.headers
    )
    assert len(inactive.json()["items"]) == 1
    by_name = await client.get(f"/api/v1/users?team_id={team}&sort=-name", headers=admin.headers)
    names = [i["name"] for i in by_name.json()["items"]]
    assert names == sorted(names, reverse=True)
    assert (await client.get("/api/v1/users?rol=rep", headers=admin.headers)).status_code == 400
    assert (await client.get("/api/v1/users?role=boss", headers=admin.headers)).status_code == 422


async def test_create_user_is_idempotent(client, admin):
    headers = {**admin.headers, "Idempotency-Key": "user-1"}
    body = new_user_body()
    first = await client.post("/api/v1/users", json=body, headers=headers)
    again = await client.post("/api/v1/users", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


async def test_unknown_user_is_404(client, admin):
    response = await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=admin.headers)
    assert response.status_code == 404


# Teams


async def test_team_round_trip_with_a_manager(client, conn, settings, admin):
    manager = await make_user(conn, settings, role=Role.manager)
    created = await client.post(
        "/api/v1/teams",
        json={"name": "East China", "manager_id": str(manager.id)},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    team = created.json()
    assert team["manager_id"] == str(manager.id)
    url = created.headers["location"]
    assert (await client.get(url, headers=admin.headers)).json() == team
    renamed = await client.patch(
        url, json={"name": "East", "manager_id": None}, headers={**admin.headers, "If-Match": '"1"'}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "East" and renamed.json()["manager_id"] is None
    stale = await client.patch(
        url, json={"name": "X"}, headers={**admin.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    managed = await client.get(f"/api/v1/teams?manager_id={manager.id}", headers=admin.headers)
    assert managed.json()["items"] == []


async def test_team_names_are_unique_whatever_their_case(client, conn, admin):
    await make_team(conn, name="North")
    other = await make_team(conn, name="South")
    taken = await client.post("/api/v1/teams", json={"name": "NORTH"}, headers=admin.headers)
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "name"
    rename = await client.patch(
        f"/api/v1/teams/{other}", json={"name": "north"}, headers=admin.headers
    )
    assert rename.status_code == 409
    same = await client.patch(
        f"/api/v1/teams/{other}", json={"name": "SOUTH"}, headers=admin.headers
    )
    assert same.status_code == 200


async def test_team_manager_must_be_an_active_manager(client, conn, settings, admin):
    rep = await make_user(conn, settings, role=Role.rep)
    retired = await make_user(conn, settings, role=Role.manager, is_active=False)
    for manager_id in (rep.id, retired.id, uuid.uuid4()):
        response = await client.post(
            "/api/v1/teams",
            json={"name": f"T-{uuid.uuid4().hex[:6]}", "manager_id": str(manager_id)},
            headers=admin.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "manager_id"
    team = await make_team(conn)
    patched = await client.patch(
        f"/api/v1/teams/{team}", json={"manager_id": str(rep.id)}, headers=admin.headers
    )
    assert patched.status_code == 422


async def test_teams_are_visible_to_members_and_their_manager(client, conn, settings, admin):
    team, other = await make_team(conn), await make_team(conn)
    member = await make_user(conn, settings, role=Role.rep, team_id=team)
    boss = await make_user(conn, settings, role=Role.manager)
    await client.patch(
        f"/api/v1/teams/{other}", json={"manager_id": str(boss.id)}, headers=admin.headers
    )
    assert (await client.get(f"/api/v1/teams/{team}", headers=member.headers)).status_code == 200
    assert (await client.get(f"/api/v1/teams/{other}", headers=member.headers)).status_code == 404
    assert (await client.get(f"/api/v1/teams/{other}", headers=boss.headers)).status_code == 200
    listed = (await client.get("/api/v1/teams", headers=member.headers)).json()["items"]
    assert [t["id"] for t in listed] == [str(team)]


# Partner API keys


async def test_api_key_secret_is_shown_once_and_works(client, conn, admin):
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "ERP", "scopes": ["customers:read", "customers:read", "leads:write"]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()
    secret = key["key"]
    assert secret.startswith(key["prefix"]) and len(secret) > 40
    assert key["scopes"] == ["customers:read", "leads:write"]
    assert key["created_by"] == str(admin.id) and key["revoked_at"] is None

    fetched = await client.get(created.headers["location"], headers=admin.headers)
    assert "key" not in fetched.json() and secret not in fetched.text
    listed = await client.get("/api/v1/api-keys", headers=admin.headers)
    assert secret not in listed.text
    stored = (await conn.execute(sa.select(ApiKey.__table__.c.key_hash))).scalars().all()
    assert secret not in stored

    partner = {"X-API-Key": secret}
    assert (await client.get("/api/v1/customers", headers=partner)).status_code == 200
    after_use = (await client.get(created.headers["location"], headers=admin.headers)).json()
    assert after_use["last_used_at"] is not None


async def test_revoked_key_stops_working_at_once(client, admin):
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "Web", "scopes": ["customers:read"]},
        headers=admin.headers,
    )
    partner = {"X-API-Key": created.json()["key"]}
    assert (await client.get("/api/v1/customers", headers=partner)).status_code == 200
    url = created.headers["location"]
    stale = await client.delete(url, headers={**admin.headers, "If-Match": '"7"'})
    assert stale.status_code == 412
    revoked = await client.delete(url, headers={**admin.headers, "If-Match": '"1"'})
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/api/v1/customers", headers=partner)).status_code == 401
    again = await client.delete(url, headers=admin.headers)
    assert again.status_code == 200 and again.json() == revoked.json()

    live = (await client.get("/api/v1/api-keys?revoked=false", headers=admin.headers)).json()
    assert created.json()["id"] not in [k["id"] for k in live["items"]]
    gone = (await client.get("/api/v1/api-keys?revoked=true", headers=admin.headers)).json()
    assert created.json()["id"] in [k["id"] for k in gone["items"]]


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        (
            {"name": "X", "scopes": ["customers:read", "customers:admin"]},
            "scopes.1",
            "customers:admin",
        ),
        ({"name": "X", "scopes": ["users:write"]}, "scopes.0", "users:write"),
        ({"name": "X", "scopes": []}, "scopes", None),
        (
            {"name": "X", "scopes": ["leads:read"], "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
            None,
        ),
        (
            {"name": "X", "scopes": ["leads:read"], "expires_at": "2999-01-01T00:00:00"},
            "expires_at",
            None,
        ),
        (
            {"name": "X", "scopes": ["leads:read"], "expires_at": "9999-12-31T23:59:59-01:00"},
            "expires_at",
            None,
        ),
        ({"name": "", "scopes": ["leads:read"]}, "name", None),
    ],
)
async def test_bad_api_key_input_is_422_naming_the_problem(client, admin, body, field, text):
    response = await client.post("/api/v1/api-keys", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors]
    if text:
        assert text in errors[0]["message"]


async def test_future_expiry_is_kept(client, admin):
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "Temp", "scopes": ["leads:read"], "expires_at": expires.isoformat()},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert datetime.fromisoformat(created.json()["expires_at"]) == expires


async def test_idempotent_retry_creates_one_key_and_never_replays_the_secret(client, conn, admin):
    headers = {**admin.headers, "Idempotency-Key": "key-1"}
    body = {"name": "Retry", "scopes": ["leads:write"]}
    first = await client.post("/api/v1/api-keys", json=body, headers=headers)
    again = await client.post("/api/v1/api-keys", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["key"] and again.json()["key"] is None
    assert again.json()["id"] == first.json()["id"]
    count = await conn.scalar(sa.select(sa.func.count()).where(ApiKey.__table__.c.name == "Retry"))
    assert count == 1
    assert first.json()["key"] not in str(
        (await conn.execute(sa.text("SELECT response_body FROM idempotency_keys"))).all()
    )


async def test_only_admins_handle_api_keys(client, conn, settings, admin):
    key = (
        await client.post(
            "/api/v1/api-keys", json={"name": "K", "scopes": ["leads:read"]}, headers=admin.headers
        )
    ).json()
    director = await make_user(conn, settings, role=Role.director)
    for method, url in [
        ("get", "/api/v1/api-keys"),
        ("get", f"/api/v1/api-keys/{key['id']}"),
        ("delete", f"/api/v1/api-keys/{key['id']}"),
    ]:
        response = await client.request(method, url, headers=director.headers)
        assert response.status_code == 403, url
    post = await client.post(
        "/api/v1/api-keys", json={"name": "K", "scopes": ["leads:read"]}, headers=director.headers
    )
    assert post.status_code == 403


# The audit trail


async def test_user_and_key_changes_are_audited_newest_first(client, admin):
    user = (await client.post("/api/v1/users", json=new_user_body(), headers=admin.headers)).json()
    await client.patch(
        f"/api/v1/users/{user['id']}", json={"name": "Renamed"}, headers=admin.headers
    )
    key = (
        await client.post(
            "/api/v1/api-keys", json={"name": "K", "scopes": ["leads:read"]}, headers=admin.headers
        )
    ).json()
    await client.delete(f"/api/v1/api-keys/{key['id']}", headers=admin.headers)

    trail = (await client.get(f"/api/v1/audit?actor_id={admin.id}", headers=admin.headers)).json()
    actions = [(e["entity_type"], e["action"]) for e in trail["items"]]
    assert actions == [
        ("api_key", "revoked"),
        ("api_key", "created"),
        ("user", "updated"),
        ("user", "created"),
    ]
    revoked, _, renamed, created = trail["items"]
    assert renamed["before"] == {"name": "New User"} and renamed["after"] == {"name": "Renamed"}
    assert renamed["actor_type"] == "user" and renamed["actor_name"]
    assert created["after"]["email"] == user["email"]
    assert revoked["before"] == {"revoked_at": None}
    assert "password" not in str(created) and key["key"] not in str(trail)

    only_users = await client.get(
        f"/api/v1/audit?actor_id={admin.id}&entity_type=user", headers=admin.headers
    )
    assert [e["action"] for e in only_users.json()["items"]] == ["updated", "created"]
    one = await client.get(f"/api/v1/audit?entity_id={key['id']}", headers=admin.headers)
    assert len(one.json()["items"]) == 2


async def test_audit_time_window_and_paging(client, conn, admin):
    base = datetime(2026, 3, 1, tzinfo=UTC)
    entity = uuid.uuid4()
    for minute in range(5):
        await conn.execute(
            AuditEntry.__table__.insert().values(
                id=uuid.uuid4(),
                at=base + timedelta(minutes=minute),
                actor_type="system",
                action="touched",
                entity_type="deal",
                entity_id=entity,
                before={},
                after={"n": minute},
            )
        )
    url = "/api/v1/audit"
    only = {"entity_id": str(entity)}
    window = await client.get(
        url,
        params=only | {"after": "2026-03-01T00:00:00Z", "before": "2026-03-01T00:04:00Z"},
        headers=admin.headers,
    )
    assert [e["after"]["n"] for e in window.json()["items"]] == [3, 2, 1]

    seen, cursor = [], None
    while True:
        params = only | {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(url, params=params, headers=admin.headers)).json()
        seen += [e["after"]["n"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [4, 3, 2, 1, 0]
    for bad in ("2026-03-01T00:00:00", "0001-01-01T00:00:00+01:00", "yesterday"):
        response = await client.get(url, params={"after": bad}, headers=admin.headers)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "after"


async def test_audit_readers_and_what_a_manager_sees(client, conn, settings, admin):
    team = await make_team(conn)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    member = await make_user(conn, settings, role=Role.rep, team_id=team)
    outsider = await make_user(conn, settings, role=Role.rep)
    for actor in (member, outsider):
        created = await client.post("/api/v1/customers", json={"name": "C"}, headers=actor.headers)
        assert created.status_code == 201
        await conn.execute(
            AuditEntry.__table__.insert().values(
                id=uuid.uuid4(),
                at=datetime.now(UTC),
                actor_type="user",
                actor_id=actor.id,
                action="updated",
                entity_type="customer",
                entity_id=uuid.UUID(created.json()["id"]),
                before={},
                after={},
            )
        )
    seen = (await client.get("/api/v1/audit", headers=manager.headers)).json()["items"]
    assert {e["actor_id"] for e in seen} == {str(member.id)}
    everyone = (await client.get("/api/v1/audit", headers=admin.headers)).json()["items"]
    assert {str(member.id), str(outsider.id)} <= {e["actor_id"] for e in everyone}
    for role in (Role.rep, Role.support_agent):
        actor = await make_user(conn, settings, role=role)
        assert (await client.get("/api/v1/audit", headers=actor.headers)).status_code == 403


# The command line's entry point


async def test_create_user_without_a_principal_is_audited_as_the_system(conn):
    row = await service.create_user(
        conn, email="First.Admin@Example.com", password="bootstrap-passphrase", role=Role.admin
    )
    assert row["email"] == "first.admin@example.com" and row["name"] == "First.Admin"
    stored = await conn.scalar(
        sa.select(User.__table__.c.password_hash).where(User.__table__.c.id == row["id"])
    )
    assert stored.startswith("$argon2")
    actor = (
        await conn.execute(
            sa.select(AuditEntry.__table__.c.actor_type, AuditEntry.__table__.c.actor_name).where(
                AuditEntry.__table__.c.entity_id == row["id"]
            )
        )
    ).one()
    assert tuple(actor) == ("system", "system")
    with pytest.raises(InvalidInput) as refused:
        await service.create_user(conn, email="x@example.com", password="short", role=Role.rep)
    assert refused.value.errors[0].field == "password"
