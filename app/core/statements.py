"""Write statements built once per shape and executed with their values as parameters.

Building `table.insert().values(row)` coerces every value into a bind parameter and then
cache-keys the new statement, type by type — on the write path that cost more CPU than
executing it. A `Shape` is a statement built once, with a named bind parameter where
each value goes; a `Write` is a shape with its values. Executing one binds the values
and reuses the compiled SQL. Several writes that touch different rows run as one
statement on PostgreSQL (the last, with the others as its data-modifying CTEs), and the
combined statement is built once per sequence of shapes too.

Values that are SQL expressions (the writing transaction's id...) are part of a shape,
not parameters: pass module-level constants, as each distinct object is another shape.
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ClauseElement

# Names a bind parameter as the shape's builder asks (`bind("deal_id", sa.Uuid)`), with
# the prefix that keeps it apart from the other statements it may run with.
Binder = Callable[[str, Any], sa.BindParameter[Any]]

# Shapes and combined statements are kept per key; keys come from code paths, so there are
# few, and the bound only matters if a caller builds rows of ever new columns.
_MAX_CACHED = 1024
_Built = TypeVar("_Built")


class Shape:
    """A statement built once by `build(bind)`, which places `bind(name, type)` where each
    value goes."""

    __slots__ = ("_alone", "build")

    def __init__(self, build: Callable[[Binder], sa.Executable]) -> None:
        self.build = build
        self._alone: sa.Executable | None = None

    def alone(self) -> sa.Executable:
        if self._alone is None:
            self._alone = self.build(_binder(_ALONE))
        return self._alone


@dataclass(frozen=True, slots=True)
class Write:
    """One statement's worth of writing: its shape and its values."""

    shape: Shape
    values: Mapping[str, Any]

    def parameters(self, prefix: str = "") -> dict[str, Any]:
        prefix = prefix or _ALONE
        return {prefix + name: value for name, value in self.values.items()}


_ALONE = "v_"


def _binder(prefix: str) -> Binder:
    def bind(name: str, type_: Any) -> sa.BindParameter[Any]:
        return sa.bindparam(prefix + name, type_=type_)

    return bind


async def run(conn: AsyncConnection, write: Write) -> CursorResult[Any]:
    return await conn.execute(write.shape.alone(), write.parameters())


def _split(values: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]]:
    """A row's values as its shape sees them: the names (with the identity of each SQL
    expression, which is part of the shape), the expressions, and the parameters."""
    expressions = {k: v for k, v in values.items() if isinstance(v, ClauseElement)}
    if not expressions:
        return tuple(values), expressions, dict(values)
    names = tuple((k, id(expressions[k])) if k in expressions else k for k in values)
    return names, expressions, {k: v for k, v in values.items() if k not in expressions}


def _row(
    table: sa.Table, names: Sequence[str], expressions: Mapping[str, Any], bind: Binder
) -> dict[str, Any]:
    return {
        name: expressions[name] if name in expressions else bind(name, table.c[name].type)
        for name in names
    }


_SHAPES: dict[tuple[Any, ...], Shape] = {}


def _one_row(
    kind: str,
    table: sa.Table,
    values: Mapping[str, Any],
    returning: Sequence[sa.Column[Any]],
    make: Callable[[dict[str, Any], Binder], Any],
    identity: Mapping[str, Any],
) -> Write:
    """A write of one row's `values`, whose shape `make(row, bind)` builds from the row's
    bound values; `identity` are the parameters that find the row."""
    names, expressions, parameters = _split(values)
    columns = list(values)

    def build(bind: Binder) -> sa.Executable:
        statement = make(_row(table, columns, expressions, bind), bind)
        return statement.returning(*returning) if returning else statement

    key = (kind, table.name, names, tuple(column.name for column in returning))
    return Write(_cached(_SHAPES, key, lambda: Shape(build)), {**parameters, **identity})


def insert(
    table: sa.Table, values: Mapping[str, Any], returning: Sequence[sa.Column[Any]] = ()
) -> Write:
    """INSERT one row of `values` (RETURNING `returning`, when given)."""
    return _one_row(
        "insert", table, values, returning, lambda row, _: table.insert().values(row), {}
    )


# Rows of one INSERT that get a prebuilt shape: the few a request writes (a ticket's SLA
# log entries...); a job's batches are built as they come.
ROWS_PREBUILT = 8


