"""Where the database schema stands against the migrations shipped with this build."""

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.core.db import Database


def project_root() -> Path:
    """The folder holding alembic.ini: the source tree, or the working directory when installed."""
    source = Path(__file__).resolve().parents[2]
    return source if (source / "alembic.ini").exists() else Path.cwd()


def alembic_config(database_url: str | None = None) -> Config:
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@dataclass(frozen=True)
class MigrationState:
    reachable: bool
    current: str | None = None
    head: str | None = None
    error: str | None = None

    @property
    def at_head(self) -> bool:
        return self.reachable and self.current == self.head


async def migration_state(db: Database, wait_seconds: float = 3.0) -> MigrationState:
    head = head_revision()
    try:
        async with asyncio.timeout(wait_seconds), db.engine.connect() as conn:
            has_table = await conn.run_sync(
                lambda sync: sa.inspect(sync).has_table("alembic_version")
            )
            current = None
            if has_table:
                current = (
                    await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                ).scalar()
    except (TimeoutError, OSError, sa.exc.SQLAlchemyError) as error:
        return MigrationState(False, head=head, error=type(error).__name__)
    return MigrationState(True, current=current, head=head)
