"""A seeded, realistic dataset: rows for the real schema, generated as plain tuples.

Nothing here touches a database; `bench.load` streams these rows with COPY. Every table
gets its own random stream derived from one seed, so a scale and a seed always give the
same rows (the anchor date fixes "now"). Ids are UUIDv7 carrying the row's `created_at`,
so primary-key order is creation order, as in production.

Distributions, roughly as a sales organisation looks:
- users: a director, an admin, per team a manager and reps (a third senior), support agents;
- customers: over two years, more recent ones more numerous; owners Zipf-skewed (s=0.5)
  over reps, 5% unassigned; tiers 3/17/60/20 % strategic/growth/potential/dormant;
- contacts: 1-3 per customer (1.5 on average), a quarter covered by a second rep;
- leads: one converted lead per 30% of customers, plus open leads worth 20% of customers;
- deals: customers picked with a bias to older accounts; the older a deal the likelier it
  is closed (40% won, 60% lost); open deals thin out along the pipeline; every stage
  change is in `deal_stage_history`;
- quotes: for some deals that reached the proposal stage, priced by the rules service;
- tickets: over two years, status by age, SLA due times by priority; plus the fresh
  intake (`Scale.intake_tickets`): new tickets reported in the 20 minutes before "now",
  each assigned to an agent, with its SLA clock started and its due times computed by
  the service's own SLA rules, as `POST /tickets` would have stored them.
"""

import bisect
import functools
import itertools
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from asyncpg.pgproto.pgproto import UUID as FastUUID

from app.core.enums import (
    OPEN_DEAL_STAGES,
    CustomerTier,
    DealStage,
    DecisionRole,
    LeadGrade,
    LeadSource,
    LeadStatus,
    LifecycleStage,
    LostReason,
    QuoteStatus,
    RatingLevel,
    Role,
    Seniority,
    SlaEventKind,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from app.rules.customers import compute_grade
from app.rules.quotes import QuoteLine, compute_totals, fingerprint
from app.rules.tickets import queue_for
from bench.config import Scale

Row = tuple[Any, ...]
DAY = 86_400.0
SPAN_DAYS = 730

# ------------------------------------------------------------------ the tables' columns


def words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """A tuple from a block of text: the tables below stay readable and short."""
    return tuple(w.strip() for w in text.split(sep) if w.strip())


columns = words


TEAM_COLUMNS = ("id", "created_at", "updated_at", "version", "name", "manager_id")
USER_COLUMNS = columns(
    """
    id created_at updated_at version email name role seniority team_id is_active
    """
)
CUSTOMER_COLUMNS = columns(
    """
    id created_at updated_at version name industry company_size region annual_revenue
    currency tags owner_id tier tier_reason computed_tier computed_tier_reason
    tier_computed_at grade need_intensity purchasing_power lifecycle_stage last_contact_at
    last_purchase_at archived_at
    """
)
CONTACT_COLUMNS = columns(
    """
    id created_at updated_at version customer_id name title email email_normalized phone
    phone_normalized decision_role covering_rep_id
    """
)
LEAD_COLUMNS = columns(
    """
    id created_at updated_at version status source campaign owner_id company_name
    contact_name email email_normalized phone phone_normalized industry budget_confirmed
    currency authority_confirmed need_confirmed qualification_evidence score grade
    next_touch_at duplicate_of converted_at converted_customer_id converted_contact_id
    """
)
DEAL_COLUMNS = columns(
    """
    id created_at updated_at version name customer_id owner_id stage amount currency
    expected_close_date need_description product presales_approved_at presales_approved_by
    bid_submitted_at bid_amount lost_reason lost_reason_text closed_at closed_from_stage
    stage_changed_at
    """
)
QUOTE_COLUMNS = columns(
    """
    id created_at updated_at version deal_id customer_id owner_id title status
    current_version_no
    """
)
QUOTE_VERSION_COLUMNS = columns(
    """
    id created_at updated_at quote_id number status currency valid_until header_discount_pct
    policy_discount_pct list_total subtotal total effective_discount_pct fingerprint
    submitted_at submitted_by approved_at approved_by approved_fingerprint
    """
)
QUOTE_LINE_COLUMNS = columns(
    """
    id quote_version_id position sku description quantity unit_list_price line_discount_pct
    line_list_total line_net_total
    """
)
TICKET_COLUMNS = columns(
    """
    id created_at updated_at version subject type priority status queue channel customer_id
    contact_id assignee_id reported_at first_responded_at resolved_at closed_at sla_status
    first_response_due_at resolution_due_at next_due_at escalation_level sla_at_risk_at
    sla_next_action_at
    """
)
SLA_EVENT_COLUMNS = columns(
    """
    id ticket_id seq kind clock at policy_version calendar_version payload actor_id
    recorded_at
    """
)

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "teams": TEAM_COLUMNS,
    "users": USER_COLUMNS,
    "customers": CUSTOMER_COLUMNS,
    "contacts": CONTACT_COLUMNS,
    "leads": LEAD_COLUMNS,
    "deals": DEAL_COLUMNS,
    "quotes": QUOTE_COLUMNS,
    "quote_versions": QUOTE_VERSION_COLUMNS,
    "quote_line_items": QUOTE_LINE_COLUMNS,
    "tickets": TICKET_COLUMNS,
    "ticket_sla_events": SLA_EVENT_COLUMNS,
}

