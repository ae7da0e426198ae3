import base64
import json
import warnings
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from pydantic import ValidationError

from app.auth import service
from app.core.config import PUBLISHED_JWT_SECRET, Settings, get_settings
from app.core.enums import Role
from app.core.errors import TooManyRequests, Unauthorized
from app.core.security import issue_access_token
from app.main import create_app
from app.models import LoginThrottle
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


def client_at(app, address):
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def assert_locked_out(response, field):
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    [item] = response.json()["errors"]
    assert item["code"] == "too_many_failed_logins" and item.get("field") == field


async def test_repeated_failures_lock_out_the_account_until_the_window_passes(
    client, conn, settings, rep
):
    for _ in range(settings.login_max_failures):
        assert (await login(client, rep.email, "guess")).status_code == 401
    locked = await login(client, rep.email, PASSWORD)
    assert_locked_out(locked, "username")
    assert int(locked.headers["retry-after"]) <= settings.login_failure_window_seconds

    # Let the window pass: it opened longer ago than its length.
    counters = LoginThrottle.__table__
    await conn.execute(
        counters.update().values(
            window_started_at=datetime.now(UTC)
            - timedelta(seconds=settings.login_failure_window_seconds)
        )
    )
    assert (await login(client, rep.email, PASSWORD)).status_code == 200


async def test_rotating_client_addresses_does_not_escape_the_account_limit(app, settings, rep):
    for attempt in range(settings.login_max_failures):
        async with client_at(app, f"203.0.113.{attempt}") as guesser:
            assert (await login(guesser, rep.email, "guess")).status_code == 401
    async with client_at(app, "198.51.100.7") as elsewhere:
        assert_locked_out(await login(elsewhere, rep.email.upper(), PASSWORD), "username")


async def test_a_spray_across_accounts_from_one_address_is_limited(app, client, settings, rep):
    most = 3
    app.state.settings = settings.model_copy(update={"login_max_failures_per_client": most})
    async with client_at(app, "203.0.113.9") as sprayer:
        for n in range(most):
            assert (await login(sprayer, f"victim-{n}@example.com", "guess")).status_code == 401
        assert_locked_out(await login(sprayer, rep.email, PASSWORD), None)
    # Only that address: the account itself is free to log in from anywhere else.
    assert (await login(client, rep.email, PASSWORD)).status_code == 200


async def test_logins_that_succeed_do_not_count_against_the_address(app, client, settings, rep):
    app.state.settings = settings.model_copy(update={"login_max_failures_per_client": 2})
    for _ in range(3):
        assert (await login(client, rep.email, PASSWORD)).status_code == 200
    assert (await login(client, rep.email, "guess")).status_code == 401


async def test_the_window_closes_exactly_its_length_after_its_first_attempt(app, settings, rep):
    window = timedelta(seconds=settings.login_failure_window_seconds)
    opened = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

    async def attempt(at, password="guess"):
        return await service.log_in(app.state.db, settings, rep.email, password, "c", at)

    for _ in range(settings.login_max_failures):
        with pytest.raises(Unauthorized):
            await attempt(opened)
    with pytest.raises(TooManyRequests) as refused:
        await attempt(opened + timedelta(seconds=100), PASSWORD)
    assert refused.value.headers["Retry-After"] == str(settings.login_failure_window_seconds - 100)
    with pytest.raises(TooManyRequests) as refused:
        await attempt(opened + window - timedelta(microseconds=1), PASSWORD)
    assert refused.value.headers["Retry-After"] == "1"
    token, _ = await attempt(opened + window, PASSWORD)
    assert token


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


PRODUCTION = {"environment": "production", "database_url": "postgresql+asyncpg://db/sf"}


def test_production_refuses_to_run_without_a_jwt_secret():
    with pytest.raises(ValidationError, match="SALESFLOW_JWT_SECRET"):
        Settings(**PRODUCTION, _env_file=None)
    private = Settings(**PRODUCTION, jwt_secret="only-ops-knows-this-0123456789ab")
    assert private.environment == "production"


def test_production_refuses_a_secret_shorter_than_32_bytes():
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(**PRODUCTION, jwt_secret="x" * 31, _env_file=None)
    assert Settings(**PRODUCTION, jwt_secret="x" * 32, _env_file=None)
    # Bytes, not characters: 11 three-byte characters are 33 bytes.
    assert Settings(**PRODUCTION, jwt_secret="密" * 11, _env_file=None)


def test_the_app_does_not_start_in_production_without_a_secret(monkeypatch):
    monkeypatch.setenv("SALESFLOW_ENVIRONMENT", "production")
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", PRODUCTION["database_url"])
    monkeypatch.delenv("SALESFLOW_JWT_SECRET", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="SALESFLOW_JWT_SECRET"):
            create_app()
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_the_secret_published_in_the_source_is_refused_everywhere(environment):
    with pytest.raises(ValidationError, match="published in the source"):
        Settings(
            **PRODUCTION | {"environment": environment},
            jwt_secret=PUBLISHED_JWT_SECRET,
            _env_file=None,
        )


def test_development_has_no_default_secret():
    assert Settings(environment="development", _env_file=None).jwt_secret is None
