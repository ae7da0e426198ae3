import asyncio
import base64
import json
import warnings
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from pydantic import ValidationError

from app.core.config import DEFAULT_JWT_SECRET, Settings, get_settings
from app.core.enums import Role
from app.core.security import issue_access_token
from app.main import create_app
from app.models import LoginFailure
from tests.factories import PASSWORD, make_api_key, make_user

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


async def login(client, email, password):
    return await client.post(TOKEN_URL, data={"username": email, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response):
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


# Logging in


async def test_login_returns_a_working_token(client, rep):
    response = await login(client, rep.email, PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == str(rep.id) and me.json()["role"] == "rep"


async def test_wrong_password_and_unknown_email_are_the_same_401(client, rep):
    wrong = await login(client, rep.email, "not the password")
    unknown = await login(client, "nobody@example.com", PASSWORD)
    assert_unauthorized(wrong)
    assert_unauthorized(unknown)
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_inactive_user_cannot_log_in(client, conn, settings):
    retired = await make_user(conn, settings, role=Role.rep, is_active=False)
    assert_unauthorized(await login(client, retired.email, PASSWORD))


async def test_repeated_failures_lock_out_that_client_until_the_window_passes(
    client, conn, settings, rep
):
    for _ in range(settings.login_max_failures):
        assert (await login(client, rep.email, "guess")).status_code == 401
    locked = await login(client, rep.email, PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    retry_after = int(locked.headers["retry-after"])
    assert 0 < retry_after <= settings.login_failure_window_seconds + 1

    # Let the window pass: every recorded failure becomes older than it.
    failures = LoginFailure.__table__
    await conn.execute(
        failures.update().values(
            failed_at=datetime.now(UTC)
            - timedelta(seconds=settings.login_failure_window_seconds + 1)
        )
    )
    assert (await login(client, rep.email, PASSWORD)).status_code == 200


async def test_failures_from_another_client_do_not_lock_the_user_out(app, client, settings, rep):
    attacker = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("1.2.3.4", 123)), base_url="http://test"
    )
    async with attacker:
        for _ in range(settings.login_max_failures):
            assert (await login(attacker, rep.email, "guess")).status_code == 401
        assert (await login(attacker, rep.email, PASSWORD)).status_code == 429
    assert (await login(client, rep.email, PASSWORD)).status_code == 200


async def test_a_short_window_expires_on_its_own(app, client, settings, rep):
    for _ in range(settings.login_max_failures):
        await login(client, rep.email, "guess")
    assert (await login(client, rep.email, PASSWORD)).status_code == 429
    # Shrunk only now: on a busy machine five argon2 checks can outlast a one-second window.
    app.state.settings = settings.model_copy(update={"login_failure_window_seconds": 1})
    await asyncio.sleep(1.1)
    assert (await login(client, rep.email, PASSWORD)).status_code == 200


async def test_success_clears_earlier_failures(client, settings, rep):
    for _ in range(settings.login_max_failures - 1):
        await login(client, rep.email, "guess")
    assert (await login(client, rep.email, PASSWORD)).status_code == 200
    # Had the earlier failures been kept, one more would lock the user out.
    await login(client, rep.email, "guess")
    assert (await login(client, rep.email, PASSWORD)).status_code == 200


# Bearer tokens


def _claims(user_id, *, minutes=30, **extra):
    now = datetime.now(UTC)
    return {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "typ": "access",
    } | extra


def _b64(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _swap_char(text, index):
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def _hs512(claims, secret):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm="HS512")


async def test_bad_tokens_are_401_problems(client, conn, settings, rep):
    other = await make_user(conn, settings, role=Role.admin)
    good = jwt.encode(_claims(rep.id), settings.jwt_secret, algorithm="HS256")
    header, payload, signature = good.split(".")
    expired, _ = issue_access_token(settings, rep.id, datetime.now(UTC) - timedelta(hours=2))
    tokens = {
        "expired": expired,
        "tampered signature": f"{header}.{payload}.{_swap_char(signature, 10)}",
        "payload swapped to another user": f"{header}.{_b64(_claims(other.id))}.{signature}",
        "HS512 with the right secret": _hs512(_claims(rep.id), settings.jwt_secret),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "another secret": jwt.encode(_claims(rep.id), "x" * 40, algorithm="HS256"),
        "not an access token": jwt.encode(
            _claims(rep.id, typ="refresh"), settings.jwt_secret, algorithm="HS256"
        ),
        "no expiry": jwt.encode(
            {"sub": str(rep.id), "iat": 1, "typ": "access"}, settings.jwt_secret, algorithm="HS256"
        ),
        "garbage": "not-a-jwt",
    }
    assert (await client.get("/api/v1/me", headers=bearer(good))).status_code == 200
    for label, token in tokens.items():
        response = await client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401, label
        assert_unauthorized(response)


async def test_deactivated_users_token_is_refused(client, conn, settings):
    retired = await make_user(conn, settings, role=Role.manager, is_active=False)
    assert_unauthorized(await client.get("/api/v1/customers", headers=retired.headers))


# Partner API keys


async def test_api_key_scopes_decide_what_it_may_do(client, conn):
    reader = await make_api_key(conn, scopes=["customers:read"])
    assert (await client.get("/api/v1/customers", headers=reader.headers)).status_code == 200
    write = await client.post("/api/v1/customers", json={"name": "X"}, headers=reader.headers)
    assert write.status_code == 403
    assert write.headers["content-type"] == "application/problem+json"

    writer = await make_api_key(conn, scopes=["customers:read", "customers:write"])
    created = await client.post("/api/v1/customers", json={"name": "X"}, headers=writer.headers)
    assert created.status_code == 201

    unrelated = await make_api_key(conn, scopes=["leads:write"])
    assert (await client.get("/api/v1/customers", headers=unrelated.headers)).status_code == 403
    me = (await client.get("/api/v1/me", headers=unrelated.headers)).json()
    assert me["kind"] == "api_key" and me["scopes"] == ["leads:write"]


async def test_revoked_expired_and_unknown_keys_are_401(client, conn):
    now = datetime.now(UTC)
    keys = {
        "revoked": await make_api_key(conn, scopes=["customers:read"], revoked_at=now),
        "expired": await make_api_key(
            conn, scopes=["customers:read"], expires_at=now - timedelta(seconds=1)
        ),
    }
    for label, key in keys.items():
        response = await client.get("/api/v1/customers", headers=key.headers)
        assert response.status_code == 401, label
    unknown = await client.get("/api/v1/customers", headers={"X-API-Key": "sf_made_up"})
    assert unknown.status_code == 401
    live = await make_api_key(
        conn, scopes=["customers:read"], expires_at=now + timedelta(minutes=5)
    )
    assert (await client.get("/api/v1/customers", headers=live.headers)).status_code == 200


# Refusing to start with an unsafe configuration


def test_production_refuses_the_default_jwt_secret():
    with pytest.raises(ValidationError, match="SALESFLOW_JWT_SECRET"):
        Settings(environment="production", _env_file=None)
    private = Settings(environment="production", jwt_secret="only-ops-knows-this-0123456789ab")
    assert private.environment == "production"


def test_production_refuses_a_secret_shorter_than_32_bytes():
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(environment="production", jwt_secret="x" * 31, _env_file=None)
    assert Settings(environment="production", jwt_secret="x" * 32, _env_file=None)
    # Bytes, not characters: 11 three-byte characters are 33 bytes.
    assert Settings(environment="production", jwt_secret="密" * 11, _env_file=None)


def test_the_app_does_not_start_in_production_with_the_default_secret(monkeypatch):
    monkeypatch.setenv("SALESFLOW_ENVIRONMENT", "production")
    monkeypatch.delenv("SALESFLOW_JWT_SECRET", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="SALESFLOW_JWT_SECRET"):
            create_app()
    finally:
        get_settings.cache_clear()


def test_development_may_use_the_default_secret():
    assert Settings(environment="development", _env_file=None).jwt_secret == DEFAULT_JWT_SECRET
