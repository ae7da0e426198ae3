"""Credentials: password hashing, signed access tokens and partner API keys."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core.config import Settings

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a login's timing does not reveal
# which addresses have accounts.
_DUMMY_HASH = _hasher.hash("salesflow-no-such-user")

API_KEY_PREFIX = "sf_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    expires_at: datetime


def issue_access_token(settings: Settings, user_id: uuid.UUID, now: datetime) -> tuple[str, int]:
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "typ": "access",
    }
    token = jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)
    return token, int(lifetime.total_seconds())


def read_access_token(settings: Settings, token: str) -> uuid.UUID | None:
    """The token's user id, or None when the token is expired, forged or malformed.

    Only the configured algorithm is accepted, so `alg: none` and algorithm-swap tokens fail.
    """
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub", "iat"]},
        )
        if claims.get("typ") != "access":
            return None
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: (the secret shown once, its lookup prefix, its stored hash)."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:12], hash_api_key(secret)


def hash_api_key(secret: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is safe and keeps every request cheap.
    return hashlib.sha256(secret.encode()).hexdigest()
