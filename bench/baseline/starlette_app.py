"""The ceiling: the same handlers on bare Starlette (no FastAPI validation or DI).

Run with `uvicorn bench.baseline.starlette_app:app`.
"""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.baseline import core, writes

Handler = Callable[[Request, object, core.User], Awaitable[core.Reply]]


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await core.create_pool()
    yield
    await app.state.pool.close()


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            async with request.app.state.pool.acquire() as conn:
                user = await core.authenticate(conn, request.headers.get("authorization"))
                reply = await handler(request, conn, user)
        except core.Problem as error:
            reply = core.problem(error)
        except ValueError:
            reply = core.problem(core.Problem(422, "Unprocessable Entity"))
        media = reply.headers.pop("content-type", "application/json")
        return Response(reply.body, reply.status, reply.headers, media_type=media)

    return run


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)


async def get_customer(request: Request, conn, user: core.User) -> core.Reply:  # type: ignore[no-untyped-def]
    return await core.get_customer(conn, user, uuid.UUID(request.path_params["ident"]))


async def list_customers(request: Request, conn, user: core.User) -> core.Reply:  # type: ignore[no-untyped-def]
    query = request.query_params
    return await core.list_customers(
        conn,
        user,
        owner_id=_uuid(query.get("owner_id")),
        q=query.get("q"),
        cursor=query.get("cursor"),
        limit=int(query.get("limit", 50)),
    )


async def list_tickets(request: Request, conn, user: core.User) -> core.Reply:  # type: ignore[no-untyped-def]
    query = request.query_params
    return await core.list_tickets_by_due(
        conn,
        user,
        assignee_id=uuid.UUID(query["assignee_id"]),
        cursor=query.get("cursor"),
        limit=int(query.get("limit", 50)),
    )


async def create_lead(request: Request, conn, user: core.User) -> core.Reply:  # type: ignore[no-untyped-def]
    body = orjson.loads(await request.body())
    key = request.headers.get("idempotency-key")
    return await writes.create_lead(conn, user, body, key, request.url.path)


async def transition_deal(request: Request, conn, user: core.User) -> core.Reply:  # type: ignore[no-untyped-def]
    body = orjson.loads(await request.body())
    deal_id = uuid.UUID(request.path_params["ident"])
    return await writes.transition_deal(conn, user, deal_id, body)


async def submit_quote(request: Request, conn, user: core.User) -> core.Reply:  # type: ignore[no-untyped-def]
    quote_id = uuid.UUID(request.path_params["ident"])
    expected = writes.if_match(request.headers.get("if-match"))
    return await writes.submit_quote(conn, user, quote_id, expected)


async def respond_to_ticket(request: Request, conn, user: core.User) -> core.Reply:  # type: ignore[no-untyped-def]
    body = orjson.loads(await request.body())
    ticket_id = uuid.UUID(request.path_params["ident"])
    expected = writes.if_match(request.headers.get("if-match"))
    return await writes.respond_to_ticket(conn, user, ticket_id, expected, body)


app = Starlette(
    lifespan=lifespan,
    routes=[
        Route("/api/v1/customers/{ident}", endpoint(get_customer)),
        Route("/api/v1/customers", endpoint(list_customers)),
        Route("/api/v1/tickets", endpoint(list_tickets)),
        Route("/api/v1/leads", endpoint(create_lead), methods=["POST"]),
        Route("/api/v1/deals/{ident}/transition", endpoint(transition_deal), methods=["POST"]),
        Route("/api/v1/quotes/{ident}/submit", endpoint(submit_quote), methods=["POST"]),
        Route("/api/v1/tickets/{ident}/respond", endpoint(respond_to_ticket), methods=["POST"]),
    ],
)
