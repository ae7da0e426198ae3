"""Security headers on every answer, and what an instance exposes besides the API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.enums import Role
from app.main import create_app
from tests.conftest import RolledBackDatabase
from tests.factories import PASSWORD, make_user

METRICS_TOKEN = "scrape-token-0123456789abcdef"


@asynccontextmanager
async def serving(
    engine, conn, settings: Settings, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=changes), RolledBackDatabase(engine, conn))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_every_answer_forbids_sniffing_and_framing_and_runs_no_content(client):
    for response in (await client.get("/health/live"), await client.get("/api/v1/customers")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in response.headers


async def test_an_authenticated_answer_is_never_cached_a_public_one_may_be(client, conn, settings):
    rep = await make_user(conn, settings, role=Role.rep)
    mine = await client.get("/api/v1/me", headers=rep.headers)
    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "no-store"
    refused = await client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"
    assert "cache-control" not in (await client.get("/health/live")).headers


async def test_the_token_endpoint_is_never_cached(client, conn, settings):
    rep = await make_user(conn, settings, role=Role.rep)
    for password in (PASSWORD, "wrong-password"):
        response = await client.post(
            "/api/v1/auth/token", data={"username": rep.email, "password": password}
        )
        assert response.headers["cache-control"] == "no-store", response.status_code


async def test_hsts_when_configured(engine, conn, settings):
    async with serving(engine, conn, settings, hsts_seconds=31_536_000) as http:
        response = await http.get("/health/live")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_the_docs_page_may_load_only_its_own_assets(client):
    for path in ("/docs", "/redoc"):
        response = await client.get(path)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert policy.startswith("default-src 'none'")
        assert "script-src https://cdn.jsdelivr.net" in policy
        assert "connect-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    ("changes", "exposed"),
    [
        ({}, True),
        ({"environment": "production"}, False),
        ({"environment": "production", "docs_enabled": True}, True),
        ({"docs_enabled": False}, False),
    ],
)
async def test_docs_and_spec_exposure(engine, conn, settings, changes, exposed):
    async with serving(engine, conn, settings, **changes) as http:
        for path in ("/docs", "/redoc", "/openapi.json"):
            response = await http.get(path)
            assert response.status_code == (200 if exposed else 404), path
        assert (await http.get("/health/live")).status_code == 200


async def test_metrics_are_public_in_development_off_in_production(engine, conn, settings):
    async with serving(engine, conn, settings) as http:
        assert (await http.get("/metrics")).status_code == 200
    async with serving(engine, conn, settings, environment="production") as http:
        response = await http.get("/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_metrics_behind_a_token(engine, conn, settings):
    changes = {"environment": "production", "metrics_token": METRICS_TOKEN}
    async with serving(engine, conn, settings, **changes) as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer guess"})
        scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert scraped.status_code == 200
    assert "salesflow_http_requests_total" in scraped.text


def test_metrics_behind_a_token_need_the_token():
    with pytest.raises(ValueError, match="SALESFLOW_METRICS_TOKEN"):
        Settings(metrics="token")
    with pytest.raises(ValueError, match="metrics_token"):
        Settings(metrics_token="short")
    assert Settings(metrics_token=METRICS_TOKEN).metrics_exposure == "token"
    assert Settings(metrics="public", environment="test").metrics_exposure == "public"
