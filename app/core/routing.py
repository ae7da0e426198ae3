"""Router conventions: strict query strings, documented problems, paging parameters."""

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.core.errors import PROBLEM_JSON
from app.core.http import forbid_unknown_query_params
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.core.schemas import Problem

_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem documents an operation can answer."""
    return {
        code: {
            "description": HTTPStatus(code).phrase,
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
        }
        for code in codes
    }


COMMON_PROBLEMS = (400, 401, 422, 503)


def api_router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        dependencies=[Depends(forbid_unknown_query_params)],
        responses=problems(*COMMON_PROBLEMS),
    )


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(max_length=2048, description="The `next_cursor` of the previous page."),
]
DEFAULT_PAGE_SIZE = DEFAULT_LIMIT
READ_PROBLEMS = problems(403, 404)
WRITE_PROBLEMS = problems(403, 404, 409, 412)
