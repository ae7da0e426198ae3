import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.enums import Role, Seniority
from app.core.types import Enum, Json, UtcDateTime
from app.models.base import Versioned, fk, instant, pk


class Team(Versioned, table=True):
    __tablename__ = "teams"

    id: uuid.UUID = pk()
    name: str = Field(max_length=120, unique=True)
    manager_id: uuid.UUID | None = fk("users.id", nullable=True, index=True)


class User(Versioned, table=True):
    __tablename__ = "users"
    __table_args__ = (
        sa.Index("ix_users_created_at_id", "created_at", "id"),
        sa.Index("ix_users_name_id", "name", "id"),
    )

    id: uuid.UUID = pk()
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=200)
    role: Role = Field(sa_type=Enum(Role, "user_role"), nullable=False, index=True)
    seniority: Seniority = Field(
        default=Seniority.standard, sa_type=Enum(Seniority, "user_seniority"), nullable=False
    )
    team_id: uuid.UUID | None = Field(
        default=None,
        sa_column_args=[sa.ForeignKey("teams.id", use_alter=True, name="fk_users_team_id_teams")],
        index=True,
    )
    is_active: bool = Field(default=True, nullable=False)
    password_hash: str | None = Field(default=None, max_length=255)
    last_login_at: datetime | None = instant()
    # Tokens issued before this instant are refused: set when the password changes or the
    # user is deactivated, so neither an old password's sessions nor, after reactivation,
    # a deactivated user's come back.
    tokens_valid_after: datetime | None = instant()


class ApiKey(Versioned, table=True):
    """A partner system's credential. Only a hash of the secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.Index("ix_api_keys_created_at_id", "created_at", "id"),)

    id: uuid.UUID = pk()
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=16, index=True)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_type=Json(), nullable=False)
    expires_at: datetime | None = instant()
    revoked_at: datetime | None = instant()
    last_used_at: datetime | None = instant()
    created_by: uuid.UUID | None = fk("users.id", nullable=True)


class LoginThrottle(SQLModel, table=True):
    """Login attempts inside the current window, one counter per account and one per client
    address; shared by every worker and replica. A window opens at its key's first attempt."""

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=300)
    attempts: int = Field(nullable=False)
    window_started_at: datetime = Field(sa_type=UtcDateTime, nullable=False, index=True)


class InstanceSecret(SQLModel, table=True):
    """A secret the database generated for itself, the same for every worker and replica:
    the token signing key when none is configured."""

    __tablename__ = "instance_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
