"""Every operation on a record, by everyone who might call it.

The operations come from the running app's OpenAPI document, so a route that lands later
joins the matrix by itself (and fails it until its path parameters are known here). For
each caller the outcome is one of: refused for the kind of record (403), not there (the
answer a random id gets, to the byte), or let through to the use case. Writes carry a
stale If-Match, so a caller who gets through changes nothing.
"""

import re
import uuid
from typing import Any

import pytest

from tests.auth.conftest import Company

# Which path parameter names which of the company's records (or people).
PARAMETERS = {
    "customer_id": "customer",
    "contact_id": "contact",
    "lead_id": "lead",
    "deal_id": "deal",
    "ticket_id": "ticket",
    "activity_id": "activity",
    "quote_id": "quote",
    "number": "version_number",
    "contract_id": "contract",
    "delivery_id": "delivery",
    "milestone_id": "milestone",
    "change_id": "change",
    "task_id": "task",
    "user_id": "east_rep_user",
    "team_id": "east",
    "key_id": "key_read_id",
    "campaign_id": "campaign",
    "endpoint_id": "webhook_endpoint",
}
# A parameter whose record depends on the resource it is under.
NESTED_PARAMETERS = {("webhook-endpoints", "delivery_id"): "webhook_delivery"}

EVERYONE = (
    "east_rep",
    "east_teammate",
    "east_manager",
    "west_rep",
    "west_manager",
    "director",
    "agent",
    "key_all",
    "key_read",
    "key_form",
    "key_none",
    "admin",
)
SALES = frozenset(
    {"leads", "customers", "contacts", "deals", "quotes", "contracts", "tickets", "tasks"}
) | {"activities"}
ALL_SEEING = frozenset({"east_rep", "east_manager", "director", "admin", "key_all", "key_read"})

# What each caller may do with each kind at all (the domain's role table and key scopes).
AGENT_KINDS = {
    "tickets": "rw",
    "customers": "r",
    "contacts": "r",
    "activities": "rw",
    "tasks": "rw",
}


def may(actor: str, kind: str, mode: str) -> bool:
    if actor in ("key_form", "key_none"):
        return False
    if actor == "key_read":
        return mode == "r"
    if actor == "agent":
        return mode in AGENT_KINDS.get(kind, "")
    return True


def sees(actor: str, kind: str) -> bool:
    """East's rep's records: the rep, their manager, directors, admins and full keys see
    them all; an agent the customer they support and what hangs off it; nobody else."""
    if actor in ALL_SEEING:
        return True
    return actor == "agent" and kind in ("tickets", "customers", "contacts", "activities")


def admin_outcome(actor: str, kind: str, method: str) -> str:
    """Users, teams, keys and campaigns: administration and company-wide data."""
    reading = method == "GET"
    if kind == "campaigns":  # read with the leads, kept by managers and above
        if reading:
            return "through" if actor not in ("agent", "key_form", "key_none") else "refused"
        return (
            "through"
            if actor in ("east_manager", "west_manager", "director", "admin")
            else "refused"
        )
    if kind in ("api-keys", "webhook-endpoints") or actor.startswith("key_") or not reading:
        return "through" if actor == "admin" else "refused"
    # East's rep and East itself: seen by the rep, the team (a team by its members), and
    # the directors and admins.
    seeing = {"east_rep", "east_manager", "director", "admin"}
    if kind == "teams":
        seeing.add("east_teammate")
    return "through" if actor in seeing else "hidden"


def expected(actor: str, kind: str, method: str) -> str:
    if kind not in SALES:
        return admin_outcome(actor, kind, method)
    if not may(actor, kind, "r" if method == "GET" else "w"):
        return "refused"
    return "through" if sees(actor, kind) else "hidden"


def _kind(path: str) -> str:
    parts = path.removeprefix("/api/v1/").split("/")
    if parts[0] == "customers" and len(parts) > 2 and parts[2] == "contacts":
        return "contacts"
    return parts[0]


