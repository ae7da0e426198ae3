"""Lead conversion: a qualified lead becomes a customer, a contact and a deal, atomically.

Everything is written on the request's one transaction, so a failure at any step (an
unknown customer, an inactive owner, a concurrent conversion) leaves nothing behind.
"""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.crud import Row, require_reference
from app.core.enums import LeadStatus
from app.core.errors import Conflict, ErrorItem, InvalidInput, RuleViolation
from app.customers import repository as customers_repo
from app.customers import service as customers_service
from app.customers.schemas import ContactCreate, CustomerCreate
from app.deals import service as deals_service
from app.deals.schemas import DealCreate
from app.events.catalogue import EventType
from app.leads.schemas import LeadConvert
from app.leads.service import LEADS, lead_body, load_for_action

_CONVERSION_KINDS = (Kind.leads, Kind.customers, Kind.contacts, Kind.deals)


def _require_convertible(lead: Row) -> None:
    if lead["status"] == LeadStatus.converted:
        raise Conflict(
            f"The lead was already converted into deal {lead['converted_deal_id']}.",
            errors=[ErrorItem("lead_already_converted", "lead is converted", "status")],
        )
    if lead["status"] != LeadStatus.qualified:
        raise Conflict(
            f"Only a qualified lead can be converted; this one is {lead['status']}.",
            errors=[ErrorItem("lead_not_qualified", f"lead is {lead['status']}", "status")],
        )
    if not lead["contact_name"]:
        raise RuleViolation(
            "The lead has no contact name to create the contact from; set it first.",
            errors=[
                ErrorItem("contact_name_required", "set the lead's contact_name", "contact_name")
            ],
        )


async def _existing_customer(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID
) -> Row:
    found = await customers_repo.find_visible_customer(conn, principal, customer_id)
    require_reference(found, "customer_id", "customer", customer_id)
    customer = await customers_repo.customers.get(conn, principal, customer_id)
    if customer["archived_at"] is not None:
        raise InvalidInput(
            f"Customer {customer_id} is archived.",
            errors=[ErrorItem("customer_archived", "customer is archived", "customer_id")],
        )
    return customer


async def _customer_for(
    conn: AsyncConnection, principal: Principal, lead: Row, customer_id: uuid.UUID | None
) -> Row:
    if customer_id is not None:
        return await _existing_customer(conn, principal, customer_id)
    data = CustomerCreate(
        name=lead["company_name"],
        industry=lead["industry"],
        currency=lead["currency"],
        owner_id=lead["owner_id"],
    )
    return await customers_service.create_customer(conn, principal, data)


async def _contact_for(
    conn: AsyncConnection,
    principal: Principal,
    lead: Row,
    customer: Row,
    data: LeadConvert,
    phone_region: str,
) -> Row:
    contact = ContactCreate(
        name=lead["contact_name"],
        title=lead["contact_title"],
        email=lead["email"],
        phone=lead["phone"],
        decision_role=data.decision_role,
    )
    return await customers_service.create_contact(
        conn, principal, customer["id"], contact, phone_region=phone_region
    )


async def _open_deal(
    conn: AsyncConnection, principal: Principal, lead: Row, customer: Row, data: LeadConvert
) -> dict[str, Any]:
    """The deal starts in `development` with the lead's budget and timeline as its forecast."""
    deal = DealCreate(
        name=data.deal_name or lead["company_name"],
        customer_id=customer["id"],
        owner_id=lead["owner_id"],
        amount=lead["budget_amount"],
        currency=lead["currency"],
        expected_close_date=lead["expected_purchase_date"],
        need_description=lead["need_description"],
    )
    return await deals_service.create_deal(conn, principal, deal, lead_id=lead["id"])


async def convert_lead(
    conn: AsyncConnection,
    principal: Principal,
    lead_id: uuid.UUID,
    data: LeadConvert,
    expected_version: int | None,
    *,
    phone_region: str,
) -> dict[str, Any]:
    """Create (or attach to) the customer, then the contact and the deal; mark the lead."""
    for kind in _CONVERSION_KINDS:
        principal.require(kind, "write")
    # Locked, so a concurrent conversion waits and then finds the lead converted (409).
    lead = await load_for_action(conn, principal, lead_id, expected_version)
    _require_convertible(lead)
    customer = await _customer_for(conn, principal, lead, data.customer_id)
    contact = await _contact_for(conn, principal, lead, customer, data, phone_region)
    deal = await _open_deal(conn, principal, lead, customer, data)
    changes = {
        "status": LeadStatus.converted,
        "next_touch_at": None,
        "qualified_at": lead["qualified_at"] or deal["created_at"],
        "converted_at": deal["created_at"],
        "converted_customer_id": customer["id"],
        "converted_contact_id": contact["id"],
        "converted_deal_id": deal["id"],
    }
    row = await LEADS.save(
        conn, principal, lead, changes, EventType.lead_converted, action="converted"
    )
    lead_read = lead_body(row, principal)
    return {"lead": lead_read, "customer": customer, "contact": contact, "deal": deal}
