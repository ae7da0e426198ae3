import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from app.core.access import API_KEY_SCOPES
from app.core.enums import Role, Seniority
from app.core.schemas import AwareDatetime, Email, InputModel, Name, PatchModel, ReadModel

MIN_PASSWORD_LENGTH = 12

Password = Annotated[
    str,
    # Not stripped: every character the user typed is part of the secret.
    StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=256, strip_whitespace=False),
    Field(
        description=f"At least {MIN_PASSWORD_LENGTH} characters. Stored only as an argon2 hash.",
        json_schema_extra={"format": "password", "writeOnly": True},
    ),
]
TeamName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


def _known_scope(scope: str) -> str:
    if scope not in API_KEY_SCOPES:
        raise ValueError(f"unknown scope '{scope}'; scopes look like 'customers:read'")
    return scope


Scope = Annotated[
    str,
    AfterValidator(_known_scope),
    Field(json_schema_extra={"enum": sorted(API_KEY_SCOPES)}, examples=["customers:read"]),
]


class UserCreate(InputModel):
    email: Email = Field(description="Login e-mail; unique whatever its case.")
    name: Name
    role: Role
    team_id: uuid.UUID | None = None
    seniority: Seniority = Seniority.standard
    password: Password


class UserUpdate(PatchModel):
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"name", "role", "seniority", "is_active", "password"}
    )

    name: Name | None = None
    role: Role | None = None
    team_id: uuid.UUID | None = None
    seniority: Seniority | None = None
    is_active: bool | None = Field(
        default=None, description="false deactivates: the user's tokens stop working at once."
    )
    password: Password | None = None


class UserRead(ReadModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    seniority: Seniority
    team_id: uuid.UUID | None
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class TeamCreate(InputModel):
    name: TeamName = Field(description="Unique whatever its case.")
    manager_id: uuid.UUID | None = Field(
        default=None, description="An active user with role manager."
    )


class TeamUpdate(PatchModel):
    required_fields: ClassVar[frozenset[str]] = frozenset({"name"})

    name: TeamName | None = None
    manager_id: uuid.UUID | None = None


class TeamRead(ReadModel):
    id: uuid.UUID
    name: str
    manager_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class ApiKeyCreate(InputModel):
    name: KeyName = Field(description="Which partner system holds the key.")
    scopes: list[Scope] = Field(min_length=1, max_length=len(API_KEY_SCOPES))
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the key stops working; must be in the future."
    )


class ApiKeyRead(ReadModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The secret's first characters, to tell keys apart.")
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class ApiKeyCreated(ApiKeyRead):
    key: str | None = Field(
        description="The secret, shown only in this response; send it as `X-API-Key`. "
        "Null when an idempotent retry replays the creation: revoke that key and make another."
    )


class AuditEntryRead(ReadModel):
    id: uuid.UUID
    at: datetime
    actor_type: str = Field(description="`user`, `api_key` or `system`.")
    actor_id: uuid.UUID | None
    actor_name: str | None
    action: str
    entity_type: str
    entity_id: uuid.UUID
    before: dict[str, Any] = Field(description="The changed fields' old values.")
    after: dict[str, Any] = Field(description="The changed fields' new values.")
    request_id: str | None
