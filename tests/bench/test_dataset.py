"""The generator is reproducible, fits the schema, and looks like a sales organisation."""

import uuid
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice

import pytest
import sqlalchemy as sa

from app.models import metadata
from app.rules.leads import normalize_email
from app.rules.phones import normalize_phone
from bench.config import SCALES
from bench.dataset import (
    DEAL_COLUMNS,
    QUOTE_VERSION_COLUMNS,
    TABLE_COLUMNS,
    TICKET_COLUMNS,
    Dataset,
    timeline,
    uuid7_at,
)

TINY = SCALES["tiny"]
ANCHOR = date(2026, 11, 1)


def rows(data: Dataset, table: str, n: int | None = None) -> list[tuple]:
    if table == "deals":
        return [b.deal for b in islice(data.deal_batches(), n)]
    source = {
        "customers": data.customer_rows,
        "contacts": data.contact_rows,
        "leads": data.lead_rows,
        "tickets": data.ticket_rows,
    }[table]
    return list(islice(source(), n))


def world(seed: int = 1) -> Dataset:
    """A dataset whose customers and contacts are generated (later tables need them)."""
    data = Dataset(TINY, seed, ANCHOR)
    rows(data, "customers")
    rows(data, "contacts")
    return data


def column(table: str, row: tuple, name: str):
    return row[TABLE_COLUMNS[table].index(name)]


def test_the_same_seed_gives_the_same_rows_and_another_seed_does_not():
    first, again, other = world(7), world(7), world(8)
    for table in ("leads", "deals", "tickets"):
        assert rows(first, table, 50) == rows(again, table, 50)
        assert rows(first, table, 50) != rows(other, table, 50)
    assert first.org.users == again.org.users


def test_ids_are_uuid7_carrying_created_at_in_creation_order():
    data = Dataset(TINY, 3, ANCHOR)
    customers = rows(data, "customers")
    ids = [c[0] for c in customers]
    assert ids == sorted(ids, key=lambda i: i.int >> 80)
    for row in customers[:50]:
        ident, created = row[0], row[1]
        assert isinstance(ident, uuid.UUID) and ident.version == 7
        assert ident.int >> 80 == int(created.timestamp() * 1000)


def test_every_generated_column_exists_and_every_required_one_is_filled():
    for table_name, columns in TABLE_COLUMNS.items():
        table = metadata.tables[table_name]
        assert set(columns) <= set(table.c.keys()), table_name
        required = {c.name for c in table.c if not c.nullable and c.server_default is None}
        assert required <= set(columns), f"{table_name} misses {required - set(columns)}"


def test_enum_columns_only_hold_values_the_check_constraints_allow():
    data = world(5)
    generated = {
        "customers": rows(Dataset(TINY, 5, ANCHOR), "customers"),
        "leads": rows(data, "leads"),
        "deals": rows(data, "deals", 500),
        "tickets": rows(data, "tickets"),
    }
    for table_name, table_rows in generated.items():
        table = metadata.tables[table_name]
        for name in TABLE_COLUMNS[table_name]:
            if isinstance(table.c[name].type, sa.Enum):
                allowed = set(table.c[name].type.enums)
                seen = {column(table_name, r, name) for r in table_rows} - {None}
                assert {str(v) for v in seen} <= allowed, f"{table_name}.{name}: {seen}"


def test_customers_are_skewed_over_reps_and_tiers_follow_the_policy_shares():
    data = Dataset(SCALES["small"], 11, ANCHOR)
    customers = rows(data, "customers")
    owners = Counter(column("customers", r, "owner_id") for r in customers)
    unowned = owners.pop(None)
    assert 0.03 < unowned / len(customers) < 0.07
    busiest, quietest = max(owners.values()), min(owners.values())
    assert busiest > 3 * quietest  # Zipf-skewed, so one rep has a page 20+ deep
    tiers = Counter(str(column("customers", r, "tier")) for r in customers)
    assert 0.55 < tiers["potential"] / len(customers) < 0.65
    assert 0.01 < tiers["strategic"] / len(customers) < 0.05