# Every deal's stage path, derived from the deal itself once it is loaded: PostgreSQL
# writes these tens of millions of rows far faster than Python could generate them.
# $1 and $2 bound a range of deal ids, so two sessions can share the work.
# Changes are spread between `created_at` and `stage_changed_at` with a hashed jitter;
# ids are UUIDv7 of the change's time with hashed (so reproducible) random bits.
STAGE_HISTORY_SQL = """
WITH pipeline(stages) AS (
    SELECT ARRAY['development', 'initiation', 'proposal', 'bidding', 'negotiation',
                 'implementation']::varchar[]
), paths AS (
    SELECT d.id, d.created_at, d.stage_changed_at, d.stage, d.owner_id, d.amount, d.currency,
           d.expected_close_date, p.stages,
           array_position(p.stages, coalesce(d.closed_from_stage, d.stage)) AS reached,
           array_position(p.stages, coalesce(d.closed_from_stage, d.stage))
             + (d.closed_from_stage IS NOT NULL)::int AS n
    FROM deals d CROSS JOIN pipeline p
    WHERE d.id >= $1 AND d.id < $2
), steps AS (
    SELECT paths.*, i, md5(paths.id::text || i::text) AS h
    FROM paths CROSS JOIN LATERAL generate_series(1, paths.n) AS i
), timed AS (
    SELECT steps.*,
           created_at + (stage_changed_at - created_at) * CASE
               WHEN i = 1 THEN 0 WHEN i = n THEN 1
               ELSE ((i - 1) + (('x' || substr(h, 21, 2))::bit(8)::int / 255.0 - 0.5) * 0.8)
                    / (n - 1)
           END AS at
    FROM steps
)
INSERT INTO deal_stage_history (id, deal_id, from_stage, to_stage, changed_at, changed_by,
                                amount, currency, expected_close_date)
SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
        || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       id,
       CASE WHEN i = 1 THEN NULL WHEN i <= reached THEN stages[i - 1] ELSE stages[reached] END,
       CASE WHEN i <= reached THEN stages[i] ELSE stage END,
       at, owner_id, amount, currency, expected_close_date
FROM timed
"""

# ------------------------------------------------------------------ vocabulary

_NAME_HEADS = words(
    """
    Hua Zhong Xin Jin Tian Hai Long Feng Kai Rui Sheng Bo Heng Yuan Tai Guang Ming Da Jia
    Xing Chang Hong Wei Fu Cheng An Ding Hao Jun Lian Mei Nan Peng Qi Rong Shi Tong Wan
    Xiang Yong Zhi Bao Dong En Gao Hui Kang Le
    """
)
_NAME_TAILS = words(
    """
    tong xin da yuan tai long feng cheng rui sheng hua guang heng kang jie neng wei bang
    chuang lian
    """
)
_NAME_KINDS = words(
    """
    Technology Manufacturing Logistics Pharma Energy Materials Systems Instruments
    Electronics Trading Automation Medical
    """
)
INDUSTRIES = words(
    """
    manufacturing|new energy|biomedicine|logistics|retail|education|finance|construction|
    semiconductors|automotive|healthcare|agriculture
    """,
    "|",
)
_SIZES = ("1-49", "50-199", "200-999", "1000-4999", "5000+")
_REGIONS = words(
    "East China|North China|South China|Central China|Southwest|Northwest|Northeast", "|"
)
_TAGS = ("budget-sensitive", "tech-driven", "fast-decider", "price-anchor", "key-account")
_GIVEN = ("Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Jun", "Hui", "Tao", "Xia", "Qiang", "Li")
_FAMILY = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu")
_TITLES = ("CEO", "CFO", "CTO", "Purchasing Manager", "Engineer", "Plant Manager", "Assistant")
_PRODUCTS = ("Line sensors", "Control cabinet", "SCADA licence", "Field service", "Spare parts")
_CHANNELS = ("phone", "email", "portal", "wechat")
_STAGE_DEPTH = {stage: depth for depth, stage in enumerate(OPEN_DEAL_STAGES)}

