"""What production refuses to start with, what it warns about, and the derived limits."""

import pytest
from pydantic import ValidationError

from app.core.config import Settings

PRODUCTION = {
    "environment": "production",
    "database_url": "postgresql+asyncpg://salesflow@db/salesflow",
    "jwt_secret": "only-ops-knows-this-0123456789ab",
    "_env_file": None,
}


def production(**overrides: object) -> Settings:
    return Settings(**PRODUCTION | overrides)  # type: ignore[arg-type]


def test_the_production_baseline_starts():
    assert production().environment == "production"


def test_production_refuses_sqlite_but_development_takes_it():
    with pytest.raises(ValidationError, match="SQLite"):
        production(database_url="sqlite+aiosqlite:///./salesflow.db")
    assert Settings(environment="development", _env_file=None).is_sqlite


def test_production_refuses_sql_echo():
    with pytest.raises(ValidationError, match="SALESFLOW_DB_ECHO"):
        production(db_echo=True)
    assert Settings(environment="development", db_echo=True, _env_file=None).db_echo


@pytest.mark.parametrize(
    ("setting", "allowed", "refused"),
    [
        ("login_max_failures", 100, 101),
        ("login_max_failures_per_client", 1000, 1001),
        ("login_failure_window_seconds", 60, 59),
    ],
)
def test_production_refuses_a_login_limit_that_barely_limits(setting, allowed, refused):
    assert getattr(production(**{setting: allowed}), setting) == allowed
    with pytest.raises(ValidationError, match=f"SALESFLOW_{setting.upper()}"):
        production(**{setting: refused})
    # Outside production the same value is the operator's business (a test run, a demo).
    assert Settings(environment="development", _env_file=None, **{setting: refused})


def test_every_refusal_is_named_at_once():
    with pytest.raises(ValidationError) as refused:
        production(jwt_secret=None, db_echo=True, login_max_failures=1000)
    message = str(refused.value)
    for name in ("SALESFLOW_JWT_SECRET", "SALESFLOW_DB_ECHO", "SALESFLOW_LOGIN_MAX_FAILURES"):
        assert name in message


def test_production_warns_about_tokens_living_longer_than_an_hour():
    assert production(access_token_minutes=60).start_up_warnings() == []
    [warning] = production(access_token_minutes=61).start_up_warnings()
    assert "SALESFLOW_ACCESS_TOKEN_MINUTES is 61" in warning
    assert Settings(access_token_minutes=600, _env_file=None).start_up_warnings() == []


def test_the_client_side_timeout_is_the_statement_timeout_plus_its_margin():
    settings = Settings(db_statement_timeout_ms=15_000, db_client_timeout_margin_ms=1_000)
    assert settings.db_client_timeout_seconds == 16.0
    assert Settings(db_statement_timeout_ms=0).db_client_timeout_seconds is None


def test_trusted_proxies_are_addresses_or_networks():
    assert Settings(_env_file=None).trusted_proxies == []
    trusted = Settings(forwarded_allow_ips=" 10.0.0.0/8, 192.0.2.1 ,::1", _env_file=None)
    assert trusted.trusted_proxies == ["10.0.0.0/8", "192.0.2.1", "::1"]
    assert Settings(forwarded_allow_ips="*").trusted_proxies == ["*"]
    with pytest.raises(ValidationError, match=r"'proxy\.local' is not an IP address"):
        Settings(forwarded_allow_ips="10.0.0.1,proxy.local")


def test_cors_origins_are_whole_origins_or_a_star():
    listed = " https://app.example.com, http://localhost:5173 "
    settings = Settings(cors_origins=listed, _env_file=None)
    assert settings.cors_allowed_origins == ["https://app.example.com", "http://localhost:5173"]
    assert Settings(_env_file=None).cors_allowed_origins == []
    assert Settings(cors_origins="*", _env_file=None).cors_allowed_origins == ["*"]
    for wrong in ("https://app.example.com/", "app.example.com", "https://app.example.com/ui"):
        with pytest.raises(ValidationError, match="SALESFLOW_CORS_ORIGINS"):
            Settings(cors_origins=wrong, _env_file=None)


def test_the_default_phone_region_is_china_and_must_be_a_known_region():
    assert Settings(_env_file=None).default_phone_region == "CN"
    assert Settings(default_phone_region="us", _env_file=None).default_phone_region == "US"
    with pytest.raises(ValidationError, match="SALESFLOW_DEFAULT_PHONE_REGION"):
        Settings(default_phone_region="XX", _env_file=None)


def test_the_shutdown_timeout_defaults_to_20_s_and_must_be_positive():
    assert Settings(_env_file=None).shutdown_timeout_seconds == 20
    with pytest.raises(ValidationError, match="shutdown_timeout_seconds"):
        Settings(shutdown_timeout_seconds=0, _env_file=None)
