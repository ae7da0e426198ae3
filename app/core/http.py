"""HTTP conventions shared by every router: ETags, If-Match, strict query strings, 201s."""

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant

from app.core.errors import BadRequest, ErrorItem, PreconditionFailed
from app.core.json import JsonResponse

PAGING_PARAMS = frozenset({"limit", "cursor", "sort"})


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag you read; the change is refused with 412 if it is stale.",
        ),
    ] = None,
) -> int | None:
    """The version named by `If-Match`, or None when the client sent none (or `*`)."""
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


IfMatch = Annotated[int | None, Depends(expected_version)]


def record_response(row: Mapping[str, Any], status_code: int = 200, **headers: str) -> JsonResponse:
    return JsonResponse(
        row, status_code=status_code, headers={"ETag": etag(row["version"]), **headers}
    )


def created_response(row: Mapping[str, Any], location: str) -> JsonResponse:
    return record_response(row, 201, Location=location)


def _query_param_names(dependant: Dependant) -> Iterable[str]:
    for param in dependant.query_params:
        yield param.alias or param.name
    for sub in dependant.dependencies:
        yield from _query_param_names(sub)


def _declared_query_params(request: Request) -> frozenset[str]:
    route = request.scope.get("route")
    cached = getattr(route, "_declared_query_params", None)
    if cached is None:
        cached = frozenset(_query_param_names(route.dependant)) if route else frozenset()
        if route is not None:
            route._declared_query_params = cached  # type: ignore[union-attr]
    return cached


async def forbid_unknown_query_params(request: Request) -> None:
    """Refuse query parameters the operation does not declare.

    A client that misspells `cursor` must get an error, not page one again forever.
    """
    allowed = _declared_query_params(request)
    unknown = sorted(set(request.query_params.keys()) - allowed)
    if unknown:
        raise BadRequest(
            f"Unknown query parameter(s): {', '.join(unknown)}. "
            f"This operation accepts: {', '.join(sorted(allowed)) or 'none'}.",
            errors=[
                ErrorItem("unknown_query_parameter", f"'{n}' is not accepted", n) for n in unknown
            ],
        )
