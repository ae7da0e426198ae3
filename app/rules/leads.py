"""Lead rules: BANT score and grade, status flow, touch cadence, duplicate keys (docs/domain.md §1).

Every number lives in `LeadPolicy`, a frozen, JSON-serialisable model, so a company can
tune its qualification rules as data and every boundary is a one-line test. Functions
take the policy and "today" from the caller; nothing here reads the clock.

Status flow (`LEAD_TRANSITIONS`), beyond the SOP's `new -> contacted -> qualified |
nurturing | archived | disqualified` and `qualified -> converted`:
- `new -> disqualified`: spam and duplicate form submissions need no call first;
- `qualified -> nurturing | disqualified`: a timeline slips or a blocker surfaces late;
- `nurturing -> contacted | qualified | archived | disqualified`: the quarterly touch
  re-opens the conversation, proves the lead ready, or shows it went cold or dead;
- `archived -> contacted | disqualified`: the quarterly revisit gets an answer or not;
- `converted` and `disqualified` are final (conversion created a customer and a deal;
  reviving a disqualified buyer is a new lead, so its history stays honest).
"""

import re
import unicodedata
from calendar import monthrange
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.enums import OUTBOUND_SOURCES, LeadGrade, LeadSource, LeadStatus, Seniority

SCORE_MIN = 0
SCORE_MAX = 100

# Keys of `LeadScore.breakdown`, always all present so clients can render a fixed table.
BREAKDOWN_KEYS = ("budget", "authority", "need", "timeline", "industry", "decision_chain", "clamp")


def normalize_industry(industry: str) -> str:
    """`" New-Energy "` -> `"new_energy"`: free-text industries compare as lowercase slugs."""
    return re.sub(r"[\s\-]+", "_", industry.strip().lower())


class LeadPolicy(BaseModel):
    """Scoring weights, grade cut-offs and cadences for leads; defaults are docs/domain.md §1.

    Timeline windows are calendar months counted from "today", inclusive: with today
    2025-01-15 and 3 months, a purchase expected on or before 2025-04-15 is "near".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    budget_points: int = Field(30, ge=0)
    authority_points: int = Field(25, ge=0)
    need_points: int = Field(30, ge=0)
    timeline_near_months: int = Field(3, ge=0)
    timeline_near_points: int = Field(15, ge=0)
    timeline_later_months: int = Field(6, ge=0)
    timeline_later_points: int = Field(8, ge=0)
    high_growth_industries: tuple[str, ...] = (
        "artificial_intelligence",
        "biomedicine",
        "high_end_equipment",
        "new_energy",
        "new_materials",
        "semiconductors",
    )
    high_growth_points: int = Field(10, ge=0)
    # More decision makers than this means a slow, political sale.
    max_preferred_decision_makers: int = Field(3, ge=0)
    complex_chain_penalty: int = Field(10, ge=0)
    grade_a_min_score: int = Field(70, ge=SCORE_MIN, le=SCORE_MAX)
    grade_b_min_score: int = Field(40, ge=SCORE_MIN, le=SCORE_MAX)
    touch_interval_days: int = Field(90, ge=1)
    trade_show_follow_up_hours: int = Field(24, ge=1)

    @field_validator("high_growth_industries", mode="before")
    @classmethod
    def _normalise_industries(cls, value: Any) -> tuple[str, ...]:
        # Sorted so the JSON form is stable and two equal policies compare equal.
        return tuple(sorted({normalize_industry(item) for item in value}))

    @model_validator(mode="after")
    def _ordered_cut_offs(self) -> "LeadPolicy":
        if self.timeline_later_months < self.timeline_near_months:
            raise ValueError("timeline_later_months must be >= timeline_near_months")
        if self.grade_b_min_score > self.grade_a_min_score:
            raise ValueError("grade_b_min_score must be <= grade_a_min_score")
        return self


DEFAULT_LEAD_POLICY = LeadPolicy()


class LeadQualification(BaseModel):
    """The BANT facts a rep has confirmed about a lead, plus the seeds' two extra signals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    budget_confirmed: bool = False
    authority_confirmed: bool = Field(False, description="Talking to a decision maker.")
    need_confirmed: bool = False
    expected_purchase_date: date | None = None
    industry: str | None = None
    decision_maker_count: int | None = Field(None, ge=0, description="None = not known yet.")

    @property
    def man_confirmed(self) -> bool:
        """Money, Authority and Need: the core of BANT that grade A requires."""
        return self.budget_confirmed and self.authority_confirmed and self.need_confirmed


