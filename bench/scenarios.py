"""What the benchmark measures: one small declarative entry per endpoint.

Adding a scenario is adding an entry to `SCENARIOS`:
- `route` is the service's route template; a scenario whose route is not registered in
  `app.main.create_app()` is skipped (endpoints land one by one);
- `samples` is SQL run once against the bench database; each row fills the `$name`
  placeholders of `url` and `body` (string.Template), and its `as_user` column names
  the user whose token sends that request;
- `body` is sent as JSON; `__N__` in it becomes a number unique to each request (so
  created records do not collide as duplicates), and `idempotent` adds a unique
  `Idempotency-Key`;
- `sequential` walks the sample rows in order instead of at random: actions that change
  a record's state use each record once per pass; with `alternate_body`, odd passes
  send that body instead (e.g. move the deal back), so a pool is never used up;
- `restore` / `purge` put the database back after every run of a write scenario;
- `deep_pages` follows `next_cursor` that many pages (through the service) before the
  run and measures that page;
- `baseline=False` measures the service alone (ratio n/a) until the baseline serves it.
"""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Restore:
    """Rows of `table` whose `column` is a sample's `sample_key` are put back after a run."""

    table: str
    column: str
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
    idempotent: bool = False
    sequential: bool = False
    deep_pages: int = 0
    restore: tuple[Restore, ...] = ()
    purge: tuple[Purge, ...] = ()
    baseline: bool = True

    @property
    def is_list(self) -> bool:
        return self.method == "GET" and "{" not in self.route.rsplit("/", 1)[-1]


DIRECTOR = "(SELECT id FROM users WHERE role = 'director' ORDER BY id LIMIT 1)"
BUSIEST_REP = (
    "SELECT owner_id, owner_id AS as_user FROM customers WHERE owner_id IS NOT NULL "
    "AND archived_at IS NULL GROUP BY owner_id ORDER BY count(*) DESC, owner_id LIMIT 1"
)
# Everything a write leaves behind besides the rows it changes.
WRITE_TRAIL = (
    Purge("audit_log", "at"),
    Purge("idempotency_keys", "created_at"),
    Purge("tasks", "created_at"),
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
        restore=(Restore("deals", "id", "deal_id"),),
        purge=(Purge("deal_stage_history", "changed_at", "deal_id", "deal_id"), *WRITE_TRAIL),
    ),
    Scenario(
        name="quote_submit",
        title="Submit a draft quote (quote owner)",
        method="POST",
        route="/api/v1/quotes/{quote_id}/submit",
        url="/api/v1/quotes/$quote_id/submit",
        kind="write",
        samples="SELECT id AS quote_id, owner_id AS as_user FROM quotes WHERE status = 'draft' "
        "ORDER BY md5(id::text) LIMIT 50000",
        body="{}",
        sequential=True,
        restore=(
            Restore("quotes", "id", "quote_id"),
            Restore("quote_versions", "quote_id", "quote_id"),
        ),
        purge=WRITE_TRAIL,
        baseline=False,
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
