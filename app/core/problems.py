"""Render every failure as RFC 9457 problem+json; map database errors to their meaning."""

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from app.core.db import constraint_name, is_data_exception, is_statement_timeout, is_unavailable
from app.core.errors import (
    MAX_PROBLEM_ERRORS,
    PROBLEM_JSON,
    Conflict,
    ErrorItem,
    InvalidInput,
    ServiceError,
    ServiceUnavailable,
    UnsupportedMediaType,
    problem_body,
)
from app.core.json import dumps

log = logging.getLogger("salesflow.errors")
JSON_MEDIA_TYPE = "application/json"

# Named constraints whose violation is the client's to fix, with the error to answer.
CONSTRAINT_ERRORS: dict[str, tuple[type[ServiceError], str, str | None]] = {}


def register_constraint(
    name: str, error: type[ServiceError], message: str, field: str | None = None
) -> None:
    CONSTRAINT_ERRORS[name] = (error, message, field)


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    detail: str,
    errors: Sequence[ErrorItem] = (),
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body = problem_body(
        status=status,
        slug=slug,
        detail=detail,
        instance=request.url.path,
        errors=errors,
        extra=extra,
    )
    return Response(dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _render(request: Request, error: ServiceError) -> Response:
    return problem_response(
        request,
        status=error.status,
        slug=error.slug,
        detail=error.detail,
        errors=error.errors,
        headers=error.headers,
        extra=error.extra,
    )


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "")


def _validation_items(errors: Sequence[dict[str, Any]]) -> list[ErrorItem]:
    items = []
    for err in errors:
        loc = err.get("loc", ())
        field = _field_path(loc)
        message = err.get("msg", "invalid")
        items.append(ErrorItem(err.get("type", "invalid"), message, field))
    return items


def _not_json(request: Request) -> UnsupportedMediaType:
    sent = (request.headers.get("content-type") or "no Content-Type")[:100]
    return UnsupportedMediaType(
        f"This operation takes a JSON body; send it as Content-Type: {JSON_MEDIA_TYPE} "
        f"(got {sent}).",
        errors=[ErrorItem("unsupported_media_type", f"expected {JSON_MEDIA_TYPE}", "Content-Type")],
    )


async def _on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if isinstance(error.body, bytes) and error.body:
        # FastAPI parses a body as JSON only when its Content-Type says so; any other
        # reaches validation as raw bytes.
        return _render(request, _not_json(request))
    raw = list(error.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem_response(
            request,
            status=400,
            slug="malformed-json",
            detail="The request body is not valid JSON.",
            errors=[ErrorItem("json_invalid", raw[0].get("msg", "invalid JSON"), "body")],
        )
    items = _validation_items(raw)
    locations = {str(e.get("loc", ("",))[0]) for e in raw}
    status = 400 if locations <= {"query", "path", "header"} and _all_unparseable(raw) else 422
    fields = ", ".join(dict.fromkeys(i.field or "?" for i in items[:MAX_PROBLEM_ERRORS]))
    return problem_response(
        request,
        status=status,
        slug="invalid-input" if status == 422 else "bad-request",
        detail=f"Invalid value(s) for: {fields}.",
        errors=items,
    )


def _all_unparseable(errors: Sequence[dict[str, Any]]) -> bool:
    return all(
        e.get("type") in {"uuid_parsing", "uuid_type", "int_parsing", "missing"} for e in errors
    )


async def _on_service_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    return _render(request, error)


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path. The router stops at the
    first route whose path matches, which knows only its own methods (`GET /leads` does
    not know of `POST /leads`), so the `Allow` of a 405 asks every route, method by method."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHOD_ORDER
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
    detail = str(error.detail) if error.detail else "Request failed."
    headers = dict(error.headers) if error.headers else {}
    if error.status_code == 404 and detail == "Not Found":
        detail = f"No route matches {request.url.path}."
    if error.status_code == 405:
        allowed = _allowed_methods(request) or [headers.get("Allow", "")]
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not served at {request.url.path}; use {headers['Allow']}."
    return problem_response(
        request,
        status=error.status_code,
        slug=slug,
        detail=detail,
        headers=headers or None,
    )


async def _on_integrity_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, sa_exc.IntegrityError)
    name = constraint_name(error)
    if name and name in CONSTRAINT_ERRORS:
        kind, message, field = CONSTRAINT_ERRORS[name]
        return _render(request, kind(message, errors=[ErrorItem(name, message, field)]))
    if (name and name.startswith("fk_")) or "FOREIGN KEY constraint failed" in str(error.orig):
        return _render(
            request,
            InvalidInput(
                "A referenced record does not exist.",
                errors=[ErrorItem("reference_not_found", "referenced record not found", name)],
            ),
        )
    log.warning("unmapped integrity error: %s", name or error.orig)
    return _render(request, Conflict("The change conflicts with existing data."))


async def _on_data_error(request: Request, error: Exception) -> Response:
    """The database refused a value the schema let through (a NUL byte, an out-of-range
    number or date): the client's input, so a 422 — never a 500."""
    if not is_data_exception(error):
        return await _on_unexpected(request, error)
    log.info("database refused a value: %s", type(getattr(error, "orig", error)).__name__)
    return _render(
        request,
        InvalidInput(
            "A value in the request cannot be stored (e.g. a NUL character or a number "
            "or date out of range).",
            errors=[ErrorItem("value_not_storable", "the database refused a value", None)],
        ),
    )


async def _on_unexpected(request: Request, error: Exception) -> Response:
    if is_unavailable(error):
        log.error("database unavailable: %s", type(error).__name__)
        return _render(
            request,
            ServiceUnavailable(
                "The database is unavailable; retry shortly.", headers={"Retry-After": "5"}
            ),
        )
    if is_statement_timeout(error):
        log.warning("statement timeout on %s %s", request.method, request.url.path)
        return _render(
            request,
            ServiceUnavailable(
                "The database did not finish this request within its statement timeout "
                "(SALESFLOW_DB_STATEMENT_TIMEOUT_MS); ask for less (a shorter period, one "
                "team) or retry later.",
                headers={"Retry-After": "30"},
            ),
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        request,
        status=500,
        slug="internal-error",
        detail="An unexpected error occurred; it has been logged with this request's id.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(sa_exc.IntegrityError, _on_integrity_error)
    app.add_exception_handler(sa_exc.DBAPIError, _on_data_error)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _on_unexpected)
    app.add_exception_handler(OSError, _on_unexpected)
    app.add_exception_handler(Exception, _on_unexpected)
