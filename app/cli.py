"""The `salesflow` command: serve, migrate, write the OpenAPI document, administer."""

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from app.core.config import Settings, get_settings
from app.core.enums import Role

cli = typer.Typer(help="Salesflow: the sales-process backend.", no_args_is_help=True)


def _configured_settings() -> Settings:
    """The settings, once this process logs as they say (`SALESFLOW_LOG_JSON`...)."""
    from app.core.observability import configure_logging

    settings = get_settings()
    configure_logging(settings)
    return settings


def _migrate_to_head(settings: Settings) -> None:
    from alembic import command
    from app.core.observability import configure_logging
    from app.ops.migrations import alembic_config

    configure_logging(settings)
    config = alembic_config(settings.database_url)
    # Configured above: alembic.ini's logging must not replace the service's.
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


@cli.command()
def migrate() -> None:
    """Apply every pending database migration."""
    _migrate_to_head(get_settings())
    typer.echo("database schema is at head")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, envvar="SALESFLOW_WORKERS", help="Worker processes.")
    ] = 1,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before serving.")
    ] = True,
) -> None:
    """Apply migrations, then serve the API with uvicorn."""
    import uvicorn

    from app.core.observability import logging_config

    settings = get_settings()
    if migrate_first:
        _migrate_to_head(settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logging_config(settings),
        **serve_options(settings),
    )


@cli.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once (default SALESFLOW_WORKER_CONCURRENCY)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Worker name in logs and job records.")] = None,
) -> None:
    """Run background jobs on PostgreSQL (Procrastinate) until SIGINT or SIGTERM: the SLA
    sweep, the scheduled round, webhook fan-out and deliveries. Run as many as you like."""
    from app.jobs import engine

    settings = _configured_settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    engine.main(settings, name=name)


def serve_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options that come from the settings.

    On SIGTERM uvicorn stops accepting connections and gives the open requests
    `SALESFLOW_SHUTDOWN_TIMEOUT_SECONDS` to finish before it cancels them.

    `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from the proxies in
    `SALESFLOW_FORWARDED_ALLOW_IPS` (none by default): the client address they yield keys
    the failed-login limit, so a header anyone can send must not choose it.
    """
    return {
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies,
        "timeout_graceful_shutdown": settings.shutdown_timeout_seconds,
    }


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the document.")] = Path(
        "openapi/openapi.json"
    ),
) -> None:
    """Write the OpenAPI document that the running service serves."""
    from app.main import create_app

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi(create_app().openapi()))
    typer.echo(f"wrote {output}")


def render_openapi(document: dict[str, object]) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Login e-mail.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="At least 12 characters.")
    ],
    role: Annotated[Role, typer.Option(help="The user's role.")] = Role.rep,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a user (the first admin, typically) directly in the database."""
    from app.users.service import create_user_directly

    user = asyncio.run(create_user_directly(email=email, password=password, role=role, name=name))
    typer.echo(f"created {user['role']} {user['email']} ({user['id']})")


@cli.command("seed-demo")
def seed_demo(
    password: Annotated[
        str, typer.Option(help="Password for every demo user (12+ characters).")
    ] = "salesflow-demo-2026",
) -> None:
    """Fill the database with a demo company: people, customers in every tier, deals in
    every stage, tickets on the SLA clocks."""
    from app.demo import seed_demo as seed

    async def run():  # type: ignore[no-untyped-def]
        db = _database()
        try:
            async with db.transaction() as conn:
                return await seed(conn, password)
        finally:
            await db.dispose()

    company = asyncio.run(run())
    typer.echo(
        f"demo company: {company.customers} customers, {company.deals} deals, "
        f"{company.tickets} tickets; every user's password is {company.password!r}"
    )
    for handle, email in company.users.items():
        typer.echo(f"  {handle:<14} {email}")


@cli.command("recompute-tiers")
def recompute_tiers() -> None:
    """Re-tier every customer (RFM, lifecycle) in one set-based statement."""
    from app.core.clock import utcnow
    from app.customers.tiering import recompute_all
    from app.rules.customers import DEFAULT_CUSTOMER_POLICY

    async def run() -> int:
        db = _database()
        try:
            async with db.transaction() as conn:
                return await recompute_all(conn, utcnow(), DEFAULT_CUSTOMER_POLICY)
        finally:
            await db.dispose()

    typer.echo(f"re-tiered {asyncio.run(run())} customers")


@cli.command("run-triggers")
def run_triggers() -> None:
    """Open the time-driven tasks: renewals 90 days ahead, dormant-customer reactivation."""
    from app.core.clock import utcnow
    from app.customers.triggers import run_time_triggers
    from app.rules.tasks import DEFAULT_TASK_TRIGGER_POLICY

    async def run():  # type: ignore[no-untyped-def]
        db = _database()
        try:
            async with db.transaction() as conn:
                return await run_time_triggers(conn, utcnow(), DEFAULT_TASK_TRIGGER_POLICY)
        finally:
            await db.dispose()

    result = asyncio.run(run())
    typer.echo(f"opened {result.renewals} renewal and {result.reactivations} reactivation tasks")


@cli.command("run-deadlines")
def run_deadlines() -> None:
    """Record what time alone decides: quotes past their validity expire, and deliveries
    the customer left unanswered past the acceptance window are deemed accepted."""
    from app.contracts.deadlines import deem_due_acceptances
    from app.core.clock import utcnow
    from app.quotes.expiry import expire_lapsed_quotes

    async def run():  # type: ignore[no-untyped-def]
        db = _database()
        try:
            async with db.transaction() as conn:
                now = utcnow()
                return await expire_lapsed_quotes(conn, now), await deem_due_acceptances(conn, now)
        finally:
            await db.dispose()

    expired, acceptances = asyncio.run(run())
    typer.echo(f"expired {expired} quotes; deemed {acceptances.deemed} contracts accepted")
    for contract_id in acceptances.refused:
        typer.echo(f"  not deemed (the rules refused it): contract {contract_id}", err=True)


@cli.command("sla-sweep")
def sla_sweep() -> None:
    """Record due SLA breaches and at-risk warnings once, escalating each breach once."""
    from app.core.clock import utcnow
    from app.tickets.sweeper import sweep

    async def run():  # type: ignore[no-untyped-def]
        db = _database()
        try:
            return await sweep(db, utcnow())
        finally:
            await db.dispose()

    result = asyncio.run(run())
    typer.echo(
        f"examined {result.examined} tickets: {result.breaches} breaches, "
        f"{result.warnings} at-risk warnings"
    )


def _database():  # type: ignore[no-untyped-def]
    from app.core.db import Database, create_engine

    return Database(create_engine(_configured_settings()))


def main() -> None:
    from app.core.errors import ServiceError

    try:
        cli()
    except ServiceError as error:
        details = "; ".join(f"{e.field or ''}: {e.message}" for e in error.errors)
        typer.echo(f"error: {error.detail}" + (f" ({details})" if details else ""), err=True)
        raise SystemExit(2) from None
