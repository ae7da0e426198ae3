import uuid
from datetime import datetime

from pydantic import BaseModel

from app.core.enums import Role, Seniority


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeRead(BaseModel):
    kind: str
    id: uuid.UUID
    name: str
    email: str | None = None
    role: Role | None = None
    seniority: Seniority | None = None
    team_id: uuid.UUID | None = None
    scopes: list[str] = []
    last_login_at: datetime | None = None
