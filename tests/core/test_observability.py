"""Request limits: a body over the limit is a 413 whether or not its length was declared."""

import pytest

from app.core.enums import Role
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
