"""Browser apps on other origins: a real preflight, and the headers they may read."""

import httpx
import pytest

from app.core.config import Settings
from app.core.enums import Role
from app.main import create_app
from tests.conftest import RolledBackDatabase
from tests.factories import make_user

FRONTEND = "https://app.example.com"


@pytest.fixture
async def cors_client(engine, conn, settings):  # type: ignore[no-untyped-def]
    configured = Settings(**{**settings.model_dump(), "cors_origins": f"{FRONTEND},http://x.test"})
    app = create_app(configured, RolledBackDatabase(engine, conn))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match, idempotency-key, content-type",
    }


async def test_a_preflight_from_an_allowed_origin_is_answered_with_what_it_may_send(cors_client):
    response = await cors_client.options("/api/v1/tasks/some-id", headers=_preflight(FRONTEND))
    assert response.status_code == 200, response.text
    headers = response.headers
    assert headers["access-control-allow-origin"] == FRONTEND
    assert "PATCH" in headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "if-match", "idempotency-key", "content-type", "x-api-key"} <= allowed
    assert "access-control-allow-credentials" not in headers


async def test_an_allowed_origin_may_read_etag_location_and_the_request_id(
    cors_client, conn, settings
):
    rep = await make_user(conn, settings, role=Role.rep)
    created = await cors_client.post(
        "/api/v1/customers", json={"name": "Acme"}, headers={**rep.headers, "Origin": FRONTEND}
    )
    assert created.status_code == 201, created.text
    assert created.headers["access-control-allow-origin"] == FRONTEND
    exposed = {h.strip() for h in created.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"ETag", "Location", "X-Request-ID", "Retry-After"}
    assert created.headers["location"] and created.headers["etag"]


async def test_another_origin_gets_no_cors_headers(cors_client):
    response = await cors_client.options(
        "/api/v1/tasks/some-id", headers=_preflight("https://evil.example")
    )
    assert response.status_code == 400
    assert not [h for h in response.headers if h.startswith("access-control-allow-")]
    simple = await cors_client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_without_the_setting_a_preflight_is_not_answered(client):
    response = await client.options("/api/v1/tasks/some-id", headers=_preflight(FRONTEND))
    assert response.status_code == 405
    assert not [h for h in response.headers if h.startswith("access-control-")]
    simple = await client.get("/health/live", headers={"Origin": FRONTEND})
    assert simple.status_code == 200
    assert not [h for h in simple.headers if h.startswith("access-control-")]
