"""Contract review, approval, signing, closing and termination.

draft → in_review → approved → signed (the deal moves to implementation) → … → accepted →
closed, or terminated with a reason. Each action locks the contract, checks `If-Match`,
asks the rules service, and writes the audit trail in the request's one transaction.
"""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.contracts.service import advance_deal, apply, check, lock
from app.core.access import Principal
from app.core.clock import utcnow
from app.core.enums import Role
from app.core.errors import ErrorItem, Forbidden
from app.rules.contracts import ContractAction


async def submit_for_review(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, version: int | None
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    check(contract, ContractAction.submit_for_review)
    changes = {"submitted_for_review_at": utcnow()}
    return await apply(conn, principal, contract, ContractAction.submit_for_review, changes)


async def return_to_draft(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, version: int | None
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    check(contract, ContractAction.return_to_draft)
    changes = {"submitted_for_review_at": None}
    return await apply(conn, principal, contract, ContractAction.return_to_draft, changes)


async def approve_contract(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, version: int | None
) -> dict[str, Any]:
    principal.require_role(Role.manager, Role.director, Role.admin, action="approve a contract")
    contract = await lock(conn, principal, contract_id, version)
    check(contract, ContractAction.approve)
    if contract["owner_id"] == principal.id:
        raise Forbidden(
            "No one may approve their own contract.",
            errors=[ErrorItem("approval.self_approval", "you own this contract")],
        )
    changes = {"approved_at": utcnow(), "approved_by": principal.id}
    return await apply(conn, principal, contract, ContractAction.approve, changes)


async def sign_contract(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, version: int | None
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    check(contract, ContractAction.sign)
    now = utcnow()
    await advance_deal(conn, principal, contract, ContractAction.sign, now)
    return await apply(conn, principal, contract, ContractAction.sign, {"signed_at": now})


async def close_contract(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, version: int | None
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    check(contract, ContractAction.close)
    return await apply(conn, principal, contract, ContractAction.close, {"closed_at": utcnow()})


async def terminate_contract(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    reason: str,
    version: int | None,
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    check(contract, ContractAction.terminate, reason)
    changes = {"terminated_at": utcnow(), "termination_reason": reason}
    return await apply(conn, principal, contract, ContractAction.terminate, changes)