def _operations(app) -> list[tuple[str, str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    spec = app.openapi()
    operations = []
    for path, methods in spec["paths"].items():
        if "{" not in path:
            continue
        for method, operation in methods.items():
            operations.append((method.upper(), path, operation))
    return operations


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def example(spec: dict[str, Any], schema: dict[str, Any], name: str = "") -> Any:
    """A small value the schema accepts: required fields only, first choices."""
    schema = _resolve(spec, schema)
    for union in ("anyOf", "oneOf", "allOf"):
        if union in schema:
            options = [o for o in schema[union] if _resolve(spec, o).get("type") != "null"]
            return example(spec, options[0], name)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        props = schema.get("properties", {})
        return {key: example(spec, props[key], key) for key in required if key in props}
    if kind == "array":
        return [example(spec, schema["items"], name) for _ in range(schema.get("minItems", 0))]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("format") == "date-time":
        return "2026-12-01T09:00:00Z"
    if schema.get("format") == "date":
        return "2026-12-31"
    if "pattern" in schema and "\\d" in schema["pattern"]:
        return "1.00"
    return "Matrix " + name


def _body(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return {}
    return {"json": example(spec, content["application/json"]["schema"])}


def _fill(path: str, ids: dict[str, str], *, hide: bool) -> tuple[str, str]:
    """The path with the company's ids; with `hide`, its record's id replaced by a random
    one. Returns the path and the id of the record it names."""
    names = re.findall(r"\{([^}]+)\}", path)
    unknown = [n for n in names if n not in PARAMETERS]
    assert not unknown, f"{path}: add {unknown} to PARAMETERS"
    kind = _kind(path)
    records = [NESTED_PARAMETERS.get((kind, name), PARAMETERS[name]) for name in names]
    target = ids[records[0]]
    for position, (name, record) in enumerate(zip(names, records, strict=True)):
        value = ids[record]
        if hide and position == 0:
            value = str(uuid.uuid4())
        path = path.replace("{" + name + "}", value, 1)
    return path, target


def _normal(response, *ids: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    text = response.text
    for ident in ids:
        text = text.replace(ident, "{id}")
    return response.status_code, re.sub(r'"instance":"[^"]*"', "", text)


async def _ids(conn, company: Company) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from tests.factories import make_campaign

    ids = {name: str(value) for name, value in company.ids.items()}
    ids["version_number"] = "1"
    ids["east_rep_user"] = str(company["east_rep"].id)
    ids["key_read_id"] = str(company["key_read"].id)
    ids["campaign"] = str(await make_campaign(conn, name=f"Matrix {uuid.uuid4().hex[:6]}"))
    endpoint, delivery = await _webhook_delivery(conn)
    ids["webhook_endpoint"], ids["webhook_delivery"] = str(endpoint), str(delivery)
    return ids


async def _webhook_delivery(conn) -> tuple[uuid.UUID, uuid.UUID]:  # type: ignore[no-untyped-def]
    """An endpoint (at a reserved address: a test send is refused, never sent) with one
    delivery waiting."""
    from app.core.clock import utcnow
    from app.models import WebhookDelivery, WebhookEndpoint
    from tests.factories import insert

    endpoint = await insert(
        conn, WebhookEndpoint, url="https://192.0.2.1/hook", event_types=["*"], secret="whsec_x"
    )
    delivery = uuid.uuid4()
    await conn.execute(
        WebhookDelivery.__table__.insert().values(  # type: ignore[attr-defined]
            id=delivery,
            endpoint_id=endpoint["id"],
            event_id=uuid.uuid4(),
            event_type="deal.created",
            event_txid=1,
            event_seq=1,
            event_occurred_at=utcnow(),
            created_at=utcnow(),
        )
    )
    return endpoint["id"], delivery


def _matches(want: str, response) -> bool:  # type: ignore[no-untyped-def]
    """Whether the answer is what `want` means (a hidden record is compared separately)."""
    status = response.status_code
    if want == "refused":
        return status == 403
    if want == "hidden":
        return status in (403, 404)
    if status == 403:
        # Past access: a business rule may still say no (only a manager approves...).
        codes = {e["code"] for e in response.json().get("errors", [])}
        return "insufficient_permission" not in codes
    return status not in (401, 404)


@pytest.mark.parametrize("actor", EVERYONE)
async def test_every_record_operation_for_every_caller(app, client, conn, company, actor):
    spec = app.openapi()
    ids = await _ids(conn, company)
    headers = {**company[actor].headers, "If-Match": '"999999"'}
    mismatches = []
    for method, template, operation in _operations(app):
        kind = _kind(template)
        body = _body(spec, operation)
        path, target = _fill(template, ids, hide=False)
        response = await client.request(method, path, headers=headers, **body)
        assert response.status_code < 500, (method, path, response.text)
        want = expected(actor, kind, method)
        if not _matches(want, response):
            mismatches.append((method, template, want, response.status_code, response.text[:200]))
        if want == "hidden":
            random_path, _ = _fill(template, ids, hide=True)
            unseen = await client.request(method, random_path, headers=headers, **body)
            random_id = random_path.split("/")[4]
            if _normal(response, target) != _normal(unseen, random_id):
                mismatches.append((method, template, "like a random id", response.text[:200]))
    assert not mismatches, "\n".join(map(str, mismatches))
