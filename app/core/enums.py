"""The domain's vocabulary: every state and category named in docs/domain.md.

Plain string enums with no dependencies, shared by the table models, the API
schemas and the rules service.
"""

from enum import StrEnum


class Role(StrEnum):
    rep = "rep"
    manager = "manager"
    director = "director"
    support_agent = "support_agent"
    admin = "admin"


class Seniority(StrEnum):
    senior = "senior"
    standard = "standard"


class LeadSource(StrEnum):
    trade_show = "trade_show"
    industry_platform = "industry_platform"
    social_media = "social_media"
    seo_content = "seo_content"
    search_ads = "search_ads"
    website_form = "website_form"
    referral = "referral"
    partner = "partner"
    telemarketing = "telemarketing"
    email_campaign = "email_campaign"
    direct_mail = "direct_mail"
    event = "event"
    other = "other"


OUTBOUND_SOURCES = frozenset(
    {LeadSource.telemarketing, LeadSource.email_campaign, LeadSource.direct_mail}
)


class LeadStatus(StrEnum):
    new = "new"
    contacted = "contacted"
    qualified = "qualified"
    nurturing = "nurturing"
    archived = "archived"
    disqualified = "disqualified"
    converted = "converted"


class LeadGrade(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class CustomerTier(StrEnum):
    strategic = "strategic"
    growth = "growth"
    potential = "potential"
    dormant = "dormant"


class CustomerGrade(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class RatingLevel(StrEnum):
    """A coarse judgement a rep records, e.g. a customer's need intensity or purchasing power."""

    high = "high"
    medium = "medium"
    low = "low"


class LifecycleStage(StrEnum):
    prospect = "prospect"
    growth = "growth"
    mature = "mature"
    decline = "decline"
    churned = "churned"


class DecisionRole(StrEnum):
    decision_maker = "decision_maker"
    influencer = "influencer"
    user = "user"
    gatekeeper = "gatekeeper"
    coach = "coach"


class ActivityKind(StrEnum):
    call = "call"
    email = "email"
    meeting = "meeting"
    visit = "visit"
    demo = "demo"
    note = "note"


class DealStage(StrEnum):
    development = "development"
    initiation = "initiation"
    proposal = "proposal"
    bidding = "bidding"
    negotiation = "negotiation"
    implementation = "implementation"
    won = "won"
    lost = "lost"


OPEN_DEAL_STAGES: tuple[DealStage, ...] = (
    DealStage.development,
    DealStage.initiation,
    DealStage.proposal,
    DealStage.bidding,
    DealStage.negotiation,
    DealStage.implementation,
)
CLOSED_DEAL_STAGES = frozenset({DealStage.won, DealStage.lost})


class LostReason(StrEnum):
    price = "price"
    competitor = "competitor"
    no_budget = "no_budget"
    no_decision = "no_decision"
    timing = "timing"
    other = "other"


class QuoteStatus(StrEnum):
    draft = "draft"
    pending_approval = "pending_approval"
    approved = "approved"
    sent = "sent"
    accepted = "accepted"
    rejected = "rejected"
    expired = "expired"
    superseded = "superseded"


class ContractStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"
    approved = "approved"
    signed = "signed"
    in_delivery = "in_delivery"
    delivered = "delivered"
    accepted = "accepted"
    closed = "closed"
    terminated = "terminated"


class DeliveryStatus(StrEnum):
    scheduled = "scheduled"
    shipped = "shipped"
    arrived = "arrived"
    installed = "installed"


class AcceptanceKind(StrEnum):
    explicit = "explicit"
    deemed = "deemed"


class MilestoneKind(StrEnum):
    advance = "advance"
    on_delivery = "on_delivery"
    on_acceptance = "on_acceptance"
    custom = "custom"


class MilestoneAnchor(StrEnum):
    """The event a payment milestone's due date counts from."""

    signing = "signing"
    delivery = "delivery"
    acceptance = "acceptance"


class ChangeRequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class TicketType(StrEnum):
    hardware_fault = "hardware_fault"
    usage_question = "usage_question"
    software_bug = "software_bug"
    complaint = "complaint"
    inspection = "inspection"
    feedback = "feedback"


class TicketPriority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class TicketStatus(StrEnum):
    new = "new"
    open = "open"
    pending_customer = "pending_customer"
    resolved = "resolved"
    reopened = "reopened"
    closed = "closed"


class FeedbackCategory(StrEnum):
    product = "product"
    service = "service"
    process = "process"


class SlaStatus(StrEnum):
    on_track = "on_track"
    at_risk = "at_risk"
    breached = "breached"
    met = "met"


class SlaClockKind(StrEnum):
    first_response = "first_response"
    resolution = "resolution"


class SlaEventKind(StrEnum):
    started = "started"
    first_response = "first_response"
    paused = "paused"
    resumed = "resumed"
    retargeted = "retargeted"
    breached = "breached"
    met = "met"
    reopened = "reopened"
    at_risk = "at_risk"
    # The resolve action stops the resolution clock whatever the outcome; `met`/`breached`
    # are the outcome recorded beside it (a late resolution must not read as "met").
    resolved = "resolved"


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class TaskKind(StrEnum):
    trade_show_follow_up = "trade_show_follow_up"
    nurture_touch = "nurture_touch"
    satisfaction_survey = "satisfaction_survey"
    first_visit = "first_visit"
    complaint_follow_up = "complaint_follow_up"
    renewal = "renewal"
    dormant_reactivation = "dormant_reactivation"
    sla_escalation = "sla_escalation"
    sla_at_risk = "sla_at_risk"
    delivery_notice = "delivery_notice"
    # For the admins: a partner's webhook endpoint was disabled (410 Gone, failing too long).
    webhook_endpoint_disabled = "webhook_endpoint_disabled"
    general = "general"
