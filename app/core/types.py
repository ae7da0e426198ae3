"""Column types that behave the same on PostgreSQL and on the embedded SQLite default."""

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps in and out, whatever the backend stores.

    PostgreSQL keeps `timestamptz` and asyncpg hands back aware UTC values, so the
    result processor is skipped there; SQLite stores naive UTC text that is made aware
    again on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name == "postgresql":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def Money() -> sa.Numeric[Any]:
    """Amounts to the cent; never floats."""
    return sa.Numeric(18, 2, asdecimal=True)


class _Percent(sa.TypeDecorator[Decimal]):
    """Read back with exactly two decimals ("5.00"), whatever the backend hands over, so a
    percentage reads the same on PostgreSQL and SQLite. Every percentage stored has at
    most two: inputs allow two, computed effective rates are rounded up to 0.01."""

    impl = sa.Numeric(9, 4, asdecimal=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(_PERCENT_STEP)


_PERCENT_STEP = Decimal("0.01")


def Percent() -> sa.types.TypeEngine[Decimal]:
    """Percentages such as 5.01 (meaning 5.01 %), with room for computed effective rates."""
    return _Percent()


def Json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def Enum(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A string column limited to the enum's values by a named CHECK constraint.

    Not a native PostgreSQL enum: adding a value is then a constraint change, not an
    `ALTER TYPE` that cannot run inside a transaction.
    """
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )
