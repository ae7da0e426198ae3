"""Every query for contracts and what hangs off them: milestones, deliveries, change requests."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contracts.schemas import ChangeRequestRead, ContractRead, DeliveryRecord, MilestoneRecord
from app.core import statements
from app.core.access import Kind
from app.core.crud import Page, Row, TableRepository, all_dicts, first_dict
from app.core.errors import Conflict, not_found
from app.core.ids import new_id
from app.core.pagination import SortKey, decode_cursor, keyset_clause, order_by, page, sort_keys
from app.core.problems import register_constraint
from app.deals.repository import deals, deals_table
from app.models import Contract, ContractChangeRequest, Delivery, PaymentMilestone

contracts_table: sa.Table = Contract.__table__  # type: ignore[attr-defined]
milestones_table: sa.Table = PaymentMilestone.__table__  # type: ignore[attr-defined]
deliveries_table: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
changes_table: sa.Table = ContractChangeRequest.__table__  # type: ignore[attr-defined]

contracts = TableRepository(
    contracts_table, Kind.contracts, "contract", list(ContractRead.model_fields)
)

CONTRACT_SORTS = sort_keys(("created_at", ("created_at",)), ("updated_at", ("updated_at",)))

register_constraint(
    "uq_contracts_quote_version_id",
    Conflict,
    "A contract already exists for this quote version.",
    "quote_id",
)


class Children:
    """Reads and writes one kind of record that belongs to a contract."""

    def __init__(self, table: sa.Table, label: str, read_columns: Sequence[str], order: str):
        self.table = table
        self.label = label
        self.columns = [table.c[name] for name in read_columns]
        self.sort = SortKey(order, (order,))
        # A versioned child moves to its next version with every change (one expression,
        # so the prebuilt UPDATE is one shape per set of columns).
        self._next_version = table.c.version + 1 if "version" in table.c else None

    async def of(self, conn: AsyncConnection, contract_id: uuid.UUID) -> list[Row]:
        statement = (
            sa.select(*self.columns)
            .where(self.table.c.contract_id == contract_id)
            .order_by(*order_by(self.table, self.sort))
        )
        return list((await conn.execute(statement)).mappings().all())

    async def page(
        self, conn: AsyncConnection, contract_id: uuid.UUID, *, cursor: str | None, limit: int
    ) -> Page:
        """One page of a contract's children, in the same order as `of`."""
        statement = sa.select(*self.columns).where(self.table.c.contract_id == contract_id)
        if cursor:
            after = decode_cursor(cursor, self.sort)
            statement = statement.where(keyset_clause(self.table, self.sort, after))
        statement = statement.order_by(*order_by(self.table, self.sort)).limit(limit + 1)
        items, next_cursor = page(all_dicts(await conn.execute(statement)), limit, self.sort)
        return Page(items, next_cursor)

    async def get(self, conn: AsyncConnection, contract_id: uuid.UUID, ident: uuid.UUID) -> Row:
        """One child of a contract the caller already holds; 404 for another contract's."""
        statement = sa.select(*self.columns).where(
            self.table.c.id == ident, self.table.c.contract_id == contract_id
        )
        row = (await conn.execute(statement)).mappings().first()
        if row is None:
            raise not_found(self.label, ident)
        return row

    def insert_statement(
        self, contract_id: uuid.UUID, rows: Sequence[Mapping[str, Any]], at: datetime
    ) -> sa.Insert:
        """One INSERT of all `rows`, for the caller to run with the change they belong to."""
        stamps = {"contract_id": contract_id, "created_at": at, "updated_at": at}
        return self.table.insert().values([{"id": new_id(), **stamps, **row} for row in rows])

    async def insert(
        self, conn: AsyncConnection, contract_id: uuid.UUID, values: Mapping[str, Any], at: datetime
    ) -> Row:
        stamps = {"id": new_id(), "contract_id": contract_id, "created_at": at, "updated_at": at}
        statement = self.table.insert().values(**stamps, **values).returning(*self.columns)
        return (await conn.execute(statement)).mappings().one()

    async def update(
        self, conn: AsyncConnection, ident: uuid.UUID, values: Mapping[str, Any], at: datetime
    ) -> Row:
        changes = dict(values, updated_at=at)
        if self._next_version is not None:
            changes["version"] = self._next_version
        write = statements.update_by_id(self.table, ident, changes, returning=self.columns)
        row = first_dict(await statements.run(conn, write))
        assert row is not None, "a child the caller holds under its locked contract"
        return row


milestones = Children(
    milestones_table, "payment milestone", list(MilestoneRecord.model_fields), "position"
)
deliveries = Children(deliveries_table, "delivery", list(DeliveryRecord.model_fields), "created_at")
change_requests = Children(
    changes_table, "change request", list(ChangeRequestRead.model_fields), "created_at"
)


async def lock_deal(conn: AsyncConnection, deal_id: uuid.UUID) -> Row:
    """The contract's deal, locked: its stage moves with the contract, whoever may see it."""
    statement = sa.select(*deals.columns).where(deals_table.c.id == deal_id).with_for_update()
    return (await conn.execute(statement)).mappings().one()
