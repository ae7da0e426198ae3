"""What the benchmark measures: one small declarative entry per endpoint.

Adding a scenario is adding an entry to `SCENARIOS`:
- `route` is the service's route template; a scenario whose route is not registered in
  `app.main.create_app()` is skipped (endpoints land one by one);
- `samples` is SQL run once against the bench database; each row fills the `$name`
  placeholders of `url` and `body` (string.Template), and its `as_user` column names
  the user whose token sends that request;
- `body` is sent as JSON; `__N__` in it becomes a number unique to each request (so
  created records do not collide as duplicates), and `idempotent` adds a unique
  `Idempotency-Key`; `if_match` is the `If-Match` header, filled like the URL;
- `sequential` walks the sample rows in order instead of at random: actions that change
  a record's state use each record once per pass; with `alternate_body`, odd passes
  send that body instead (e.g. move the deal back), so a pool is never used up;
- `restore` / `purge` put the database back after every run of a write scenario, and
  `stage` sets the sampled records up before every run (and before the EXPLAIN gate);
- `deep_pages` follows `next_cursor` that many pages (through the service) before the
  run and measures that page;
- `baseline=False` measures the service alone (ratio n/a) until the baseline serves it.
"""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Restore:
    """Rows of `table` whose `column` is a sample's `sample_key` are put back after a run,
    matched on `key` (the table's primary key)."""

    table: str
    column: str
    sample_key: str
    key: tuple[str, ...] = ("id",)


@dataclass(frozen=True)
class Stage:
    """SQL run before every run of a write scenario: `$1` is the array of the samples'
    `sample_key` values. The tables it changes must be in the scenario's `restore`."""

    sql: str
    sample_key: str


@dataclass(frozen=True)
class Purge:
    """Rows of `table` written during a run (`column` >= its start) are deleted after it.

    With `key`, only rows whose `key` column is one of the samples' `sample_key` values:
    that lets an index on (key, column) find them in a table of millions.
    """

    table: str
    column: str
    key: str | None = None
    sample_key: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    method: Literal["GET", "POST"]
    route: str
    url: str
    samples: str
    kind: Literal["read", "write"] = "read"
    body: str | None = None
    alternate_body: str | None = None
    if_match: str | None = None
    idempotent: bool = False
    sequential: bool = False
    deep_pages: int = 0
    restore: tuple[Restore, ...] = ()
    purge: tuple[Purge, ...] = ()
    stage: Stage | None = None
    baseline: bool = True

    @property
    def is_list(self) -> bool:
        return self.method == "GET" and "{" not in self.route.rsplit("/", 1)[-1]