TIERS = (
    (CustomerTier.strategic, 3),
    (CustomerTier.growth, 17),
    (CustomerTier.potential, 60),
    (CustomerTier.dormant, 20),
)
LIFECYCLES = (
    (LifecycleStage.prospect, 45),
    (LifecycleStage.growth, 20),
    (LifecycleStage.mature, 20),
    (LifecycleStage.decline, 8),
    (LifecycleStage.churned, 7),
)
DECISION_ROLES = (
    (DecisionRole.decision_maker, 25),
    (DecisionRole.influencer, 25),
    (DecisionRole.user, 30),
    (DecisionRole.gatekeeper, 10),
    (DecisionRole.coach, 10),
)
# Where an open deal sits: the funnel thins out along the pipeline.
OPEN_STAGES = tuple(zip(OPEN_DEAL_STAGES, (35, 20, 16, 12, 9, 8), strict=True))
LOST_REASONS = (
    (LostReason.price, 30),
    (LostReason.competitor, 25),
    (LostReason.no_budget, 15),
    (LostReason.no_decision, 15),
    (LostReason.timing, 10),
    (LostReason.other, 5),
)
OPEN_LEAD_STATUSES = (
    (LeadStatus.new, 25),
    (LeadStatus.contacted, 20),
    (LeadStatus.qualified, 10),
    (LeadStatus.nurturing, 20),
    (LeadStatus.archived, 15),
    (LeadStatus.disqualified, 10),
)
TICKET_TYPES = (
    (TicketType.usage_question, 35),
    (TicketType.hardware_fault, 20),
    (TicketType.software_bug, 20),
    (TicketType.complaint, 10),
    (TicketType.inspection, 10),
    (TicketType.feedback, 5),
)
TICKET_PRIORITIES = (
    (TicketPriority.low, 20),
    (TicketPriority.normal, 55),
    (TicketPriority.high, 20),
    (TicketPriority.urgent, 5),
)
# The fresh intake: service tickets (feedback needs a category, and waits less urgently).
INTAKE_TYPES = tuple(pair for pair in TICKET_TYPES if pair[0] != TicketType.feedback)
INTAKE_MINUTES = 20  # within every policy's first-response time (30 min for complaints)
OPEN_TICKET_STATUSES = (
    (TicketStatus.new, 20),
    (TicketStatus.open, 50),
    (TicketStatus.pending_customer, 20),
    (TicketStatus.reopened, 10),
)
# Wall-clock hours to first response and to resolution, by priority.
SLA_HOURS = {
    TicketPriority.urgent: (1, 8),
    TicketPriority.high: (4, 24),
    TicketPriority.normal: (8, 72),
    TicketPriority.low: (24, 120),
}


# ------------------------------------------------------------------ helpers


class Picker:
    """Weighted choice by bisecting cumulative weights: much cheaper than `choices` per call."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def uuid7_at(seconds: float, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 whose timestamp is `seconds` (so id order is creation order), seeded bits.

    asyncpg's own UUID (a `uuid.UUID` subclass) is built from bytes 7x faster than
    `uuid.UUID(int=...)`, which matters at millions of rows.
    """
    bits = rng.getrandbits(74)
    value = (
        (int(seconds * 1000) << 80)
        | (0x7 << 76)
        | ((bits >> 62) << 64)
        | (0b10 << 62)
        | (bits & ((1 << 62) - 1))
    )
    return FastUUID(value.to_bytes(16, "big"))


def instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def money(cents: int) -> Decimal:
    return Decimal(f"{cents // 100}.{cents % 100:02d}")


def zipf_weights(n: int, s: float) -> list[float]:
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


