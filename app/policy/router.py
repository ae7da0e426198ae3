"""The policy the service applies: every SOP number, published for clients to read."""

from typing import Any

from pydantic import Field

from app.core.deps import AppSettings, CurrentPrincipal
from app.core.json import JsonResponse
from app.core.routing import api_router
from app.rules.policy import DEFAULT_POLICY, PolicySet
from app.tickets.policy import sla_policy_document
from app.webhooks.policy import DEFAULT_WEBHOOK_POLICY, WebhookPolicyDocument, policy_document

router = api_router("/api/v1/policy", "policy")


class PolicyDocument(PolicySet):
    sla: dict[str, Any] = Field(
        description="SLA policies (targets per ticket type, tier and priority) and calendars."
    )
    webhooks: WebhookPolicyDocument = Field(
        description="Webhook delivery: the retry schedule, the timeout of an attempt, when a "
        "failing endpoint is disabled and how long the delivery log is kept."
    )


# Policies are immutable for the life of the process: render them once.
_POLICY_JSON = DEFAULT_POLICY.model_dump(mode="json") | {"sla": sla_policy_document()}


@router.get("", response_model=PolicyDocument)
async def get_policy(principal: CurrentPrincipal, settings: AppSettings) -> JsonResponse:
    """The policy in force: stage gates, win probabilities, discount authority, contract,
    lead, customer, task-trigger, SLA and webhook delivery numbers, under one `version`.

    A UI can render the stage-gate checklist or the discount limits from it instead of
    hard-coding them, and a partner can read how its webhook deliveries are retried; when
    any number changes, `version` changes too (except `webhooks.timeout_seconds`, which
    is this installation's `SALESFLOW_WEBHOOK_TIMEOUT_SECONDS`).
    """
    webhooks = policy_document(DEFAULT_WEBHOOK_POLICY, settings.webhook_timeout_seconds)
    return JsonResponse(_POLICY_JSON | {"webhooks": webhooks.model_dump(mode="json")})
