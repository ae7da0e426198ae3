"""Request limits: a body over the limit is a 413 whether or not its length was declared.
Logs: with SALESFLOW_LOG_JSON every line is JSON, the service's, uvicorn's and alembic's,
and each request's access line says who asked for what and how it went."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from app.cli import serve_options
from app.core.config import Settings
from app.core.enums import Role
from app.core.observability import configure_logging, logging_config
from tests.conftest import logging_restored
from tests.factories import make_user


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


def chunked(*parts: bytes):
    async def stream():
        for part in parts:
            yield part

    return stream()


async def test_an_oversized_chunked_body_is_413(client, rep):
    response = await client.post(
        "/api/v1/customers",
        content=chunked(b'{"name": "', b"x" * 700_000, b"x" * 700_000, b'"}'),
        headers={**rep.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413


async def test_a_chunked_body_within_the_limit_is_read_whole(client, rep):
    response = await client.post(
        "/api/v1/customers",
        content=chunked(b'{"name": "Chunked', b' Customer"}'),
        headers={**rep.headers, "content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Chunked Customer"


@contextmanager
def lines_written() -> Iterator[io.StringIO]:
    """What the configured handler (the root's only one) writes from here on."""
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    lines = io.StringIO()
    handler.setStream(lines)
    yield lines


@contextmanager
def logging_as(settings: Settings) -> Iterator[io.StringIO]:
    with logging_restored():
        configure_logging(settings)
        with lines_written() as lines:
            yield lines


def verbose(settings: Settings, *, as_json: bool) -> Settings:
    return settings.model_copy(update={"log_json": as_json, "log_level": "INFO"})


async def test_the_access_line_is_json_with_who_asked_which_route_and_the_outcome(
    client, rep, settings
):
    created = await client.post("/api/v1/customers", json={"name": "Logged"}, headers=rep.headers)
    customer_id = created.json()["id"]
    with logging_as(verbose(settings, as_json=True)) as lines:
        response = await client.get(f"/api/v1/customers/{customer_id}", headers=rep.headers)
    assert response.status_code == 200, response.text

    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    (access,) = [record for record in records if record["logger"] == "salesflow.access"]
    assert access["level"] == "INFO"
    assert access["principal_id"] == str(rep.id)
    assert access["client"] == "127.0.0.1"
    assert access["method"] == "GET"
    assert access["route"] == "/api/v1/customers/{customer_id}"
    assert access["path"] == f"/api/v1/customers/{customer_id}"
    assert access["status"] == 200
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["request_id"] == response.headers["x-request-id"]
    assert access["message"].startswith(f"GET /api/v1/customers/{customer_id} 200 ")


async def test_an_unauthenticated_request_is_logged_without_a_principal(client, settings):
    with logging_as(verbose(settings, as_json=True)) as lines:
        response = await client.get("/api/v1/customers", headers={"X-Request-ID": "probe-1"})
    assert response.status_code == 401
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    (access,) = [record for record in records if record["logger"] == "salesflow.access"]
    assert access["principal_id"] is None
    assert access["route"] == "/api/v1/customers"
    assert (access["status"], access["request_id"]) == (401, "probe-1")


def test_every_logger_writes_json_lines_under_the_config(settings):
    with logging_as(verbose(settings, as_json=True)) as lines:
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "192.0.2.1:5000", "GET", "/x", "1.1", 200
        )
        logging.getLogger("procrastinate.worker").warning("Job %s stalled", 7)
        try:
            raise RuntimeError("boom\non two lines")
        except RuntimeError:
            logging.getLogger("salesflow.jobs").exception("sweep failed")
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [(record["logger"], record["message"]) for record in records] == [
        ("uvicorn.access", '192.0.2.1:5000 - "GET /x HTTP/1.1" 200'),
        ("procrastinate.worker", "Job 7 stalled"),
        ("salesflow.jobs", "sweep failed"),
    ]
    assert "RuntimeError: boom" in records[2]["exc_info"]
    assert all(record["ts"] and record["request_id"] == "-" for record in records)


def test_uvicorn_and_alembic_log_json_through_the_config_serve_hands_uvicorn(settings):
    as_json = verbose(settings, as_json=True)
    with logging_restored():
        # As `salesflow serve` starts it: uvicorn applies the config itself.
        uvicorn.Config(
            "app.main:create_app",
            factory=True,
            log_config=logging_config(as_json),
            **serve_options(as_json),
        )
        with lines_written() as lines:
            logging.getLogger("uvicorn.error").info(
                "Started server process [%d]", 42, extra={"color_message": "\x1b[32m42\x1b[0m"}
            )
            logging.getLogger("uvicorn.access").info(
                '%s - "%s %s HTTP/%s" %d', "192.0.2.1:5000", "GET", "/x", "1.1", 200
            )
            logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [(record["logger"], record["level"], record["message"]) for record in records] == [
        ("uvicorn.error", "INFO", "Started server process [42]"),
        # uvicorn's own access line is off (`access_log=False`): the service writes its own.
        ("alembic.runtime.migration", "INFO", "Context impl SQLiteImpl."),
    ]
    assert "color_message" not in records[0]


def test_without_the_setting_every_line_is_text(settings):
    with logging_as(verbose(settings, as_json=False)) as lines:
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    written = lines.getvalue().splitlines()
    assert [line.split(" ", 2)[2] for line in written] == [
        "INFO uvicorn.error [-] Started server process [42]",
        "INFO alembic.runtime.migration [-] Context impl SQLiteImpl.",
    ]
    for line in written:
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)


async def test_without_the_setting_the_access_line_is_text(client, rep, settings):
    with logging_as(verbose(settings, as_json=False)) as lines:
        response = await client.get("/api/v1/me", headers=rep.headers)
    (line,) = lines.getvalue().splitlines()
    request_id = response.headers["x-request-id"]
    assert f" INFO salesflow.access [{request_id}] GET /api/v1/me 200 " in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