def test_contacts_cover_every_customer_with_normalized_keys_the_service_would_compute():
    data = Dataset(TINY, 2, ANCHOR)
    rows(data, "customers")
    contacts = rows(data, "contacts")
    per_customer = Counter(column("contacts", c, "customer_id") for c in contacts)
    assert set(per_customer) == set(data.customers.ids)
    assert set(per_customer.values()) <= {1, 2, 3}
    assert 1.3 < len(contacts) / len(per_customer) < 1.7
    for c in contacts[:100]:
        assert column("contacts", c, "email_normalized") == normalize_email(
            column("contacts", c, "email")
        )
        assert column("contacts", c, "phone_normalized") == normalize_phone(
            column("contacts", c, "phone")
        )


def test_old_deals_are_mostly_closed_and_open_ones_thin_out_along_the_pipeline():
    data = world(4)
    deals = rows(data, "deals")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    old = [d for d in deals if (now - d[1]).days > 300]
    young = [d for d in deals if (now - d[1]).days < 30]
    closed = {"won", "lost"}
    assert sum(str(d[7]) in closed for d in old) / len(old) > 0.85
    assert sum(str(d[7]) in closed for d in young) / len(young) < 0.25
    stages = Counter(str(d[7]) for d in deals if str(d[7]) not in closed)
    assert stages["development"] > stages["initiation"] > stages["implementation"]
    for d in deals:
        assert d[DEAL_COLUMNS.index("stage_changed_at")] >= d[1]
        if str(d[7]) == "lost":
            assert d[DEAL_COLUMNS.index("lost_reason")] is not None


def test_quotes_are_priced_and_fingerprinted_like_the_rules_service_does():
    data = world(6)
    batches = [b for b in data.deal_batches() if b.quotes]
    assert batches
    assert any(len(b.quotes) > 1 for b in batches)  # a proposal's alternatives, in draft
    for batch in batches[:30]:
        assert len(batch.quotes) == len(batch.quote_versions)
        for row in batch.quote_versions:
            version = dict(zip(QUOTE_VERSION_COLUMNS, row, strict=True))
            lines = [line for line in batch.quote_lines if line[1] == version["id"]]
            assert version["subtotal"] == sum((line[-1] for line in lines), Decimal(0))
            assert version["total"] <= version["list_total"]
            assert version["effective_discount_pct"] <= 5  # within a rep's own authority
            assert len(version["fingerprint"]) == 64


def test_open_tickets_have_a_running_clock_and_closed_ones_do_not():
    data = world(9)
    for t in rows(data, "tickets"):
        status = str(t[TICKET_COLUMNS.index("status")])
        due = t[TICKET_COLUMNS.index("next_due_at")]
        if status in ("new", "open", "reopened"):
            assert due is not None
        if status in ("resolved", "closed", "pending_customer"):
            assert due is None


def test_timeline_is_ascending_exact_and_denser_towards_the_end():
    import random

    start, end = 0.0, 100 * 86_400.0
    instants = list(timeline(random.Random(1), 10_000, start, end))
    assert len(instants) == 10_000
    assert instants == sorted(instants)
    assert start <= instants[0] and instants[-1] <= end
    first_half = sum(1 for t in instants if t < end / 2)
    assert 0.3 < first_half / len(instants) < 0.45  # growth: more recent, more rows


@pytest.mark.parametrize("seconds", [0.0, 1_700_000_000.123, 1_800_000_000.999])
def test_uuid7_at_encodes_the_millisecond_timestamp(seconds):
    import random

    ident = uuid7_at(seconds, random.Random(0))
    assert ident.version == 7 and ident.variant == uuid.RFC_4122
    assert ident.int >> 80 == int(seconds * 1000)


def test_the_fresh_intake_is_new_assigned_and_on_a_running_first_response_clock():
    data = world(11)
    intake = list(data.intake_rows())
    assert len(intake) == TINY.intake_tickets
    column = {name: TICKET_COLUMNS.index(name) for name in TICKET_COLUMNS}
    now = datetime.combine(ANCHOR, datetime.min.time(), UTC)
    for ticket, event in intake:
        reported = ticket[column["reported_at"]]
        assert str(ticket[column["status"]]) == "new"
        assert ticket[column["assignee_id"]] in data.org.agents
        assert ticket[column["first_responded_at"]] is None
        assert 0 <= (now - reported).total_seconds() <= 20 * 60
        # The first response is due within the hour (30 min for complaints), from the report.
        due = ticket[column["first_response_due_at"]]
        assert 0 < (due - reported).total_seconds() <= 3600
        assert ticket[column["resolution_due_at"]] > due
        assert (event[1], str(event[3]), event[5]) == (ticket[0], "started", reported)
