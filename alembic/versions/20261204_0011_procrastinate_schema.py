"""procrastinate: the job engine's schema (PostgreSQL only)

Procrastinate ships its schema as one SQL file in the package; this revision applies the
file of the pinned release (pyproject.toml), so `salesflow migrate` is the only step a
deployment needs. On SQLite the jobs run in-process and nothing is created.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence
from importlib import resources

from sqlalchemy.util import await_only

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Everything the schema file creates, for the downgrade.
TABLES = (
    'procrastinate_events',
    'procrastinate_periodic_defers',
    'procrastinate_jobs',
    'procrastinate_workers',
)
TYPES = ('procrastinate_job_to_defer_v1', 'procrastinate_job_event_type', 'procrastinate_job_status')


def _run_script(sql: str) -> None:
    """A multi-statement script (functions with `$$` bodies) through the simple query
    protocol, which asyncpg uses for a statement without parameters."""
    driver = op.get_bind().connection.dbapi_connection.driver_connection  # type: ignore[union-attr]
    await_only(driver.execute(sql))


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    _run_script(resources.files('procrastinate.sql').joinpath('schema.sql').read_text())


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    functions = op.get_bind().exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
        "AND p.proname LIKE 'procrastinate%'"
    )
    statements = [f'DROP TABLE IF EXISTS {t} CASCADE' for t in TABLES]
    statements += [f'DROP FUNCTION IF EXISTS {f} CASCADE' for (f,) in functions]
    statements += [f'DROP TYPE IF EXISTS {t} CASCADE' for t in TYPES]
    _run_script(';\n'.join(statements))
