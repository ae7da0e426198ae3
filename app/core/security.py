"""Credentials: password hashing, signed access tokens and partner API keys."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

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
    issued_at: datetime
    expires_at: datetime


def issue_access_token(settings: Settings, user_id: uuid.UUID, now: datetime) -> tuple[str, int]:
    if settings.jwt_secret is None:
        raise RuntimeError("no token signing secret: the app settles one when it starts")
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        # To the microsecond (a NumericDate may be fractional): a token issued right after
        # a password change, in the same second, is told apart from the ones it revokes.
        "iat": round(now.timestamp(), 6),
        "exp": int((now + lifetime).timestamp()),
        "typ": "access",
    }
    token = jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)
    return token, int(lifetime.total_seconds())


def read_access_token(
    settings: Settings, token: str, now: datetime | None = None
) -> TokenClaims | None:
    """The token's claims, or None when the token is expired, forged or malformed.

    Only the configured algorithm is accepted, so `alg: none` and algorithm-swap tokens fail.
    A token's signature is checked once per process (the verdict is kept in a bounded
    cache); its expiry is checked on every call.
    """
    if settings.jwt_secret is None:
        return None
    claims = _verified_claims(token, settings.jwt_secret, settings.jwt_algorithm)
    if claims is None or claims.expires_at <= (now or datetime.now(UTC)):
        return None
    return claims


@lru_cache(maxsize=8192)
def _verified_claims(token: str, secret: str, algorithm: str) -> TokenClaims | None:
    """What a token says, if its signature and shape are good. Time is left to the caller:
    a verdict that depended on the moment could not be kept."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[algorithm],
            options={
                "require": ["exp", "sub", "iat"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        if claims.get("typ") != "access":
            return None
        return TokenClaims(
            uuid.UUID(claims["sub"]),
            datetime.fromtimestamp(float(claims["iat"]), UTC),
            datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError):
        return None


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: (the secret shown once, its lookup prefix, its stored hash)."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:12], hash_api_key(secret)


def hash_api_key(secret: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is safe and keeps every request cheap.
    return hashlib.sha256(secret.encode()).hexdigest()
