"""Small async factories with keyword defaults: `await make_user(conn, role=Role.manager)`."""

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.clock import utcnow
from app.core.config import Settings
from app.core.enums import Role, Seniority
from app.core.ids import new_id
from app.core.security import hash_password, issue_access_token, new_api_key
from app.models import ApiKey, Customer, Team, User

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)


@dataclass(frozen=True)
class Actor:
    id: uuid.UUID
    role: Role | None
    email: str | None
    headers: dict[str, str]
    team_id: uuid.UUID | None = None


def _table(model: Any) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


async def insert(conn: AsyncConnection, model: Any, **values: Any) -> dict[str, Any]:
    now = utcnow()
    table = _table(model)
    row = {"id": new_id(), **values}
    if "created_at" in table.c:
        row.setdefault("created_at", now)
        row.setdefault("updated_at", now)
    await conn.execute(table.insert().values(row))
    return row


async def make_team(conn: AsyncConnection, *, name: str | None = None) -> uuid.UUID:
    row = await insert(conn, Team, name=name or f"team-{uuid.uuid4().hex[:8]}")
    return row["id"]  # type: ignore[no-any-return]


async def make_user(
    conn: AsyncConnection,
    settings: Settings,
    *,
    role: Role = Role.rep,
    team_id: uuid.UUID | None = None,
    seniority: Seniority = Seniority.standard,
    is_active: bool = True,
    name: str | None = None,
) -> Actor:
    email = f"{role.value}-{uuid.uuid4().hex[:10]}@example.com"
    row = await insert(
        conn,
        User,
        email=email,
        name=name or f"{role.value.title()} {email[:6]}",
        role=role,
        seniority=seniority,
        team_id=team_id,
        is_active=is_active,
        password_hash=_PASSWORD_HASH,
    )
    token, _ = issue_access_token(settings, row["id"], utcnow())
    return Actor(row["id"], role, email, {"Authorization": f"Bearer {token}"}, team_id)


async def make_api_key(conn: AsyncConnection, *, scopes: list[str], **extra: Any) -> Actor:
    secret, prefix, digest = new_api_key()
    row = await insert(
        conn, ApiKey, name="partner", prefix=prefix, key_hash=digest, scopes=scopes, **extra
    )
    return Actor(row["id"], None, None, {"X-API-Key": secret})


async def make_customer(
    conn: AsyncConnection, *, owner_id: uuid.UUID | None, **values: Any
) -> uuid.UUID:
    values.setdefault("name", f"Customer {uuid.uuid4().hex[:6]}")
    row = await insert(conn, Customer, owner_id=owner_id, tags=[], **values)
    return row["id"]  # type: ignore[no-any-return]


async def make_contact(
    conn: AsyncConnection, *, customer_id: uuid.UUID, **values: Any
) -> uuid.UUID:
    from app.models import Contact
    from app.rules.leads import normalize_email
    from app.rules.phones import normalize_phone

    values.setdefault("name", f"Contact {uuid.uuid4().hex[:6]}")
    values.setdefault("email_normalized", normalize_email(values.get("email")))
    values.setdefault("phone_normalized", normalize_phone(values.get("phone")))
    row = await insert(conn, Contact, customer_id=customer_id, **values)
    return row["id"]  # type: ignore[no-any-return]


async def make_lead(
    conn: AsyncConnection, *, owner_id: uuid.UUID | None, **values: Any
) -> uuid.UUID:
    """A lead row as stored; `status="qualified"` with contact fields is ready to convert.

    A qualified or converted lead has its `qualified_at`, as the status flow records it.
    """
    from app.models import Lead
    from app.rules.leads import normalize_email
    from app.rules.phones import normalize_phone

    if values.get("status") in ("qualified", "converted"):
        reached = values.get("converted_at") or values.get("created_at") or utcnow()
        values.setdefault("qualified_at", reached)
    values.setdefault("company_name", f"Lead Co {uuid.uuid4().hex[:6]}")
    values.setdefault("source", "website_form")
    values.setdefault("email_normalized", normalize_email(values.get("email")))
    values.setdefault("phone_normalized", normalize_phone(values.get("phone")))
    row = await insert(
        conn, Lead, owner_id=owner_id, qualification_evidence=[], duplicate_of=[], **values
    )
    return row["id"]  # type: ignore[no-any-return]


async def make_deal(
    conn: AsyncConnection, *, owner_id: uuid.UUID | None, **values: Any
) -> uuid.UUID:
    """A deal row as stored (stage `development` unless given), without history rows."""
    from app.models import Deal

    values.setdefault("name", f"Deal {uuid.uuid4().hex[:6]}")
    values.setdefault("stage", "development")
    values.setdefault("stage_changed_at", utcnow())
    row = await insert(conn, Deal, owner_id=owner_id, **values)
    return row["id"]  # type: ignore[no-any-return]


async def make_task(
    conn: AsyncConnection, *, assignee_id: uuid.UUID | None, **values: Any
) -> uuid.UUID:
    from app.models import Task

    values.setdefault("title", f"Task {uuid.uuid4().hex[:6]}")
    values.setdefault("kind", "general")
    values.setdefault("status", "open")
    row = await insert(conn, Task, assignee_id=assignee_id, **values)
    return row["id"]  # type: ignore[no-any-return]


