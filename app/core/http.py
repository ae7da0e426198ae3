"""HTTP conventions shared by every router: ETags, If-Match, strict query strings, 201s."""

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import field_annotation_is_sequence

from app.core.errors import (
    BadRequest,
    ErrorItem,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)
from app.core.json import JsonResponse

PAGING_PARAMS = frozenset({"limit", "cursor", "sort"})


def etag(version: int) -> str:
    return f'"{version}"'


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag you read; the change is refused with 412 if it is stale.",
        ),
    ] = None,
) -> int | None:
    """The version named by `If-Match`, or None when the client sent none (or `*`).

    async, like every dependency here: FastAPI sends a plain `def` to the threadpool, a
    thread hop on every request for work that never waits."""
    header = if_match
    if header is None or header.strip() == "*":
        return None
    tags = [t.strip() for t in header.split(",")]
    versions = []
    for tag in tags:
        tag = tag.removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise PreconditionFailed(
                f"If-Match {header!r} does not name a version this API issued.",
                errors=[
                    ErrorItem(
                        "invalid_if_match", "Use the ETag from a previous response.", "If-Match"
                    )
                ],
            )
        versions.append(int(tag))
    if len(versions) != 1:
        raise PreconditionFailed("If-Match must name exactly one version.")
    return versions[0]


def check_version(expected: int | None, current: int) -> None:
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"The record is at version {current}, not {expected}: it changed since you read it. "
            "Fetch it again and retry.",
            errors=[ErrorItem("stale_version", f"current version is {current}", "If-Match")],
        )


def require_if_match(expected: int | None, action: str) -> int:
    """For actions that must be about the exact version the caller read (an approval is
    of what the approver reviewed): no `If-Match`, or `*`, is a 428."""
    if expected is None:
        raise PreconditionRequired(
            f"To {action}, send If-Match with the ETag of the version you reviewed.",
            errors=[ErrorItem("if_match_required", f"required to {action}", "If-Match")],
        )
    return expected


IfMatch = Annotated[int | None, Depends(expected_version)]


def record_response(row: Mapping[str, Any], status_code: int = 200, **headers: str) -> JsonResponse:
    return JsonResponse(
        row, status_code=status_code, headers={"ETag": etag(row["version"]), **headers}
    )


def created_response(row: Mapping[str, Any], location: str) -> JsonResponse:
    return record_response(row, 201, Location=location)


def _query_params(dependant: Dependant) -> Iterable[tuple[str, bool]]:
    """(name, may repeat) of every query parameter the operation and its dependencies take."""
    for param in dependant.query_params:
        yield param.alias or param.name, field_annotation_is_sequence(param.field_info.annotation)
    for sub in dependant.dependencies:
        yield from _query_params(sub)


def _declared_query_params(request: Request) -> tuple[frozenset[str], frozenset[str]]:
    """The operation's query parameters, and those of them that may repeat."""
    route = request.scope.get("route")
    cached = getattr(route, "_declared_query_params", None)
    if cached is None:
        params = list(_query_params(route.dependant)) if route else []
        cached = (
            frozenset(name for name, _ in params),
            frozenset(name for name, repeats in params if repeats),
        )
        if route is not None:
            route._declared_query_params = cached  # type: ignore[union-attr]
    return cached  # type: ignore[no-any-return]


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_EMPTY_BODIES = frozenset({b"", b"{}"})


async def strict_request(request: Request) -> None:
    """Refuse what the operation would otherwise silently ignore.

    Unknown query parameters: a client that misspells `cursor` must get an error, not page
    one again forever. A parameter sent twice, when it takes one value. A body sent to an
    operation that takes none: `{"reason": ...}` on an action without a reason is a mistake
    the client should hear about.
    """
    allowed, repeatable = _declared_query_params(request)
    names = [name for name, _ in request.query_params.multi_items()]
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise BadRequest(
            f"Unknown query parameter(s): {', '.join(unknown)}. "
            f"This operation accepts: {', '.join(sorted(allowed)) or 'none'}.",
            errors=[
                ErrorItem("unknown_query_parameter", f"'{n}' is not accepted", n) for n in unknown
            ],
        )
    repeated = sorted({n for n in names if names.count(n) > 1} - repeatable)
    if repeated:
        raise BadRequest(
            f"Query parameter(s) given more than once: {', '.join(repeated)}.",
            errors=[
                ErrorItem("repeated_query_parameter", f"'{n}' takes one value", n) for n in repeated
            ],
        )
    route = request.scope.get("route")
    takes_no_body = request.method in _BODY_METHODS and getattr(route, "body_field", 1) is None
    if takes_no_body and (await request.body()).strip() not in _EMPTY_BODIES:
        raise InvalidInput(
            f"{request.method} {request.url.path} takes no request body; send none.",
            errors=[ErrorItem("unexpected_body", "this operation takes no body", "body")],
        )
