import pytest

from tests.factories import make_deal, make_quote
from tests.quotes.conftest import customer_id, manager, rep, team

__all__ = ["customer_id", "deal_id", "manager", "quote", "rep", "team"]


@pytest.fixture
async def deal_id(conn, rep, customer_id):
    """A deal in negotiation: the stage a contract is signed in."""
    return await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="negotiation")


@pytest.fixture
async def quote(conn, rep, deal_id, customer_id):
    """A quote the customer accepted: 10,000.00 CNY."""
    return await make_quote(
        conn,
        deal_id=deal_id,
        owner_id=rep.id,
        customer_id=customer_id,
        status="accepted",
        unit_list_price="10000.00",
    )
