"""Request ids, structured logs, Prometheus metrics, security headers and the request-body
size limit.

One pure-ASGI middleware does all five: each Starlette `BaseHTTPMiddleware` layer costs
a task and a copy per request, which the hot read paths cannot afford.
"""

import contextvars
import logging
import logging.config
import re
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.errors import PROBLEM_JSON, problem_body
from app.core.json import dumps

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")

REQUESTS = Counter("salesflow_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "salesflow_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
access_log = logging.getLogger("salesflow.access")

# Every response: no MIME sniffing, no framing, no referrer leaking record ids.
COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
# An API response is data, never a page: a browser that renders one anyway runs nothing.
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# The interactive docs load Swagger UI and ReDoc from this CDN, with one inline bootstrap
# script each; nothing else may load, and they may only call this origin.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    "default-src 'none'; "
    f"script-src {DOCS_CDN} 'unsafe-inline'; "
    f"style-src {DOCS_CDN} https://fonts.googleapis.com 'unsafe-inline'; "
    "font-src https://fonts.gstatic.com; "
    f"img-src 'self' data: {DOCS_CDN} https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
).encode()
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
# Credentials in, so the answer is someone's data: no cache may keep it.
NO_STORE = (b"cache-control", b"no-store")
CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key"})
TOKEN_PATH = "/api/v1/auth/token"


def security_headers(hsts_seconds: int) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response carries; HSTS only once TLS is configured in front."""
    if not hsts_seconds:
        return COMMON_HEADERS
    return (*COMMON_HEADERS, (b"strict-transport-security", f"max-age={hsts_seconds}".encode()))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# A JSON line's leading keys; what a record carries in `extra` (the access line's fields)
# follows them.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
JSON_KEYS = {"asctime": "ts", "levelname": "level", "name": "logger"}
# uvicorn repeats each message with terminal colours in `extra`: no use in a JSON line.
JSON_SKIPPED = (*RESERVED_ATTRS, "color_message")


def logging_config(settings: Settings) -> dict[str, Any]:
    """The logging of every process the service runs (API workers, `salesflow worker`,
    migrations), for `logging.config.dictConfig` and uvicorn's `log_config`: one handler
    on the root, so the service's, uvicorn's, alembic's and the libraries' lines all come
    out alike (JSON with `SALESFLOW_LOG_JSON`)."""
    level = settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"line": _json_formatter() if settings.log_json else {"format": TEXT_FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["request_id"],
                "formatter": "line",
            }
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "salesflow": {"level": level},
            "uvicorn": {"level": level},  # uvicorn.error and uvicorn.access
            "alembic": {"level": "INFO"},
            # SALESFLOW_DB_ECHO: statements at INFO, through this handler (the engine's own
            # `echo` would add a handler of its own, in its own format).
            "sqlalchemy.engine": {"level": "INFO" if settings.db_echo else "WARNING"},
        },
    }


def _json_formatter() -> dict[str, Any]:
    return {
        "()": JsonFormatter,
        "fmt": JSON_FIELDS,
        "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        "rename_fields": JSON_KEYS,
        "reserved_attrs": JSON_SKIPPED,
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts_seconds: int = 0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.headers = security_headers(hsts_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder = [500]
        added = [(b"x-request-id", request_id.encode()), *self.headers]
        path = scope["path"]
        added.append((b"content-security-policy", DOCS_CSP if path in DOCS_PATHS else API_CSP))
        private = path == TOKEN_PATH or any(
            name in CREDENTIAL_HEADERS for name, _ in scope["headers"]
        )

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = [*message.get("headers", []), *added]
                if private and not any(name == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        try:
            declared = _declared_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                await self._too_large(scope, send_with_id)
            elif declared is not None or not _has_header(scope, b"transfer-encoding"):
                await self.app(scope, receive, send_with_id)
            else:
                buffered = await self._buffered(receive)
                if buffered is None:
                    await self._too_large(scope, send_with_id)
                else:
                    await self.app(scope, buffered, send_with_id)
        finally:
            self._observe(scope, status_holder[0], time.perf_counter() - started)
            request_id_var.reset(token)

    async def _buffered(self, receive: Receive) -> Receive | None:
        """A body whose length was not declared (chunked), read up to the limit and handed
        on whole; None when it outgrows the limit. Read here because the framework turns
        any error raised while it reads the body into a 400."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                replayed = [message]
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                replayed = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
                break

        async def replay() -> Message:
            return replayed.pop() if replayed else await receive()

        return replay

    async def _too_large(self, scope: Scope, send: Send) -> None:
        body = problem_body(
            status=413,
            slug="payload-too-large",
            detail=f"The request body exceeds {self.max_body_bytes} bytes.",
            instance=scope["path"],
        )
        payload = dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    def _observe(scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        REQUESTS.labels(method, template, str(status)).inc()
        LATENCY.labels(method, template).observe(seconds)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s %.1fms",
                method,
                scope["path"],
                status,
                seconds * 1000,
                extra={
                    "principal_id": _principal_id(scope),
                    "client": _client_address(scope),
                    "method": method,
                    "route": template,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )


def _principal_id(scope: Scope) -> str | None:
    """Who the request authenticated as (`request.state.principal`), if anyone."""
    principal = scope.get("state", {}).get("principal")
    return str(principal.id) if principal is not None else None


def _client_address(scope: Scope) -> str | None:
    """The peer's address, or the client's as named by a trusted proxy (uvicorn)."""
    client = scope.get("client")
    return client[0] if client else None


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _has_header(scope: Scope, wanted: bytes) -> bool:
    return any(name == wanted for name, _ in scope["headers"])


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length the client declared; None when it declared none (chunked)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