def insert_rows(table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> Write | sa.Executable:
    """One INSERT of several rows of the same columns, inserted in their order (an
    identity column numbers them so): prebuilt for a few rows."""
    if len(rows) == 1:
        return insert(table, rows[0])
    if len(rows) > ROWS_PREBUILT or any(tuple(row) != tuple(rows[0]) for row in rows):
        return table.insert().values(list(rows))
    names, expressions, _ = _split(rows[0])
    columns, count = list(rows[0]), len(rows)

    def build(bind: Binder) -> sa.Executable:
        # INSERT ... SELECT of one SELECT a row, in their order: SQLAlchemy cannot
        # cache-key a multi-row VALUES, so that would be compiled again every time.
        selects = [
            sa.select(
                sa.literal(number).label("_ordinal"),
                *(
                    value.label(name)
                    for name, value in _row(
                        table, columns, expressions, _prefixed(bind, f"r{number}_")
                    ).items()
                ),
            )
            for number in range(count)
        ]
        union = sa.union_all(*selects).subquery("rows")
        ordered = sa.select(*(union.c[name] for name in columns)).order_by(union.c._ordinal)
        return table.insert().from_select(columns, ordered)

    shape = _cached(_SHAPES, ("insert rows", table.name, names, count), lambda: Shape(build))
    parameters = {
        f"r{number}_{name}": value
        for number, row in enumerate(rows)
        for name, value in row.items()
        if name not in expressions
    }
    return Write(shape, parameters)


def _prefixed(bind: Binder, prefix: str) -> Binder:
    return lambda name, type_: bind(prefix + name, type_)


def versioned_update(
    table: sa.Table,
    ident: uuid.UUID,
    version: int,
    values: Mapping[str, Any],
    *,
    now: datetime,
    returning: Sequence[sa.Column[Any]],
) -> Write:
    """UPDATE the row at `version` to the next one with `values`, RETURNING `returning`:
    no row comes back when the stored version is another."""

    def make(row: dict[str, Any], bind: Binder) -> sa.Update:
        return (
            table.update()
            .where(
                table.c.id == bind("ident", table.c.id.type),
                table.c.version == bind("version", table.c.version.type),
            )
            .values(
                {
                    **row,
                    "version": table.c.version + 1,
                    "updated_at": bind("updated_at", table.c.updated_at.type),
                }
            )
        )

    identity = {"ident": ident, "version": version, "updated_at": now}
    return _one_row("versioned update", table, values, returning, make, identity)


def update_by_id(
    table: sa.Table,
    ident: uuid.UUID,
    values: Mapping[str, Any],
    *,
    returning: Sequence[sa.Column[Any]] = (),
) -> Write:
    """UPDATE the row `ident` with `values` (RETURNING `returning`, when given)."""

    def make(row: dict[str, Any], bind: Binder) -> sa.Update:
        return table.update().where(table.c.id == bind("ident", table.c.id.type)).values(row)

    return _one_row("update", table, values, returning, make, {"ident": ident})


def _cached(cache: dict[Any, _Built], key: Any, make: Callable[[], _Built]) -> _Built:
    """The cache's entry for `key`, made on first use; the cache stays bounded (a new key
    may come from any caller's dynamic shape)."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= _MAX_CACHED:
            cache.clear()
        found = cache[key] = make()
    return found


_COMBINED: dict[tuple[Shape, ...], sa.Executable] = {}


async def execute_together(
    conn: AsyncConnection, statements: Sequence[Write | sa.Executable]
) -> None:
    """Run writes touching different rows as one round trip on PostgreSQL (the last one,
    with the others as its data-modifying CTEs), one after another elsewhere."""
    if conn.dialect.name != "postgresql" or len(statements) < 2:
        for statement in statements:
            if isinstance(statement, Write):
                await run(conn, statement)
            else:
                await conn.execute(statement)
        return
    parameters: dict[str, Any] = {}
    for number, statement in enumerate(statements):
        if isinstance(statement, Write):
            parameters.update(statement.parameters(f"w{number}_"))
    if all(isinstance(statement, Write) for statement in statements):
        key = tuple(statement.shape for statement in statements)  # type: ignore[union-attr]
        combined = _cached(_COMBINED, key, lambda: _combine(statements))
        await conn.execute(combined, parameters)
        return
    await conn.execute(_combine(statements), parameters)


def _combine(statements: Sequence[Write | sa.Executable]) -> sa.Executable:
    built = [
        statement.shape.build(_binder(f"w{number}_")) if isinstance(statement, Write) else statement
        for number, statement in enumerate(statements)
    ]
    *ctes, last = built
    for number, statement in enumerate(ctes):
        last = last.add_cte(statement.cte(f"change_{number}"))  # type: ignore[attr-defined]
    return last


__all__ = [
    "Binder",
    "Shape",
    "Write",
    "execute_together",
    "insert",
    "insert_rows",
    "run",
    "update_by_id",
    "versioned_update",
]
