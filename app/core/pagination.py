"""Keyset pagination with opaque cursors that carry the whole sort tuple.

The cursor holds the sort's name and the last row's values for every sort column plus
`id`, so paging never repeats or skips a row however many rows share a value, and a page
1,000 deep costs the same as the first. All keys of one sort share a direction, so the
comparison is one row-value predicate that a composite index serves directly.
"""

import base64
import binascii
import decimal
import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson
import sqlalchemy as sa

from app.core.errors import BadRequest, ErrorItem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class SortKey:
    """A named sort: columns in order (the table's `id` is appended as the tie-breaker)."""

    name: str
    columns: tuple[str, ...]
    descending: bool = False


def sort_keys(*specs: tuple[str, tuple[str, ...]]) -> dict[str, SortKey]:
    """Each named sort ascending, and its `-name` descending twin."""
    keys: dict[str, SortKey] = {}
    for name, columns in specs:
        keys[name] = SortKey(name, columns)
        keys["-" + name] = SortKey("-" + name, columns, descending=True)
    return keys


def sort_enum(name: str, keys: dict[str, SortKey]) -> type[StrEnum]:
    """The `sort` query parameter's type: its allowed values, documented and validated."""
    return StrEnum(name, {key: key for key in keys})  # type: ignore[return-value]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        decoders: dict[str, Callable[[Any], Any]] = {
            "t": datetime.fromisoformat,
            "d": date.fromisoformat,
            "u": uuid.UUID,
            "n": Decimal,
        }
        return decoders[tag](raw)
    return value


def encode_cursor(sort: SortKey, row: Mapping[Any, Any]) -> str:
    values = [_encode_value(row[c]) for c in (*sort.columns, "id")]
    raw = orjson.dumps({"s": sort.name, "v": values})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _invalid_cursor(detail: str) -> BadRequest:
    return BadRequest(detail, errors=[ErrorItem("invalid_cursor", detail, "cursor")])


def decode_cursor(cursor: str, sort: SortKey) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
        values = [_decode_value(v) for v in payload["v"]]
        sort_name = payload["s"]
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        decimal.InvalidOperation,
        binascii.Error,
        orjson.JSONDecodeError,
    ) as error:
        raise _invalid_cursor("The cursor is not one this API issued.") from error
    if not isinstance(values, list):
        raise _invalid_cursor("The cursor is not one this API issued.")
    if sort_name != sort.name:
        raise _invalid_cursor(
            f"The cursor belongs to sort '{sort_name}', not '{sort.name}'; start again without it."
        )
    if len(values) != len(sort.columns) + 1:
        raise _invalid_cursor("The cursor is not one this API issued.")
    return values


def _python_type(column: sa.ColumnElement[Any]) -> type:
    column_type = column.type
    if isinstance(column_type, sa.TypeDecorator):
        column_type = column_type.impl_instance
    try:
        expected: type = column_type.python_type
    except NotImplementedError:
        return object
    if issubclass(expected, enum.Enum):
        return str  # enum columns travel as their string values
    return expected


def _fits(value: Any, expected: type) -> bool:
    if isinstance(value, bool):
        return expected is bool
    if expected is float:
        return isinstance(value, int | float)
    if expected is datetime:
        return isinstance(value, datetime) and value.tzinfo is not None
    if expected is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    if expected is Decimal:
        return isinstance(value, Decimal) and value.is_finite()
    return isinstance(value, expected)


def cursor_literals(
    values: Sequence[Any], columns: Sequence[sa.ColumnElement[Any]]
) -> list[sa.ColumnElement[Any]]:
    """A decoded cursor's values as typed literals for `columns`; a value of the wrong type
    (a cursor edited by hand) is a 400, not a statement the database refuses."""
    literals: list[sa.ColumnElement[Any]] = []
    for value, column in zip(values, columns, strict=True):
        if value is None or not _fits(value, _python_type(column)):
            raise _invalid_cursor("The cursor is not one this API issued.")
        literals.append(sa.literal(value, type_=column.type))
    return literals


def keyset_clause(table: sa.Table, sort: SortKey, values: Sequence[Any]) -> sa.ColumnElement[bool]:
    columns = [table.c[c] for c in (*sort.columns, "id")]
    left = sa.tuple_(*columns)
    right = sa.tuple_(*cursor_literals(values, columns))
    return left < right if sort.descending else left > right


def order_by(table: sa.Table, sort: SortKey) -> list[sa.UnaryExpression[Any]]:
    columns = [table.c[c] for c in (*sort.columns, "id")]
    return [c.desc() if sort.descending else c.asc() for c in columns]


def page(
    rows: Sequence[Mapping[Any, Any]], limit: int, sort: SortKey
) -> tuple[list[Any], str | None]:
    """Split a `limit + 1` fetch into the page and the cursor for the next one."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(sort, items[-1]) if len(rows) > limit else None
    return items, next_cursor
