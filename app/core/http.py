"""HTTP conventions shared by every router: ETags, If-Match, strict query strings, 201s."""

import re
from collections.abc import Iterable
from typing import Annotated, Self

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import field_annotation_is_sequence

from app.core.deps import CurrentPrincipal
from app.core.errors import (
    BadRequest,
    ErrorItem,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)
from app.core.json import created_response as created_response
from app.core.json import etag as etag
from app.core.json import record_response as record_response

PAGING_PARAMS = frozenset({"limit", "cursor", "sort"})
# More digits than any stored version can have; also keeps int() far from its limit.
MAX_VERSION_DIGITS = 18
# An ETag as `etag()` writes it (`"3"`; unquoted is tolerated). `W/` marks a weak tag,
# which If-Match's strong comparison never matches (RFC 9110 section 13.1.1).
_VERSION_TAG = re.compile(rf'(W/)?("?)([0-9]{{1,{MAX_VERSION_DIGITS}}})\2')
_SHOWN_CHARS = 40
# What `parse_if_match` answers for an If-Match of weak tags only: no version matches it.
WEAK_ONLY = -1


def _shown(value: str) -> str:
    """A client's value as an error message quotes it: cut short, however long it is."""
    return value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "..."


def _malformed_if_match(header: str) -> BadRequest:
    return BadRequest(
        f"If-Match {_shown(header)!r} is not an ETag this API issues: send the ETag header "
        'of a previous response, e.g. "3", or *.',
        errors=[
            ErrorItem("invalid_if_match", "Use the ETag from a previous response.", "If-Match")
        ],
    )


class IfMatchVersions(int):
    """What an `If-Match` header asks for, judged by `check_version` once the record is
    found (so an unknown record is a 404 and a malformed header a 400 only about a record
    that exists): every version its strong ETags name, and whether it was well-formed.

    It is an int (the first version named, or `WEAK_ONLY`) so that the code passing an
    expected version along to `check_version` needs to know nothing of lists."""

    versions: frozenset[int]
    header: str
    malformed: bool

    def __new__(cls, header: str, versions: Iterable[int], *, malformed: bool = False) -> Self:
        named = list(versions)
        condition = super().__new__(cls, named[0] if named else WEAK_ONLY)
        condition.versions = frozenset(named)
        condition.header = header
        condition.malformed = malformed
        return condition


def parse_if_match(header: str | None) -> int | None:
    """The versions named by `If-Match`, or None when there is none (or `*`)."""
    if header is None or header.strip() == "*":
        return None
    matches = [_VERSION_TAG.fullmatch(tag.strip()) for tag in header.split(",")]
    if not all(matches):
        return IfMatchVersions(header, (), malformed=True)
    return IfMatchVersions(header, (int(m[3]) for m in matches if m and not m[1]))


async def expected_version(
    caller: CurrentPrincipal,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag you read; the change is refused with 412 if it is stale.",
        ),
    ] = None,
) -> int | None:
    """`If-Match` as a version. It depends on the caller so that credentials are judged
    first: a request without them is a 401 whatever else it sends.

    async, like every dependency here: FastAPI sends a plain `def` to the threadpool, a
    thread hop on every request for work that never waits."""
    return parse_if_match(if_match)


def check_version(expected: int | None, current: int) -> None:
    """412 unless the record is at the version the caller read (at one of them, for an
    If-Match list: RFC 9110 section 13.1.1); judged once the record is found, so an unknown
    record is a 404 whatever If-Match says."""
    if expected is None:
        return
    if isinstance(expected, IfMatchVersions):
        if expected.malformed:
            raise _malformed_if_match(expected.header)
        accepted = expected.versions
    else:
        accepted = frozenset() if expected == WEAK_ONLY else frozenset({expected})
    if not accepted:
        raise PreconditionFailed(
            "If-Match compares ETags strongly, so a weak ETag (W/...) never matches: send "
            'the ETag header exactly as a response gave it, e.g. "3".',
            errors=[ErrorItem("weak_etag", "If-Match needs a strong ETag", "If-Match")],
        )
    if current not in accepted:
        named = ", ".join(str(version) for version in sorted(accepted))
        raise PreconditionFailed(
            f"The record is at version {current}, not {named}: it changed since you read it. "
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
