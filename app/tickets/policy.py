"""The SLA policies and calendars tickets run on, and how partners can read them.

One registry for the whole package (requests and the sweeper), looked up when used, so
policy data can later come from configuration without touching the use cases.
"""

from typing import Any

from app.rules.sla_registry import DEFAULT_SLA_REGISTRY, SlaRegistry

REGISTRY: SlaRegistry = DEFAULT_SLA_REGISTRY


def sla_policy_document() -> dict[str, Any]:
    """The SLA policy set in force and its calendars, as JSON (for GET /api/v1/policy)."""
    return REGISTRY.document()
