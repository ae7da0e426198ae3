"""Every SOP number the service enforces, bundled under one version string.

Services read `DEFAULT_POLICY.deals`, `DEFAULT_POLICY.quotes`... rather than building their
own defaults, so the policy the API publishes (`GET /api/v1/policy`) is the one it applies,
and a change to any number shows up as a new `version`.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.rules.contracts import ContractPolicy
from app.rules.customers import CustomerPolicy
from app.rules.deals import DealPolicy
from app.rules.leads import LeadPolicy
from app.rules.quotes import QuotePolicy
from app.rules.tasks import TaskTriggerPolicy

POLICY_VERSION = "2026-12-05.1"


class PolicySet(BaseModel):
    """One consistent set of policies; `version` names it in logs, reports and the API."""

    model_config = ConfigDict(frozen=True)

    version: str = Field(default=POLICY_VERSION, min_length=1)
    deals: DealPolicy = Field(default_factory=DealPolicy)
    quotes: QuotePolicy = Field(default_factory=QuotePolicy)
    contracts: ContractPolicy = Field(default_factory=ContractPolicy)
    leads: LeadPolicy = Field(default_factory=LeadPolicy)
    customers: CustomerPolicy = Field(default_factory=CustomerPolicy)
    tasks: TaskTriggerPolicy = Field(default_factory=TaskTriggerPolicy)

    @model_validator(mode="before")
    @classmethod
    def _derive_task_delays(cls, data: Any) -> Any:
        # Task delays left unset follow the lead and customer policies of the same set, so
        # a tuned nurture interval and its nurture-touch task can never disagree.
        if isinstance(data, dict) and "tasks" not in data:
            lead = data.get("leads") or LeadPolicy()
            customer = data.get("customers") or CustomerPolicy()
            if isinstance(lead, LeadPolicy) and isinstance(customer, CustomerPolicy):
                return {**data, "tasks": TaskTriggerPolicy.from_policies(lead, customer)}
        return data


DEFAULT_POLICY = PolicySet()