async def make_quote(
    conn: AsyncConnection,
    *,
    deal_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    customer_id: uuid.UUID | None = None,
    status: str = "draft",
    unit_list_price: str = "1000.00",
    quantity: str = "1",
    header_discount_pct: str = "0",
    **version: Any,
) -> dict[str, Any]:
    """A one-line quote whose version 1 is stored in `status`, priced like the service does.

    Extra keywords land on the version (`submitted_at=...`, `required_approver_role=...`).
    Returns `{"quote_id", "version_id", "total"}`.
    """
    from datetime import timedelta
    from decimal import Decimal

    from app.models import Quote, QuoteLineItem, QuoteVersion
    from app.quotes.pricing import Content, priced, rule_lines

    content = Content(
        lines=rule_lines(
            [
                {
                    "sku": "SKU-1",
                    "description": "Conveyor",
                    "quantity": quantity,
                    "unit_list_price": unit_list_price,
                    "line_discount_pct": "0",
                }
            ]
        ),
        currency="CNY",
        valid_until=version.pop("valid_until", utcnow().date() + timedelta(days=30)),
        terms=None,
        header_discount_pct=Decimal(header_discount_pct),
        policy_discount_pct=Decimal(0),
        policy_discount_reason=None,
    )
    values, lines = priced(content)
    quote = await insert(
        conn,
        Quote,
        deal_id=deal_id,
        customer_id=customer_id,
        owner_id=owner_id,
        title=f"Quote {uuid.uuid4().hex[:6]}",
        status=status,
        current_version_no=1,
    )
    if status not in ("draft", "pending_approval"):
        version.setdefault("approved_fingerprint", values["fingerprint"])
    row = await insert(
        conn, QuoteVersion, quote_id=quote["id"], number=1, status=status, **values, **version
    )
    for line in lines:
        await insert(conn, QuoteLineItem, quote_version_id=row["id"], **line)
    return {"quote_id": quote["id"], "version_id": row["id"], "total": values["total"]}


async def make_stage_history(
    conn: AsyncConnection, *, deal_id: uuid.UUID, moves: list[tuple[str, Any]]
) -> None:
    """A deal's stage history: `moves` are `(to_stage, changed_at)` in order, the first
    one the deal's opening (from no stage)."""
    from app.deals import stays
    from app.models import Deal, DealStageChange

    deals = Deal.__table__  # type: ignore[attr-defined]
    owner_id = (
        await conn.execute(sa.select(deals.c.owner_id).where(deals.c.id == deal_id))
    ).scalar_one()
    previous = None
    for to_stage, at in moves:
        await insert(
            conn,
            DealStageChange,
            deal_id=deal_id,
            from_stage=previous,
            to_stage=to_stage,
            changed_at=at,
        )
        await stays.record_move(
            conn, deal_id=deal_id, owner_id=owner_id, from_stage=previous, to_stage=to_stage, at=at
        )
        previous = to_stage


async def make_contract_for(
    conn: AsyncConnection,
    *,
    deal_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    amount: str,
    status: str = "accepted",
    currency: str = "CNY",
) -> uuid.UUID:
    """A contract made from an accepted one-line quote of `amount` for the deal."""
    from decimal import Decimal

    from app.models import Contract

    quote = await make_quote(
        conn, deal_id=deal_id, owner_id=owner_id, status="accepted", unit_list_price=amount
    )
    row = await insert(
        conn,
        Contract,
        title=f"Contract {uuid.uuid4().hex[:6]}",
        quote_id=quote["quote_id"],
        quote_version_id=quote["version_id"],
        deal_id=deal_id,
        owner_id=owner_id,
        status=status,
        amount=Decimal(amount),
        currency=currency,
    )
    return row["id"]  # type: ignore[no-any-return]


async def make_ticket_row(
    conn: AsyncConnection, *, customer_id: uuid.UUID, reported_at: Any, **values: Any
) -> uuid.UUID:
    """A ticket row as stored (SLA due times and outcomes as given), without clock events."""
    from app.models import Ticket

    values.setdefault("subject", f"Ticket {uuid.uuid4().hex[:6]}")
    values.setdefault("type", "usage_question")
    values.setdefault("status", "open")
    row = await insert(conn, Ticket, customer_id=customer_id, reported_at=reported_at, **values)
    return row["id"]  # type: ignore[no-any-return]


async def make_activity_row(
    conn: AsyncConnection, *, owner_id: uuid.UUID | None, occurred_at: Any, **values: Any
) -> uuid.UUID:
    from app.models import Activity

    values.setdefault("kind", "call")
    values.setdefault("summary", "Follow-up")
    row = await insert(
        conn, Activity, owner_id=owner_id, occurred_at=occurred_at, details={}, **values
    )
    return row["id"]  # type: ignore[no-any-return]


async def make_campaign(conn: AsyncConnection, *, name: str, **values: Any) -> uuid.UUID:
    from datetime import date

    from app.models import Campaign

    values.setdefault("channel", "trade_show")
    values.setdefault("starts_on", date(2026, 1, 1))
    row = await insert(conn, Campaign, name=name, **values)
    return row["id"]  # type: ignore[no-any-return]
