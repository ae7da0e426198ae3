"""One error hierarchy, rendered by one handler as RFC 9457 problem+json.

Services raise these; routers never build error bodies by hand.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://salesflow.dev/problems/"
# A problem lists this many errors at most, and counts the rest: a body of 50,000 unknown
# fields must not come back as a document many times its size.
MAX_PROBLEM_ERRORS = 100


@dataclass(frozen=True, slots=True)
class ErrorItem:
    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            item["field"] = self.field
        return item


class ServiceError(Exception):
    """Base of every error the API renders as a problem document."""

    status: int = 500
    slug: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[ErrorItem] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


class BadRequest(ServiceError):
    status, slug = 400, "bad-request"


class Unauthorized(ServiceError):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: str = "Missing or invalid credentials.", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(ServiceError):
    status, slug = 403, "forbidden"


class NotFound(ServiceError):
    status, slug = 404, "not-found"


class Conflict(ServiceError):
    status, slug = 409, "conflict"


class PreconditionFailed(ServiceError):
    status, slug = 412, "precondition-failed"


class PreconditionRequired(ServiceError):
    status, slug = 428, "precondition-required"


class PayloadTooLarge(ServiceError):
    status, slug = 413, "payload-too-large"


class UnsupportedMediaType(ServiceError):
    status, slug = 415, "unsupported-media-type"


class RuleViolation(ServiceError):
    """Valid input that a business rule refuses (an unmet gate, an over-limit discount)."""

    status, slug = 422, "rule-violation"


class InvalidInput(ServiceError):
    status, slug = 422, "invalid-input"


class TooManyRequests(ServiceError):
    status, slug = 429, "too-many-requests"


class ServiceUnavailable(ServiceError):
    status, slug = 503, "service-unavailable"


def not_found(kind: str, ident: object) -> NotFound:
    return NotFound(f"No {kind} with id {ident}.")


def problem_body(
    *,
    status: int,
    slug: str,
    detail: str,
    instance: str,
    errors: Sequence[ErrorItem] = (),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = [e.as_dict() for e in errors[:MAX_PROBLEM_ERRORS]]
    omitted = len(errors) - MAX_PROBLEM_ERRORS
    if omitted > 0:
        body["errors_omitted"] = omitted
        body["detail"] = f"{detail} ({omitted} more error(s) not listed.)"
    if extra:
        body.update(extra)
    return body
