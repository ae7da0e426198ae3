"""Who may do what, asserted from the outside.

The first test walks the app's route table, so every router that lands later is held to
"no credentials, no answer" without anyone remembering to add it here.
"""

import re
import uuid

import pytest
from fastapi import routing
from fastapi.routing import APIRoute

from app.core.enums import Role
from tests.factories import make_api_key, make_customer, make_team, make_user

PUBLIC = re.compile(r"^(/health/.*|/metrics|/docs.*|/openapi\.json|/redoc|/api/v1/auth/token)$")


def _api_routes(app):
    """(path, methods) of every APIRoute, including those of included routers."""
    if not hasattr(routing, "iter_route_contexts"):  # FastAPI < 0.165 keeps routes flat
        return [(r.path, r.methods) for r in app.routes if isinstance(r, APIRoute)]
    return [
        (context.path, context.methods)
        for context in routing.iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]


def _protected_operations(app):
    for path, methods in _api_routes(app):
        if not PUBLIC.match(path):
            yield from ((method, path) for method in sorted(methods))


def _fill(path):
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


async def test_every_route_but_the_public_ones_needs_credentials(app, client):
    operations = list(_protected_operations(app))
    assert ("POST", "/api/v1/users") in operations and ("GET", "/api/v1/audit") in operations
    assert ("GET", "/api/v1/me") in operations and ("GET", "/health/live") not in operations
    for method, path in operations:
        body = {"json": {}} if method in {"POST", "PATCH", "PUT"} else {}
        for headers in ({}, {"Authorization": "Bearer nonsense"}, {"X-API-Key": "sf_nonsense"}):
            response = await client.request(method, _fill(path), headers=headers, **body)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["content-type"] == "application/problem+json"


async def test_public_routes_answer_without_credentials(client):
    for path in ("/health/live", "/metrics", "/openapi.json"):
        assert (await client.get(path)).status_code == 200, path


ALLOWED, HIDDEN, FORBIDDEN, CREATED = 200, 404, 403, 201
ACTORS = ("rep", "manager", "director", "support_agent", "admin", "partner")


@pytest.fixture
async def world(conn, settings):
    """Two teams: `rep` works for `manager`; `stranger` is on another team."""
    team, other_team = await make_team(conn), await make_team(conn)
    actors = {
        "rep": await make_user(conn, settings, role=Role.rep, team_id=team),
        "manager": await make_user(conn, settings, role=Role.manager, team_id=team),
        "director": await make_user(conn, settings, role=Role.director),
        "support_agent": await make_user(conn, settings, role=Role.support_agent),
        "admin": await make_user(conn, settings, role=Role.admin),
        "partner": await make_api_key(conn, scopes=["customers:read"]),
    }
    stranger = await make_user(conn, settings, role=Role.rep, team_id=other_team)
    ids = {
        "team": team,
        "other_team": other_team,
        "rep": actors["rep"].id,
        "stranger": stranger.id,
        "rep_customer": await make_customer(conn, owner_id=actors["rep"].id),
        "stranger_customer": await make_customer(conn, owner_id=stranger.id),
        "key": (await make_api_key(conn, scopes=["leads:read"])).id,
    }
    return actors, ids


def _body(path):
    suffix = uuid.uuid4().hex[:8]
    bodies = {
        "/api/v1/customers": {"name": f"Customer {suffix}"},
        "/api/v1/users": {
            "email": f"matrix-{suffix}@example.com",
            "name": "Matrix",
            "role": "rep",
            "password": "long enough password",
        },
        "/api/v1/teams": {"name": f"Team {suffix}"},
        "/api/v1/api-keys": {"name": "Partner", "scopes": ["leads:read"]},
    }
    return bodies.get(path, {"name": f"Renamed {suffix}"})


# (method, path, expected status for: rep, manager, director, support_agent, admin, partner)
MATRIX = [
    ("GET", "/api/v1/customers/{rep_customer}", (200, 200, 200, 404, 200, 200)),
    ("GET", "/api/v1/customers/{stranger_customer}", (404, 404, 200, 404, 200, 200)),
    ("POST", "/api/v1/customers", (201, 201, 201, 403, 201, 403)),
    ("GET", "/api/v1/users/{rep}", (200, 200, 200, 404, 200, 403)),
    ("GET", "/api/v1/users/{stranger}", (404, 404, 200, 404, 200, 403)),
    ("GET", "/api/v1/users", (200, 200, 200, 200, 200, 403)),
    ("POST", "/api/v1/users", (403, 403, 403, 403, 201, 403)),
    ("PATCH", "/api/v1/users/{rep}", (403, 403, 403, 403, 200, 403)),
    ("GET", "/api/v1/teams/{team}", (200, 200, 200, 404, 200, 403)),
    ("GET", "/api/v1/teams/{other_team}", (404, 404, 200, 404, 200, 403)),
    ("GET", "/api/v1/teams", (200, 200, 200, 200, 200, 403)),
    ("POST", "/api/v1/teams", (403, 403, 403, 403, 201, 403)),
    ("PATCH", "/api/v1/teams/{team}", (403, 403, 403, 403, 200, 403)),
    ("GET", "/api/v1/api-keys", (403, 403, 403, 403, 200, 403)),
    ("GET", "/api/v1/api-keys/{key}", (403, 403, 403, 403, 200, 403)),
    ("POST", "/api/v1/api-keys", (403, 403, 403, 403, 201, 403)),
    ("DELETE", "/api/v1/api-keys/{key}", (403, 403, 403, 403, 200, 403)),
    ("GET", "/api/v1/audit", (403, 200, 200, 403, 200, 403)),
]


@pytest.mark.parametrize(("method", "template", "expected"), MATRIX)
async def test_role_matrix(client, world, method, template, expected):
    actors, ids = world
    path = template.format(**ids)
    outcomes = {}
    for actor in ACTORS:
        body = {"json": _body(template)} if method in {"POST", "PATCH"} else {}
        response = await client.request(method, path, headers=actors[actor].headers, **body)
        outcomes[actor] = response.status_code
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
    assert outcomes == dict(zip(ACTORS, expected, strict=True))
