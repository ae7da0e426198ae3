"""Service settings, read from the environment with the `SALESFLOW_` prefix."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_JWT_SECRET = "change-me-salesflow-development-secret"
# HS256 signs with SHA-256: a key shorter than its 32-byte output is the weak link.
MIN_PRODUCTION_SECRET_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALESFLOW_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./salesflow.db"
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    db_echo: bool = False

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    idempotency_ttl_hours: int = Field(default=24, ge=1)

    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)

    sla_sweep_interval_seconds: float = Field(default=30.0, ge=0)
    triggers_interval_seconds: float = Field(default=3600.0, ge=0)

    @model_validator(mode="after")
    def _production_needs_real_secret(self) -> "Settings":
        if self.environment != "production":
            return self
        if self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ValueError("SALESFLOW_JWT_SECRET must be set to a private value in production")
        if len(self.jwt_secret.encode()) < MIN_PRODUCTION_SECRET_BYTES:
            raise ValueError(
                f"SALESFLOW_JWT_SECRET must be at least {MIN_PRODUCTION_SECRET_BYTES} bytes "
                "in production (an HMAC key shorter than its hash is guessable)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