def timeline(rng: random.Random, count: int, start: float, end: float) -> Iterator[float]:
    """`count` instants in ascending order, denser towards `end` (the business grows).

    Produced day by day, so millions of instants never sit in memory at once.
    """
    days = max(1, int((end - start) // DAY))
    weights = [1.0 + day / days for day in range(days)]
    total = sum(weights)
    emitted = 0
    carried = 0.0
    for day, weight in enumerate(weights):
        exact = count * weight / total + carried
        todays = count - emitted if day == days - 1 else int(exact)
        carried = exact - todays
        base = start + day * DAY
        yield from sorted(base + rng.random() * DAY for _ in range(todays))
        emitted += todays


# ------------------------------------------------------------------ the organisation


@dataclass
class Organisation:
    director: uuid.UUID
    admin: uuid.UUID
    managers: list[uuid.UUID]
    reps: list[uuid.UUID]
    rep_team: list[int]
    agents: list[uuid.UUID]
    teams: list[Row]
    users: list[Row]


@dataclass
class CustomerIndex:
    """What later tables need to know about the customers, by generation order."""

    ids: list[uuid.UUID] = field(default_factory=list)
    created: list[float] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # index into reps, -1 for nobody
    first_contact: list[uuid.UUID] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    tiers: list[CustomerTier] = field(default_factory=list)


@dataclass
class DealBatch:
    """One deal with the rows that hang off it."""

    deal: Row
    quotes: list[Row] = field(default_factory=list)
    quote_versions: list[Row] = field(default_factory=list)
    quote_lines: list[Row] = field(default_factory=list)


class Dataset:
    """Generates one scale's rows. Call the methods in table order: later tables use
    what earlier ones recorded (owners, customers, contacts)."""

    def __init__(self, scale: Scale, seed: int = 20261125, anchor: date | None = None) -> None:
        self.scale = scale
        self.seed = seed
        # "Today" for the data: due dates, validity and staleness are relative to it.
        anchor = anchor or datetime.now(UTC).date()
        self.now = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC).timestamp()
        self.start = self.now - SPAN_DAYS * DAY
        self.customers = CustomerIndex()
        self.org = self._organisation()
        self._tiers = Picker(TIERS)
        self._lifecycles = Picker(LIFECYCLES)
        self._roles = Picker(DECISION_ROLES)
        self._owner = Picker(
            list(enumerate(zipf_weights(len(self.org.reps), 0.5)))
        )  # rep index by skewed weight

    def rng(self, table: str) -> random.Random:
        """One independent stream per table, so adding a table never shifts another's rows."""
        return random.Random(f"{self.seed}:{self.scale.name}:{table}")

    # -------------------------------------------------------------- users and teams

    def _organisation(self) -> Organisation:
        rng = self.rng("users")
        created = self.start - 30 * DAY
        at = instant(created)
        users: list[Row] = []
        teams: list[Row] = []

        def user(role: Role, label: str, team: uuid.UUID | None, senior: bool = False) -> uuid.UUID:
            ident = uuid7_at(created, rng)
            email = f"{label.lower().replace(' ', '.')}@bench.salesflow.test"
            seniority = Seniority.senior if senior else Seniority.standard
            users.append((ident, at, at, 1, email, label, role, seniority, team, True))
            return ident

        director = user(Role.director, "Director", None, senior=True)
        admin = user(Role.admin, "Admin", None, senior=True)
        managers, reps, rep_team = [], [], []
        for t in range(self.scale.teams):
            team_id = uuid7_at(created, rng)
            manager = user(Role.manager, f"Manager {t + 1:02d}", team_id, senior=True)
            teams.append((team_id, at, at, 1, f"Sales team {t + 1:02d}", manager))
            managers.append(manager)
            for r in range(self.scale.reps_per_team):
                senior = r % 3 == 0
                reps.append(user(Role.rep, f"Rep {t + 1:02d}-{r + 1:02d}", team_id, senior))
                rep_team.append(t)
        agents = [
            user(Role.support_agent, f"Agent {a + 1:02d}", None) for a in range(self.scale.agents)
        ]
        # Owners are skewed by rank; shuffle so the busiest rep is not always the first.
        order = list(range(len(reps)))
        rng.shuffle(order)
        reps = [reps[i] for i in order]
        rep_team = [rep_team[i] for i in order]
        return Organisation(director, admin, managers, reps, rep_team, agents, teams, users)

    # -------------------------------------------------------------- customers

    def customer_rows(self) -> Iterator[Row]:
        rng = self.rng("customers")
        index = self.customers
        levels = list(RatingLevel)
        for n, created in enumerate(timeline(rng, self.scale.customers, self.start, self.now)):
            ident = uuid7_at(created, rng)
            name = (
                f"{rng.choice(_NAME_HEADS)}{rng.choice(_NAME_TAILS)} "
                f"{rng.choice(_NAME_KINDS)} {n:07d}"
            )
            owner = -1 if rng.random() < 0.05 else self._owner(rng)
            need, power = rng.choice(levels), rng.choice(levels)
            tier = self._tiers(rng)
            lifecycle = self._lifecycles(rng)
            updated = min(self.now, created + rng.random() * 60 * DAY)
            last_contact = created + rng.random() * (self.now - created)
            bought = lifecycle != LifecycleStage.prospect
            last_purchase = created + rng.random() * (self.now - created) if bought else None
            tags = rng.sample(_TAGS, rng.randint(0, 2))
            index.ids.append(ident)
            index.created.append(created)
            index.owner.append(owner)
            index.names.append(name)
            index.tiers.append(tier)
            yield (
                ident,
                instant(created),
                instant(updated),
                1,
                name,
                rng.choice(INDUSTRIES),
                rng.choice(_SIZES),
                rng.choice(_REGIONS),
                money(rng.randint(1_000_000, 5_000_000_000) * 100),
                "CNY",
                _json_list(tags),
                None if owner < 0 else self.org.reps[owner],
                tier,
                "bench dataset",
                tier,  # no override: the tier acted on is the computed one
                "bench dataset",
                instant(updated),
                compute_grade(need, power),
                need,
                power,
                lifecycle,
                instant(last_contact),
                None if last_purchase is None else instant(last_purchase),
                instant(updated) if rng.random() < 0.02 else None,
            )

    # -------------------------------------------------------------- contacts

    def contact_rows(self) -> Iterator[Row]:
        rng = self.rng("contacts")
        index = self.customers
        reps = self.org.reps
        serial = 0
        for i, customer_id in enumerate(index.ids):
            count = 1 if rng.random() < 0.6 else (2 if rng.random() < 0.75 else 3)
            for c in range(count):
                created = min(self.now, index.created[i] + c * rng.random() * 30 * DAY)
                ident = uuid7_at(created, rng)
                if c == 0:
                    index.first_contact.append(ident)
                serial += 1
                given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
                email = f"{given}.{family}{serial}@example.cn"
                mobile = f"13{serial % 1_000_000_000:09d}"
                covering = reps[self._owner(rng)] if rng.random() < 0.25 else None
                at = instant(created)
                yield (
                    ident,
                    at,
                    at,
                    1,
                    customer_id,
                    f"{family} {given}",
                    rng.choice(_TITLES),
                    email,
                    email.lower(),
                    f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}",
                    f"+86{mobile}",  # the E.164 key the service stores
                    self._roles(rng),
                    covering,
                )

    # -------------------------------------------------------------- leads

    def lead_rows(self) -> Iterator[Row]:
        rng = self.rng("leads")
        index = self.customers
        sources = list(LeadSource)
        reps = self.org.reps
        for i, customer_id in enumerate(index.ids):
            if rng.random() >= self.scale.converted_lead_share:
                continue
            created = max(self.start, index.created[i] - rng.random() * 60 * DAY)
            owner = index.owner[i]
            yield self._lead(
                rng,
                created,
                status=LeadStatus.converted,
                source=rng.choice(sources),
                owner=None if owner < 0 else reps[owner],
                company=index.names[i],
                score=rng.randint(70, 100),
                converted=(index.created[i], customer_id, index.first_contact[i]),
            )
        statuses = Picker(OPEN_LEAD_STATUSES)
        count = int(self.scale.customers * self.scale.open_lead_share)
        for created in timeline(rng, count, self.start, self.now):
            yield self._lead(
                rng,
                created,
                status=statuses(rng),
                source=rng.choice(sources),
                owner=None if rng.random() < 0.1 else reps[self._owner(rng)],
                company=f"{rng.choice(_NAME_HEADS)}{rng.choice(_NAME_TAILS)} Prospect",
                score=rng.randint(0, 100),
                converted=None,
            )

    def _lead(
        self,
        rng: random.Random,
        created: float,
        *,
        status: LeadStatus,
        source: LeadSource,
        owner: uuid.UUID | None,
        company: str,
        score: int,
        converted: tuple[float, uuid.UUID, uuid.UUID] | None,
    ) -> Row:
        ident = uuid7_at(created, rng)
        grade = LeadGrade.A if score >= 70 else (LeadGrade.B if score >= 40 else LeadGrade.C)
        mans = (score >= 70, score >= 55, score >= 40)
        touch = None
        if status in (LeadStatus.nurturing, LeadStatus.archived):
            touch = instant(self.now + rng.random() * 90 * DAY)
        email = f"buyer.{ident.hex[-12:]}@prospect.cn"
        phone = f"13{ident.int % 1_000_000_000:09d}"
        at = instant(created)
        return (
            ident,
            at,
            at if converted is None else instant(converted[0]),
            1,
            status,
            source,
            f"campaign-{rng.randint(1, 40):02d}" if rng.random() < 0.4 else None,
            owner,
            company,
            f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)}",
            email,
            email,
            phone,
            f"+86{phone}",
            rng.choice(INDUSTRIES),
            mans[0],
            "CNY",
            mans[1],
            mans[2],
            "[]",
            score,
            grade,
            touch,
            "[]",
            None if converted is None else instant(converted[0]),
            None if converted is None else converted[1],
            None if converted is None else converted[2],
        )

    # -------------------------------------------------------------- deals

    def deal_batches(self) -> Iterator[DealBatch]:
        rng = self.rng("deals")
        index = self.customers
        reps = self.org.reps
        open_stages = Picker(OPEN_STAGES)
        lost_reasons = Picker(LOST_REASONS)
        templates = _quote_templates()
        # Roughly 45% of deals reach the proposal stage; quote a share of them.
        quote_share = min(1.0, self.scale.max_quotes / max(1.0, 0.45 * self.scale.deals))
        quotes_left = self.scale.max_quotes
        first = index.created[0] + DAY
        for n, created in enumerate(timeline(rng, self.scale.deals, first, self.now)):
            known = bisect.bisect_right(index.created, created)
            c = int(max(1, known) * (rng.random() ** 0.8))
            keeps_owner = index.owner[c] >= 0 and rng.random() < 0.85
            r = index.owner[c] if keeps_owner else self._owner(rng)
            batch = self._deal(
                rng,
                n,
                created,
                index.ids[c],
                reps[r],
                self.org.rep_team[r],
                open_stages,
                lost_reasons,
            )
            reached_proposal = _stage_rank(batch.deal[7], batch.deal[20]) >= 2
            # A deal sitting in proposal is being quoted now: it always has a quote.
            in_proposal = batch.deal[7] == DealStage.proposal
            if in_proposal or (quotes_left and reached_proposal and rng.random() < quote_share):
                self._quote(rng, batch, rng.choice(templates))
                quotes_left = max(0, quotes_left - 1)
            if in_proposal:  # alternatives to the offer, still being drafted
                for option in range(2, self.scale.quote_options + 1):
                    self._quote(rng, batch, rng.choice(templates), option=option)
            yield batch

    def _deal(
        self,
        rng: random.Random,
        n: int,
        created: float,
        customer_id: uuid.UUID,
        owner: uuid.UUID,
        team: int,
        open_stages: Picker,
        lost_reasons: Picker,
    ) -> DealBatch:
        ident = uuid7_at(created, rng)
        age_days = (self.now - created) / DAY
        closed = rng.random() < min(0.95, age_days / 240)
        if closed:
            won = rng.random() < 0.3
            reached = DealStage.implementation if won else open_stages(rng)
            stage = DealStage.won if won else DealStage.lost
        else:
            reached = stage = open_stages(rng)
        depth = _STAGE_DEPTH[reached]
        changes = depth + closed  # stage changes after the deal was opened
        last = created
        if changes:
            last += rng.random() * (min(self.now, created + 300 * DAY) - created)
        step = (last - created) / changes if changes else 0.0
        amount = money(int(rng.random() * 500_000_000) + 2_000_000) if rng.random() < 0.93 else None
        approved, bid = depth >= 2, depth >= 4
        lost_reason = lost_reasons(rng) if stage == DealStage.lost else None
        last_at = instant(last)
        deal = (
            ident,
            instant(created),
            last_at,
            changes + 1,
            f"Deal {n:08d}",
            customer_id,
            owner,
            stage,
            amount,
            "CNY",
            date.fromtimestamp(created + (30 + int(rng.random() * 210)) * DAY),
            "Replace the ageing line sensors" if rng.random() < 0.92 else None,
            rng.choice(_PRODUCTS),
            instant(created + 2 * step) if approved else None,
            self.org.managers[team] if approved else None,
            instant(created + 4 * step) if bid else None,
            amount if bid else None,
            lost_reason,
            "lost to an incumbent" if lost_reason == LostReason.other else None,
            last_at if closed else None,
            reached if closed else None,
            last_at,
        )
        return DealBatch(deal)

    def _quote(
        self, rng: random.Random, batch: DealBatch, template: "QuoteTemplate", option: int = 1
    ) -> None:
        deal = batch.deal
        stage = deal[7]
        created = deal[13] or deal[1]  # priced once the presales approval is in
        quote_id = uuid7_at(created.timestamp(), rng)
        version_id = uuid7_at(created.timestamp(), rng)
        if option > 1:
            status = QuoteStatus.draft
        elif stage == DealStage.proposal:
            status = QuoteStatus.draft if rng.random() < 0.8 else QuoteStatus.approved
        elif stage == DealStage.lost:
            status = QuoteStatus.rejected
        else:
            status = QuoteStatus.accepted
        # A draft is being worked now: valid from today; the rest expired or were used.
        start = date.fromtimestamp(self.now) if status == QuoteStatus.draft else created.date()
        valid_until = start + timedelta(days=30)
        submitted = status != QuoteStatus.draft
        print_ = template.fingerprint(valid_until)
        owner = deal[6]
        title = f"Quote for {deal[4]}" if option == 1 else f"Option {option} for {deal[4]}"
        batch.quotes.append(
            (quote_id, created, created, 1, deal[0], deal[5], owner, title, status, 1)
        )
        totals = template.totals
        batch.quote_versions.append(
            (
                version_id,
                created,
                created,
                quote_id,
                1,
                status,
                "CNY",
                valid_until,
                Decimal(0),
                Decimal(0),
                totals.list_total,
                totals.subtotal,
                totals.total,
                totals.effective_discount_pct,
                print_,
                created if submitted else None,
                owner if submitted else None,
                created if submitted else None,
                owner if submitted else None,
                print_ if submitted else None,
            )
        )
        batch.quote_lines += [
            (
                uuid7_at(created.timestamp(), rng),
                version_id,
                position,
                line.sku,
                line.description,
                line.quantity,
                line.unit_list_price,
                line.line_discount_pct,
                total.list_amount,
                total.net_amount,
            )
            for position, (line, total) in enumerate(
                zip(template.lines, totals.lines, strict=True), start=1
            )
        ]

    # -------------------------------------------------------------- tickets

    def ticket_rows(self) -> Iterator[Row]:
        rng = self.rng("tickets")
        index = self.customers
        types, priorities = Picker(TICKET_TYPES), Picker(TICKET_PRIORITIES)
        open_statuses = Picker(OPEN_TICKET_STATUSES)
        agents = Picker(list(enumerate(zipf_weights(len(self.org.agents), 0.3))))
        first = index.created[0] + DAY
        for n, reported in enumerate(timeline(rng, self.scale.tickets, first, self.now)):
            known = bisect.bisect_right(index.created, reported)
            c = rng.randrange(max(1, known))
            priority = priorities(rng)
            respond_h, resolve_h = SLA_HOURS[priority]
            respond_due = reported + respond_h * 3600
            resolve_due = reported + resolve_h * 3600
            age_days = (self.now - reported) / DAY
            done = rng.random() < min(0.97, age_days / 20)
            status = (
                (TicketStatus.closed if rng.random() < 0.85 else TicketStatus.resolved)
                if done
                else open_statuses(rng)
            )
            responded = None
            if status != TicketStatus.new:
                responded = min(self.now, reported + rng.random() * respond_h * 4500)
            resolved = None
            if done:
                resolved = min(self.now, reported + rng.random() * resolve_h * 4500)
            next_due = None
            if status == TicketStatus.new:
                next_due = respond_due
            elif status in (TicketStatus.open, TicketStatus.reopened):
                next_due = resolve_due
            yield (
                uuid7_at(reported, rng),
                instant(reported),
                instant(resolved or responded or reported),
                1,
                f"Ticket {n:08d}: line sensor reports drift",
                types(rng),
                priority,
                status,
                "after-sales",
                rng.choice(_CHANNELS),
                index.ids[c],
                index.first_contact[c],
                None if rng.random() < 0.05 else self.org.agents[agents(rng)],
                instant(reported),
                None if responded is None else instant(responded),
                None if resolved is None else instant(resolved),
                instant(resolved) if status == TicketStatus.closed and resolved else None,
                _sla_status(done, responded, respond_due, resolved, resolve_due, self.now),
                instant(respond_due),
                instant(resolve_due),
                None if next_due is None else instant(next_due),
                0,
                None,
                None,
            )

    def intake_rows(self) -> Iterator[tuple[Row, Row]]:
        """The fresh intake: each new ticket with its SLA log's first event (`started`).

        Its policy, due times and sweep instants are what the service's SLA rules give a
        ticket opened at its reported time (`app.tickets.service.open_ticket`), so the
        service can act on it; `bench run` moves the intake to just before the wall
        clock's "now" before each run, so every first response is in time.
        """
        from app.tickets.clocks import plan_clocks
        from app.tickets.policy import REGISTRY

        rng = self.rng("intake")
        index = self.customers
        types, priorities = Picker(INTAKE_TYPES), Picker(TICKET_PRIORITIES)
        agents = self.org.agents
        span = INTAKE_MINUTES * 60
        instants = sorted(self.now - span * rng.random() for _ in range(self.scale.intake_tickets))
        for n, reported in enumerate(instants):
            c = rng.randrange(len(index.ids))
            ticket_type, priority = types(rng), priorities(rng)
            tier = index.tiers[c]
            policy = REGISTRY.policy_for(ticket_type, tier, priority)
            at = instant(reported)
            started = REGISTRY.event(SlaEventKind.started, at, policy)
            why = {"type": ticket_type, "priority": priority, "customer_tier": tier}
            plan = plan_clocks(REGISTRY, [], [(started, why)], at, escalation_level=0)
            clocks = plan.columns
            ident = uuid7_at(reported, rng)
            ticket = (
                ident,
                at,
                at,
                1,
                f"Intake {n:07d}: line sensor reports drift",
                ticket_type,
                priority,
                TicketStatus.new,
                queue_for(ticket_type, None),
                rng.choice(_CHANNELS),
                index.ids[c],
                index.first_contact[c],
                agents[n % len(agents)],
                at,
                None,
                None,
                None,
                clocks["sla_status"],
                clocks["first_response_due_at"],
                clocks["resolution_due_at"],
                clocks["next_due_at"],
                clocks["escalation_level"],
                clocks["sla_at_risk_at"],
                clocks["sla_next_action_at"],
            )
            event = (
                uuid7_at(reported, rng),
                ident,
                1,
                started.kind,
                started.clock,
                started.at,
                started.policy_version,
                started.calendar_version,
                json.dumps({k: str(v) for k, v in why.items()}),
                None,
                at,
            )
            yield ticket, event