DIRECTOR = "(SELECT id FROM users WHERE role = 'director' ORDER BY id LIMIT 1)"
BUSIEST_REP = (
    "SELECT owner_id, owner_id AS as_user FROM customers WHERE owner_id IS NOT NULL "
    "AND archived_at IS NULL GROUP BY owner_id ORDER BY count(*) DESC, owner_id LIMIT 1"
)
# Everything a write leaves behind besides the rows it changes: its audit entry, its
# outbox event, the idempotency record, tasks the SOP opened.
WRITE_TRAIL = (
    Purge("audit_log", "at"),
    Purge("events", "occurred_at"),
    Purge("idempotency_keys", "created_at"),
    Purge("tasks", "created_at"),
)
# The fresh intake (bench.dataset.Dataset.intake_rows) was reported in the 20 minutes
# before the dataset's "now": moved as a whole to end a minute before the wall clock's,
# every first response is in time (a late one would also escalate: another scenario's
# work). The minute keeps the moved log apart from what the run itself records.
FRESH_INTAKE = Stage(
    """
    WITH shift AS (
        SELECT now() - interval '1 minute' - max(reported_at) AS by
        FROM tickets WHERE id = ANY($1::uuid[])
    ), moved AS (
        UPDATE tickets t SET created_at = created_at + by, updated_at = updated_at + by,
               reported_at = reported_at + by,
               first_response_due_at = first_response_due_at + by,
               resolution_due_at = resolution_due_at + by, next_due_at = next_due_at + by,
               sla_at_risk_at = sla_at_risk_at + by, sla_next_action_at = sla_next_action_at + by
        FROM shift WHERE t.id = ANY($1::uuid[])
    )
    UPDATE ticket_sla_events e SET at = at + by, recorded_at = recorded_at + by
    FROM shift WHERE e.ticket_id = ANY($1::uuid[])
    """,
    "ticket_id",
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="customer_by_id",
        title="GET customer by id (director)",
        method="GET",
        route="/api/v1/customers/{customer_id}",
        url="/api/v1/customers/$customer_id",
        samples=f"SELECT id AS customer_id, {DIRECTOR} AS as_user FROM customers "
        "ORDER BY md5(id::text) LIMIT 2000",
    ),
    Scenario(
        name="customers_of_owner",
        title="List a rep's own customers, first page (rep)",
        method="GET",
        route="/api/v1/customers",
        url="/api/v1/customers?owner_id=$owner_id",
        samples=BUSIEST_REP,
    ),
    Scenario(
        name="customers_of_owner_deep",
        title="List a rep's own customers, page 1,000 deep (rep)",
        method="GET",
        route="/api/v1/customers",
        url="/api/v1/customers?owner_id=$owner_id",
        samples=BUSIEST_REP,
        deep_pages=1000,
    ),
    Scenario(
        name="customer_search",
        title="Search customers by name prefix, q= (director)",
        method="GET",
        route="/api/v1/customers",
        url="/api/v1/customers?q=$q",
        # What people type: the first 3 to 8 characters of a real name, any case.
        samples=f"SELECT lower(substr(name, 1, 3 + abs(hashtext(id::text)) % 6)) AS q, "
        f"{DIRECTOR} AS as_user FROM customers ORDER BY md5(id::text) LIMIT 500",
    ),
    Scenario(
        name="tickets_of_agent",
        title="An agent's tickets by next SLA due (agent)",
        method="GET",
        route="/api/v1/tickets",
        url="/api/v1/tickets?assignee_id=$assignee_id&sort=next_due_at",
        samples="SELECT u.id AS assignee_id, u.id AS as_user FROM users u "
        "WHERE u.role = 'support_agent' ORDER BY u.id",
    ),
    Scenario(
        name="create_lead",
        title="Create a lead with Idempotency-Key (rep)",
        method="POST",
        route="/api/v1/leads",
        url="/api/v1/leads",
        kind="write",
        samples="SELECT id AS as_user FROM users WHERE role = 'rep' ORDER BY id",
        body='{"source": "website_form", "company_name": "Bench Prospect __N__", '
        '"contact_name": "Li Wei", "email": "bench.__N__@example.org", "owner_id": "$as_user"}',
        idempotent=True,
        purge=(Purge("leads", "created_at"), *WRITE_TRAIL),
    ),
    Scenario(
        name="deal_transition",
        title="Deal transition development <-> initiation (deal owner)",
        method="POST",
        route="/api/v1/deals/{deal_id}/transition",
        url="/api/v1/deals/$deal_id/transition",
        kind="write",
        samples="SELECT id AS deal_id, owner_id AS as_user FROM deals "
        # At most 50,000: wrk's Lua allows 65,536 constants in the data file's chunk.
        "WHERE stage = 'development' AND customer_id IS NOT NULL AND amount IS NOT NULL "
        "AND need_description IS NOT NULL AND expected_close_date IS NOT NULL "
        "ORDER BY md5(id::text) LIMIT 50000",
        body='{"to_stage": "initiation"}',
        # The next pass over the pool moves each deal back (a reason is required), and so on.
        alternate_body='{"to_stage": "development", "reason": "bench: back to development"}',
        sequential=True,
        restore=(
            Restore("deals", "id", "deal_id"),
            Restore("deal_stage_stays", "deal_id", "deal_id", key=("deal_id", "stage")),
        ),
        purge=(
            Purge("deal_stage_history", "changed_at", "deal_id", "deal_id"),
            # A first visit to a stage made during the run: the row did not exist before.
            Purge("deal_stage_stays", "first_arrived_at", "deal_id", "deal_id"),
            *WRITE_TRAIL,
        ),
    ),
    Scenario(
        name="quote_submit",
        title="Submit a draft quote within the rep's authority, If-Match (quote owner)",
        method="POST",
        route="/api/v1/quotes/{quote_id}/submit",
        url="/api/v1/quotes/$quote_id/submit",
        kind="write",
        # Discounts within a rep's own authority (5 %): approved on submit, no approver.
        samples="SELECT q.id AS quote_id, q.version, q.owner_id AS as_user FROM quotes q "
        "JOIN quote_versions v ON v.quote_id = q.id AND v.number = q.current_version_no "
        "JOIN users u ON u.id = q.owner_id AND u.role = 'rep' "
        "WHERE q.status = 'draft' AND v.valid_until >= current_date "
        "AND v.effective_discount_pct <= 5 ORDER BY md5(q.id::text) LIMIT 50000",
        if_match='"$version"',
        sequential=True,
        restore=(
            Restore("quotes", "id", "quote_id"),
            Restore("quote_versions", "quote_id", "quote_id"),
        ),
        purge=WRITE_TRAIL,
    ),
    Scenario(
        name="ticket_respond",
        title="An agent's first public response to a new ticket, If-Match (assignee)",
        method="POST",
        route="/api/v1/tickets/{ticket_id}/respond",
        url="/api/v1/tickets/$ticket_id/respond",
        kind="write",
        samples="SELECT t.id AS ticket_id, t.version, t.assignee_id AS as_user FROM tickets t "
        "JOIN users u ON u.id = t.assignee_id AND u.role = 'support_agent' "
        "WHERE t.status = 'new' AND t.first_responded_at IS NULL AND EXISTS "
        "(SELECT 1 FROM ticket_sla_events e WHERE e.ticket_id = t.id AND e.kind = 'started') "
        "AND NOT EXISTS (SELECT 1 FROM ticket_sla_events e WHERE e.ticket_id = t.id "
        "AND e.kind <> 'started') ORDER BY md5(t.id::text) LIMIT 50000",
        body='{"public": true, "body": "Thanks for reporting this: an engineer is on it."}',
        if_match='"$version"',
        sequential=True,
        stage=FRESH_INTAKE,
        restore=(
            Restore("tickets", "id", "ticket_id"),
            Restore("ticket_sla_events", "ticket_id", "ticket_id"),
        ),
        purge=(Purge("ticket_sla_events", "recorded_at", "ticket_id", "ticket_id"), *WRITE_TRAIL),
    ),
    Scenario(
        name="pipeline_report",
        title="Pipeline funnel report, last quarter (director)",
        method="GET",
        route="/api/v1/reports/funnel",
        url="/api/v1/reports/funnel?from=$start&to=$end_",
        samples=f"SELECT (current_date - 90)::text AS start, current_date::text AS end_, "
        f"{DIRECTOR} AS as_user",
        baseline=False,
    ),
)

BY_NAME = {s.name: s for s in SCENARIOS}
