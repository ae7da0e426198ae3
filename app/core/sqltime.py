"""Spans of time as numbers in SQL, spelled for PostgreSQL or SQLite."""

from typing import Any

import sqlalchemy as sa

Expr = sa.ColumnElement[Any]


def seconds_between(start: Expr, end: Expr, dialect: str) -> Expr:
    """Seconds from `start` to `end` as a float."""
    if dialect == "postgresql":
        return sa.func.date_part("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86_400.0
