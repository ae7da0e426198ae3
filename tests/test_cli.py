"""`salesflow serve`: whose X-Forwarded-For is believed, through uvicorn itself."""

from typing import Any

import httpx
import pytest
import uvicorn
from pythonjsonlogger.json import JsonFormatter
from typer.testing import CliRunner

from app.cli import cli, serve_options
from app.core.config import get_settings
from app.core.enums import Role
from app.core.observability import logging_config
from tests.factories import make_user


def behind_uvicorn(app: Any, settings: Any) -> Any:
    """The app as `salesflow serve` hands it to the world: wrapped by uvicorn's middleware."""
    config = uvicorn.Config(app, log_config=None, **serve_options(settings))
    config.load()
    return config.loaded_app


async def spray(app: Any, peer: str, attempts: int) -> list[int]:
    """Wrong passwords for as many unknown accounts, each claiming another address."""
    transport = httpx.ASGITransport(app=app, client=(peer, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        statuses = []
        for n in range(attempts):
            response = await http.post(
                "/api/v1/auth/token",
                data={"username": f"victim-{n}@example.com", "password": "guess"},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
            statuses.append(response.status_code)
    return statuses


@pytest.fixture
def sprayed_app(app, settings):  # type: ignore[no-untyped-def]
    app.state.settings = settings.model_copy(update={"login_max_failures_per_client": 2})
    return app


async def test_by_default_a_forwarded_for_header_picks_no_client_address(sprayed_app):
    served = behind_uvicorn(sprayed_app, sprayed_app.state.settings)
    assert await spray(served, "127.0.0.1", 3) == [401, 401, 429]


async def test_a_trusted_proxy_names_the_client(sprayed_app):
    trusting = sprayed_app.state.settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"})
    served = behind_uvicorn(sprayed_app, trusting)
    assert await spray(served, "127.0.0.1", 3) == [401, 401, 401]
    # Anyone else's header is still ignored.
    assert await spray(served, "192.0.2.50", 3) == [401, 401, 429]


def test_serve_hands_uvicorn_the_trusted_proxies(monkeypatch):
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **options: runs.append(options))
    monkeypatch.delenv("SALESFLOW_FORWARDED_ALLOW_IPS", raising=False)
    get_settings.cache_clear()
    try:
        assert CliRunner().invoke(cli, ["serve", "--no-migrate"]).exit_code == 0
        monkeypatch.setenv("SALESFLOW_FORWARDED_ALLOW_IPS", "10.0.0.0/8")
        get_settings.cache_clear()
        assert CliRunner().invoke(cli, ["serve", "--no-migrate"]).exit_code == 0
    finally:
        get_settings.cache_clear()
    assert runs[0]["proxy_headers"] is False
    assert runs[1]["proxy_headers"] is True and runs[1]["forwarded_allow_ips"] == ["10.0.0.0/8"]


async def test_the_account_is_still_limited_behind_a_trusted_proxy(app, settings, conn):
    rep = await make_user(conn, settings, role=Role.rep)
    served = behind_uvicorn(app, settings.model_copy(update={"forwarded_allow_ips": "*"}))
    transport = httpx.ASGITransport(app=served, client=("127.0.0.1", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        statuses = [
            (
                await http.post(
                    "/api/v1/auth/token",
                    data={"username": rep.email, "password": "guess"},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                )
            ).status_code
            for n in range(settings.login_max_failures + 1)
        ]
    assert statuses == [401] * settings.login_max_failures + [429]


def test_serve_gives_uvicorn_the_shutdown_timeout(monkeypatch):
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **options: runs.append(options))
    monkeypatch.setenv("SALESFLOW_SHUTDOWN_TIMEOUT_SECONDS", "7.5")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--no-migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert runs[0]["timeout_graceful_shutdown"] == 7.5


def test_serve_hands_uvicorn_the_service_logging(monkeypatch):
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **options: runs.append(options))
    monkeypatch.setenv("SALESFLOW_LOG_JSON", "true")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--no-migrate"])
        expected = logging_config(get_settings())
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert runs[0]["log_config"] == expected
    assert expected["formatters"]["line"]["()"] is JsonFormatter
