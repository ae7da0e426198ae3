"""What a won deal earned: its accepted contracts, or else its own estimate.

A customer's tier (the M of RFM) and the reports' revenue read the same lines, so a sale
counts at the same amount, in the same currency, wherever it is shown.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from app.core.enums import ContractStatus, DealStage
from app.models import Contract, Deal

deals: sa.Table = Deal.__table__  # type: ignore[attr-defined]
contracts: sa.Table = Contract.__table__  # type: ignore[attr-defined]

# A won deal's contract has been accepted (and maybe closed since); its amount is the
# accepted quote version's total, so superseded versions never count.
EARNING_CONTRACT = (ContractStatus.accepted, ContractStatus.closed)


def revenue_lines(
    columns: Sequence[sa.ColumnElement[Any]], where: Sequence[sa.ColumnElement[bool]]
) -> sa.CompoundSelect[Any]:
    """The won deals matching `where` (on `deals`), one line per earning contract in the
    contract's currency, or one line at the deal's estimated amount in the deal's currency
    for a deal won without one (imported, or closed before contracts were kept).

    Each line carries `columns` (expressions on `deals`), then `currency`, `amount` (NULL
    for a deal with no amount at all) and `estimated` (1 for a priced estimate, else 0).
    """
    earning = sa.and_(contracts.c.deal_id == deals.c.id, contracts.c.status.in_(EARNING_CONTRACT))
    won = [deals.c.stage == DealStage.won, *where]
    by_contract = (
        sa.select(
            *columns,
            contracts.c.currency,
            contracts.c.amount,
            sa.literal_column("0").label("estimated"),
        )
        .select_from(deals.join(contracts, earning))
        .where(*won)
    )
    by_estimate = sa.select(
        *columns,
        deals.c.currency,
        deals.c.amount,
        sa.case((deals.c.amount.is_not(None), 1), else_=0).label("estimated"),
    ).where(*won, ~sa.exists().where(earning))
    return sa.union_all(by_contract, by_estimate)
