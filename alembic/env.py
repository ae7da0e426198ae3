"""Alembic environment: async engine, the app's metadata, the app's settings."""

import asyncio
from logging.config import fileConfig

from sqlalchemy.engine import Connection

from alembic import context
from app.core.config import get_settings
from app.core.db import create_engine
from app.core.observability import configure_logging
from app.models import metadata

config = context.config


def configure_migration_logging() -> None:
    """The service's logging when its lines are JSON (every line must be), alembic.ini's
    for the plain `alembic` command otherwise. `salesflow migrate` configures its own."""
    if not config.attributes.get("configure_logging", True):
        return
    if get_settings().log_json:
        configure_logging(get_settings())
    elif config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)


configure_migration_logging()


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Procrastinate's tables are its own (revision 0011 applies its schema file): not
    compared with the app's metadata."""
    return not (type_ == "table" and reflected and (name or "").startswith("procrastinate_"))


def database_url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=database_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(get_settings(), database_url())
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
