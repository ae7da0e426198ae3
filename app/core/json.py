"""Fast JSON rendering: rows go straight from the database to bytes, validated once.

A record's response carries its version as the ETag that `If-Match` names later."""

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal | uuid.UUID):
        # asyncpg returns its own UUID subclass, which orjson does not serialize natively.
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


loads = orjson.loads


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def etag(version: int) -> str:
    return f'"{version}"'


def record_response(row: Mapping[str, Any], status_code: int = 200, **headers: str) -> JsonResponse:
    return JsonResponse(
        row, status_code=status_code, headers={"ETag": etag(row["version"]), **headers}
    )


def created_response(row: Mapping[str, Any], location: str) -> JsonResponse:
    return record_response(row, 201, Location=location)