def _sla_status(
    done: bool,
    responded: float | None,
    respond_due: float,
    resolved: float | None,
    resolve_due: float,
    now: float,
) -> str:
    if done:
        return "met" if resolved is not None and resolved <= resolve_due else "breached"
    late = (responded or now) > respond_due or now > resolve_due
    return "breached" if late else "on_track"


def _stage_rank(stage: DealStage, closed_from: DealStage | None) -> int:
    reached = closed_from if closed_from is not None else stage
    if reached in (DealStage.won, DealStage.lost):
        return len(OPEN_DEAL_STAGES)
    return OPEN_DEAL_STAGES.index(reached)


def _json_list(values: Sequence[str]) -> str:
    return "[" + ",".join(f'"{v}"' for v in values) + "]"


@dataclass(frozen=True)
class QuoteTemplate:
    lines: tuple[QuoteLine, ...]
    totals: Any

    @functools.cache  # noqa: B019 - two dozen templates live for the whole run
    def fingerprint(self, valid_until: date) -> str:
        return fingerprint(self.lines, Decimal(0), Decimal(0), "CNY", valid_until, None)


def _quote_templates() -> list[QuoteTemplate]:
    """A few priced line sets; discounts stay within a rep's own authority (<= 5%)."""
    rng = random.Random("quote-templates")
    templates = []
    for _ in range(24):
        lines = tuple(
            QuoteLine(
                quantity=Decimal(rng.randint(1, 40)),
                unit_list_price=money(rng.randint(500, 200_000) * 100),
                line_discount_pct=Decimal(rng.choice((0, 2, 3, 5))),
                sku=f"SKU-{rng.randint(1000, 9999)}",
                description=rng.choice(_PRODUCTS),
            )
            for _ in range(rng.randint(1, 3))
        )
        templates.append(QuoteTemplate(lines, compute_totals(lines, Decimal(0), Decimal(0))))
    return templates
