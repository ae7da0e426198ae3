"""The baseline: FastAPI on a raw asyncpg pool, serving the service's queries.

Same framework, same routes, same typed parameters, same auth check and same JSON as the
service, so the ratio between the two measures only what the service's data path and its
features cost. Run with `uvicorn bench.baseline.fastapi_app:app`.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Body, Depends, FastAPI, Header, Query, Request
from starlette.responses import Response

from bench.baseline import core, writes


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await core.create_pool()
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.exception_handler(core.Problem)
async def problem_handler(_request: Request, error: core.Problem) -> Response:
    return respond(core.problem(error))


def respond(reply: core.Reply) -> Response:
    media = reply.headers.pop("content-type", "application/json")
    return Response(reply.body, reply.status, reply.headers, media_type=media)


async def connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    # Released before the response is sent, as the service's unit of work is.
    async with request.app.state.pool.acquire() as conn:
        yield conn


Conn = Annotated[asyncpg.Connection, Depends(connection, scope="function")]


async def current_user(conn: Conn, authorization: Annotated[str | None, Header()] = None):
    return await core.authenticate(conn, authorization)


CurrentUser = Annotated[core.User, Depends(current_user)]
Limit = Annotated[int, Query(ge=1, le=200)]


@app.get("/api/v1/customers/{customer_id}")
async def get_customer(customer_id: uuid.UUID, conn: Conn, user: CurrentUser) -> Response:
    return respond(await core.get_customer(conn, user, customer_id))


@app.get("/api/v1/customers")
async def list_customers(
    conn: Conn,
    user: CurrentUser,
    owner_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Limit = 50,
) -> Response:
    reply = await core.list_customers(
        conn, user, owner_id=owner_id, q=q, cursor=cursor, limit=limit
    )
    return respond(reply)


@app.get("/api/v1/tickets")
async def list_tickets(
    conn: Conn,
    user: CurrentUser,
    assignee_id: uuid.UUID,
    sort: str = "next_due_at",
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Limit = 50,
) -> Response:
    reply = await core.list_tickets_by_due(
        conn, user, assignee_id=assignee_id, cursor=cursor, limit=limit
    )
    return respond(reply)


@app.post("/api/v1/leads", status_code=201)
async def create_lead(
    request: Request,
    conn: Conn,
    user: CurrentUser,
    body: Annotated[dict[str, Any], Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    return respond(await writes.create_lead(conn, user, body, idempotency_key, request.url.path))


@app.post("/api/v1/deals/{deal_id}/transition")
async def transition_deal(
    deal_id: uuid.UUID, conn: Conn, user: CurrentUser, body: Annotated[dict[str, Any], Body()]
) -> Response:
    return respond(await writes.transition_deal(conn, user, deal_id, body))


IfMatch = Annotated[str | None, Header(alias="If-Match")]


@app.post("/api/v1/quotes/{quote_id}/submit")
async def submit_quote(
    quote_id: uuid.UUID, conn: Conn, user: CurrentUser, if_match: IfMatch = None
) -> Response:
    return respond(await writes.submit_quote(conn, user, quote_id, writes.if_match(if_match)))


@app.post("/api/v1/tickets/{ticket_id}/respond")
async def respond_to_ticket(
    ticket_id: uuid.UUID,
    conn: Conn,
    user: CurrentUser,
    body: Annotated[dict[str, Any], Body()],
    if_match: IfMatch = None,
) -> Response:
    expected = writes.if_match(if_match)
    return respond(await writes.respond_to_ticket(conn, user, ticket_id, expected, body))
