"""The settings the service serves with: warnings logged, the token signing secret settled.

With no `SALESFLOW_JWT_SECRET` (allowed outside production) the secret is one the
database generated for itself on first start: private to that database, the same for
every worker and replica on it, and kept across restarts, so tokens stay valid.
"""

import logging
import secrets

from app.auth import repository as repo
from app.core.clock import utcnow
from app.core.config import Settings
from app.core.db import Database

log = logging.getLogger("salesflow.auth")

JWT_SECRET_NAME = "jwt_secret"


async def serving_settings(db: Database, settings: Settings) -> Settings:
    for warning in settings.start_up_warnings():
        log.warning(warning)
    if settings.jwt_secret is not None:
        return settings
    async with db.transaction() as conn:
        secret = await repo.instance_secret(
            conn, JWT_SECRET_NAME, secrets.token_urlsafe(48), utcnow()
        )
    log.warning(
        "SALESFLOW_JWT_SECRET is not set: tokens are signed with a secret generated for this "
        "database (table instance_secrets); set SALESFLOW_JWT_SECRET to choose your own"
    )
    return settings.model_copy(update={"jwt_secret": secret})
