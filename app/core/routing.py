"""Router conventions: strict query strings, documented problems, paging parameters."""

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.routing import APIRoute

from app.core.errors import PROBLEM_JSON
from app.core.http import strict_request
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


COMMON_PROBLEMS = (400, 401, 413, 422, 503)


class ReadsInTransactionRoute(APIRoute):
    """A route whose GETs run in one transaction, like writes, rather than in autocommit:
    for statements that rely on transaction-local settings (`SET LOCAL`)."""

    reads_in_transaction = True


def api_router(prefix: str, tag: str, *, route_class: type[APIRoute] = APIRoute) -> APIRouter:
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        dependencies=[Depends(strict_request)],
        responses=problems(*COMMON_PROBLEMS),
        route_class=route_class,
    )


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(max_length=2048, description="The `next_cursor` of the previous page."),
]
DEFAULT_PAGE_SIZE = DEFAULT_LIMIT
READ_PROBLEMS = problems(403, 404)
WRITE_PROBLEMS = problems(403, 404, 409, 412)
