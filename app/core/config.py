"""Service settings, read from the environment with the `SALESFLOW_` prefix."""

import ipaddress
import re
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.rules.phones import DEFAULT_PHONE_REGION, is_phone_region

# The development default of earlier releases: it is in the public source, so a token signed
# with it proves nothing, in any environment.
PUBLISHED_JWT_SECRET = "change-me-salesflow-development-secret"
# HS256 signs with SHA-256: a key shorter than its 32-byte output is the weak link.
MIN_PRODUCTION_SECRET_BYTES = 32
# Production bounds. A stolen token works until it expires (or its user's password changes),
# so an hour is the longest lifetime served without a warning. A login limit above these
# lets a guesser try thousands of passwords a day against one account.
PRODUCTION_TOKEN_MINUTES_WARNING = 60
PRODUCTION_MAX_LOGIN_FAILURES = 100
PRODUCTION_MAX_LOGIN_FAILURES_PER_CLIENT = 1000
PRODUCTION_MIN_LOGIN_WINDOW_SECONDS = 60
# What a browser sends as `Origin`: scheme://host[:port], nothing after it.
_ORIGIN = re.compile(r"https?://[^/\s?#]+")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALESFLOW_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./salesflow.db"
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    db_client_timeout_margin_ms: int = Field(default=1_000, ge=0)
    db_echo: bool = False
    ready_timeout_seconds: float = Field(default=3.0, gt=0)
    # On SIGTERM, open requests get this long to finish (then uvicorn cancels them), and
    # then stopping the in-process jobs and closing the pool gets this long again; a
    # `salesflow worker` gives its running jobs this long, then aborts them.
    shutdown_timeout_seconds: float = Field(default=20.0, gt=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # How long the change feed keeps events (`GET /api/v1/events`); pruned by the round.
    events_retention_days: int = Field(default=30, ge=1)
    forwarded_allow_ips: str = ""
    # Browser origins allowed to call the API (CORS), comma-separated
    # (`https://app.example.com,http://localhost:5173`), or `*` for any; none by default.
    cors_origins: str = ""
    # The country a phone number written without a country code is read in (ISO 3166-1
    # alpha-2): the sales teams this service was built for sell in China.
    default_phone_region: str = DEFAULT_PHONE_REGION

    # None: the service signs with a secret it generates once per database (app.auth.signing).
    jwt_secret: str | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_client: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)

    # Exposure of the interactive docs and the spec (None: on, except in production) and of
    # the Prometheus metrics (None: public outside production; in production behind
    # SALESFLOW_METRICS_TOKEN when one is set, otherwise off).
    docs_enabled: bool | None = None
    metrics: Literal["off", "public", "token"] | None = None
    metrics_token: str | None = Field(default=None, min_length=16)
    # Strict-Transport-Security max-age; 0 sends no header (set it once TLS terminates
    # in front of the service: browsers then refuse plain HTTP to this host).
    hsts_seconds: int = Field(default=0, ge=0, le=2 * 365 * 24 * 3600)

    # Background work: Procrastinate workers (`salesflow worker`) on PostgreSQL, the API
    # process itself on SQLite (None: chosen by the database).
    jobs: Literal["procrastinate", "in_process"] | None = None
    worker_concurrency: int = Field(default=4, ge=1, le=100)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # How often new events are fanned out to webhook endpoints (and due retries looked for).
    jobs_dispatch_interval_seconds: float = Field(default=2.0, ge=0, le=60)

    sla_sweep_interval_seconds: float = Field(default=30.0, ge=0)
    triggers_interval_seconds: float = Field(default=3600.0, ge=0)

    # Webhooks to partner systems (app.webhooks). Endpoint URLs resolving to loopback,
    # private, link-local or reserved addresses are refused unless `webhook_allow_private`
    # (tests, on-premises installs); plain http is refused in production unless
    # `webhook_allow_http`. Each attempt waits `webhook_timeout_seconds` at most.
    webhook_allow_private: bool = False
    webhook_allow_http: bool = False
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)

    @field_validator("jwt_secret")
    @classmethod
    def _not_the_published_secret(cls, secret: str | None) -> str | None:
        if secret == PUBLISHED_JWT_SECRET:
            raise ValueError(
                "SALESFLOW_JWT_SECRET is the value published in the source; unset it (the "
                "service then generates a secret of its own) or set a private one"
            )
        return secret

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        for entry in _entries(value):
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"SALESFLOW_FORWARDED_ALLOW_IPS: {entry!r} is not an IP address, a network "
                    "(10.0.0.0/8) or *"
                ) from None
        return ",".join(_entries(value))

    @field_validator("cors_origins")
    @classmethod
    def _browser_origins(cls, value: str) -> str:
        for entry in _entries(value):
            if entry != "*" and not _ORIGIN.fullmatch(entry):
                raise ValueError(
                    f"SALESFLOW_CORS_ORIGINS: {entry!r} is not an origin: write scheme, host "
                    "and port only, without a path or trailing slash (https://app.example.com), "
                    "or *"
                )
        return ",".join(_entries(value))

    @field_validator("default_phone_region")
    @classmethod
    def _known_phone_region(cls, value: str) -> str:
        region = value.strip().upper()
        if not is_phone_region(region):
            raise ValueError(
                f"SALESFLOW_DEFAULT_PHONE_REGION: {value!r} is not a region code phone numbers "
                "are known for (ISO 3166-1 alpha-2, e.g. CN, US, GB)"
            )
        return region

    @model_validator(mode="after")
    def _production_is_safe(self) -> "Settings":
        if self.environment == "production":
            problems = self._production_refusals()
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _metrics_token_when_asked(self) -> "Settings":
        if self.metrics == "token" and self.metrics_token is None:
            raise ValueError("SALESFLOW_METRICS=token needs SALESFLOW_METRICS_TOKEN")
        return self

    @property
    def job_runner(self) -> Literal["procrastinate", "in_process"]:
        if self.jobs is not None:
            return self.jobs
        return "in_process" if self.is_sqlite else "procrastinate"

    @model_validator(mode="after")
    def _procrastinate_needs_postgres(self) -> "Settings":
        if self.jobs == "procrastinate" and self.is_sqlite:
            raise ValueError("SALESFLOW_JOBS=procrastinate needs PostgreSQL")
        return self

    @property
    def docs_exposed(self) -> bool:
        if self.docs_enabled is not None:
            return self.docs_enabled
        return self.environment != "production"

    @property
    def metrics_exposure(self) -> Literal["off", "public", "token"]:
        if self.metrics is not None:
            return self.metrics
        if self.metrics_token is not None:
            return "token"
        return "off" if self.environment == "production" else "public"

    def _production_refusals(self) -> list[str]:
        problems = []
        if self.jwt_secret is None:
            problems.append("SALESFLOW_JWT_SECRET must be set to a private value in production")
        elif len(self.jwt_secret.encode()) < MIN_PRODUCTION_SECRET_BYTES:
            problems.append(
                f"SALESFLOW_JWT_SECRET must be at least {MIN_PRODUCTION_SECRET_BYTES} bytes "
                "in production (an HMAC key shorter than its hash is guessable)"
            )
        if self.is_sqlite:
            problems.append(
                "SALESFLOW_DATABASE_URL names SQLite; production needs PostgreSQL "
                "(statement timeouts, concurrent writers, several workers and replicas)"
            )
        if self.db_echo:
            problems.append(
                "SALESFLOW_DB_ECHO logs every statement with its parameters (password hashes, "
                "customers' data); it is refused in production"
            )
        return problems + self._unlimited_logins()

    def _unlimited_logins(self) -> list[str]:
        problems = []
        if self.login_max_failures > PRODUCTION_MAX_LOGIN_FAILURES:
            problems.append(
                f"SALESFLOW_LOGIN_MAX_FAILURES may be at most {PRODUCTION_MAX_LOGIN_FAILURES} "
                "in production"
            )
        if self.login_max_failures_per_client > PRODUCTION_MAX_LOGIN_FAILURES_PER_CLIENT:
            problems.append(
                "SALESFLOW_LOGIN_MAX_FAILURES_PER_CLIENT may be at most "
                f"{PRODUCTION_MAX_LOGIN_FAILURES_PER_CLIENT} in production"
            )
        if self.login_failure_window_seconds < PRODUCTION_MIN_LOGIN_WINDOW_SECONDS:
            problems.append(
                "SALESFLOW_LOGIN_FAILURE_WINDOW_SECONDS must be at least "
                f"{PRODUCTION_MIN_LOGIN_WINDOW_SECONDS} in production"
            )
        return problems

    def start_up_warnings(self) -> list[str]:
        """What is allowed but unwise, logged when the service starts."""
        warnings = []
        if (
            self.environment == "production"
            and self.access_token_minutes > PRODUCTION_TOKEN_MINUTES_WARNING
        ):
            warnings.append(
                f"SALESFLOW_ACCESS_TOKEN_MINUTES is {self.access_token_minutes}: a stolen token "
                f"stays good that long; more than {PRODUCTION_TOKEN_MINUTES_WARNING} is unwise "
                "in production"
            )
        return warnings

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def db_client_timeout_seconds(self) -> float | None:
        """How long the service waits for any one statement's answer before giving up on
        the connection: a little longer than the server's own `statement_timeout`, so a
        slow statement is cancelled by the server (cleanly) and only a stalled network or
        server reaches this. None when the statement timeout is off."""
        if not self.db_statement_timeout_ms:
            return None
        return (self.db_statement_timeout_ms + self.db_client_timeout_margin_ms) / 1000

    @property
    def trusted_proxies(self) -> list[str]:
        return _entries(self.forwarded_allow_ips)

    @property
    def cors_allowed_origins(self) -> list[str]:
        return _entries(self.cors_origins)


def _entries(value: str) -> list[str]:
    return [entry.strip() for entry in value.split(",") if entry.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
