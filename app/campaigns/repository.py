"""Every query for campaigns: organisation-wide records, readable by anyone who reads leads."""

import sqlalchemy as sa

from app.campaigns.schemas import CampaignRead
from app.core.errors import Conflict
from app.core.pagination import sort_keys
from app.core.problems import register_constraint
from app.models import Campaign
from app.users.repository import AdminRepository

campaigns_table: sa.Table = Campaign.__table__  # type: ignore[attr-defined]

NAME_TAKEN = "A campaign with this name already exists."
register_constraint("uq_campaigns_name", Conflict, NAME_TAKEN, "name")

campaigns = AdminRepository(
    campaigns_table, "campaign", list(CampaignRead.model_fields), lambda _: sa.true()
)

CAMPAIGN_SORTS = sort_keys(
    ("created_at", ("created_at",)), ("starts_on", ("starts_on",)), ("name", ("name",))
)