class LeadScore(BaseModel):
    """A score with its explanation: `sum(breakdown.values()) == score` always holds."""

    model_config = ConfigDict(frozen=True)

    score: int
    grade: LeadGrade
    breakdown: dict[str, int]
    reasons: tuple[str, ...]


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end (2025-11-30 + 3 months = 2026-02-28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _signed(points: int) -> str:
    return f"{points:+d}"


def _confirmation(label: str, confirmed: bool, points: int) -> tuple[int, str]:
    earned = points if confirmed else 0
    state = "confirmed" if confirmed else "not confirmed"
    return earned, f"{label} {state} {_signed(earned)}"


def _timeline(expected: date | None, today: date, policy: LeadPolicy) -> tuple[int, str]:
    """A date already past counts as near: the buyer is late, not gone."""
    if expected is None:
        return 0, "purchase timeline unknown +0"
    if expected <= add_months(today, policy.timeline_near_months):
        window, points = policy.timeline_near_months, policy.timeline_near_points
    elif expected <= add_months(today, policy.timeline_later_months):
        window, points = policy.timeline_later_months, policy.timeline_later_points
    else:
        return 0, f"purchase expected {expected}, beyond {policy.timeline_later_months} months +0"
    return points, f"purchase expected {expected}, within {window} months {_signed(points)}"


def _industry(industry: str | None, policy: LeadPolicy) -> tuple[int, str]:
    if industry is None:
        return 0, "industry unknown +0"
    slug = normalize_industry(industry)
    if slug in policy.high_growth_industries:
        return (
            policy.high_growth_points,
            f"high-growth industry {slug} {_signed(policy.high_growth_points)}",
        )
    return 0, f"industry {slug} is not high-growth +0"


def _decision_chain(count: int | None, policy: LeadPolicy) -> tuple[int, str]:
    limit = policy.max_preferred_decision_makers
    if count is None:
        return 0, "number of decision makers unknown +0"
    if count > limit:
        penalty = -policy.complex_chain_penalty
        return penalty, f"{count} decision makers (more than {limit}) {_signed(penalty)}"
    return 0, f"{count} decision makers (at most {limit}) +0"


def lead_grade(score: int, man_confirmed: bool, policy: LeadPolicy) -> LeadGrade:
    """A = work now (score high *and* MAN proven); B = nurture; C = archive and revisit."""
    if score >= policy.grade_a_min_score and man_confirmed:
        return LeadGrade.A
    if score >= policy.grade_b_min_score:
        return LeadGrade.B
    return LeadGrade.C


def _grade_reason(grade: LeadGrade, score: int, p: LeadPolicy) -> str:
    if grade is LeadGrade.A:
        return (
            f"grade A: score {score} >= {p.grade_a_min_score} and budget, authority, need confirmed"
        )
    if score >= p.grade_a_min_score:
        return (
            f"grade B: score {score} >= {p.grade_a_min_score} "
            "but budget, authority, need not all confirmed"
        )
    if grade is LeadGrade.B:
        return f"grade B: score {score} >= {p.grade_b_min_score}"
    return f"grade C: score {score} < {p.grade_b_min_score}"


def score_lead(facts: LeadQualification, policy: LeadPolicy, today: date) -> LeadScore:
    """Score a lead 0..100 by the policy's BANT weights and grade it A/B/C.

    The breakdown carries every component (and the clamp adjustment, usually 0) so a rep
    can see exactly why a lead is B and what would make it A.
    """
    parts = {
        "budget": _confirmation("budget", facts.budget_confirmed, policy.budget_points),
        "authority": _confirmation(
            "decision maker", facts.authority_confirmed, policy.authority_points
        ),
        "need": _confirmation("need", facts.need_confirmed, policy.need_points),
        "timeline": _timeline(facts.expected_purchase_date, today, policy),
        "industry": _industry(facts.industry, policy),
        "decision_chain": _decision_chain(facts.decision_maker_count, policy),
    }
    breakdown = {key: points for key, (points, _) in parts.items()}
    raw = sum(breakdown.values())
    score = min(SCORE_MAX, max(SCORE_MIN, raw))
    breakdown["clamp"] = score - raw
    reasons = [reason for _, reason in parts.values()]
    if score != raw:
        reasons.append(f"raw score {raw} clamped to {score}")
    grade = lead_grade(score, facts.man_confirmed, policy)
    reasons.append(_grade_reason(grade, score, policy))
    return LeadScore(score=score, grade=grade, breakdown=breakdown, reasons=tuple(reasons))


def seniority_for_grade(grade: LeadGrade) -> Seniority:
    """Grade A leads are ready to buy, so they go to the senior pool."""
    return Seniority.senior if grade is LeadGrade.A else Seniority.standard


PARKED_STATUSES = frozenset({LeadStatus.nurturing, LeadStatus.archived})


def next_touch_at(
    status: LeadStatus, from_instant: datetime, policy: LeadPolicy
) -> datetime | None:
    """When a parked (nurturing/archived) lead is due its next touch; None for other statuses.

    `from_instant` is when the lead was parked or last touched, so the cadence restarts
    after every touch.
    """
    if status not in PARKED_STATUSES:
        return None
    return from_instant + timedelta(days=policy.touch_interval_days)


LEAD_TRANSITIONS: Mapping[LeadStatus, frozenset[LeadStatus]] = MappingProxyType(
    {
        LeadStatus.new: frozenset({LeadStatus.contacted, LeadStatus.disqualified}),
        LeadStatus.contacted: frozenset(
            {
                LeadStatus.qualified,
                LeadStatus.nurturing,
                LeadStatus.archived,
                LeadStatus.disqualified,
            }
        ),
        LeadStatus.qualified: frozenset(
            {LeadStatus.converted, LeadStatus.nurturing, LeadStatus.disqualified}
        ),
        LeadStatus.nurturing: frozenset(
            {
                LeadStatus.contacted,
                LeadStatus.qualified,
                LeadStatus.archived,
                LeadStatus.disqualified,
            }
        ),
        LeadStatus.archived: frozenset({LeadStatus.contacted, LeadStatus.disqualified}),
        LeadStatus.disqualified: frozenset(),
        LeadStatus.converted: frozenset(),
    }
)


def lead_status_transition_allowed(from_status: LeadStatus, to_status: LeadStatus) -> bool:
    """Whether the SOP lets a lead move from one status to another (see module docstring).

    Staying in the same status is not a transition and answers False. `converted` is
    reached only through the atomic conversion use case, never by a plain status update.
    """
    return to_status in LEAD_TRANSITIONS[from_status]


def is_inbound(source: LeadSource) -> bool:
    """Inbound = the buyer came to us; only the explicitly outbound channels are ours."""
    return source not in OUTBOUND_SOURCES


def normalize_email(raw: str | None) -> str | None:
    """Duplicate-detection key for an email: trimmed, NFKC-folded, lowercased whole address.

    Full-width characters (common with Chinese input methods) fold to ASCII. Local parts
    are not rewritten (no Gmail dot/plus folding): that would merge distinct people at
    company domains. Returns None when there is no usable address.
    """
    if raw is None:
        return None
    email = unicodedata.normalize("NFKC", raw).strip().lower().removeprefix("mailto:")
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain:
        return None
    return email
