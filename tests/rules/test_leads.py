from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.core.enums import OUTBOUND_SOURCES, LeadGrade, LeadSource, LeadStatus, Seniority
from app.rules.leads import (
    BREAKDOWN_KEYS,
    DEFAULT_LEAD_POLICY,
    LeadPolicy,
    LeadQualification,
    add_months,
    is_inbound,
    lead_grade,
    lead_status_transition_allowed,
    next_touch_at,
    normalize_email,
    score_lead,
    seniority_for_grade,
)

TODAY = date(2025, 1, 15)
MAN = {"budget_confirmed": True, "authority_confirmed": True, "need_confirmed": True}


def fullwidth(text: str) -> str:
    """ASCII -> the full-width forms Chinese input methods often produce."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def score(policy: LeadPolicy = DEFAULT_LEAD_POLICY, today: date = TODAY, **facts):
    return score_lead(LeadQualification(**facts), policy, today)


# --- weights -----------------------------------------------------------------------------


def test_nothing_confirmed_scores_zero_grade_c():
    result = score()
    assert result.score == 0
    assert result.grade is LeadGrade.C


@pytest.mark.parametrize(
    ("fact", "key", "points"),
    [("budget_confirmed", "budget", 30), ("authority_confirmed", "authority", 25),
     ("need_confirmed", "need", 30)],
)  # fmt: skip
def test_each_man_fact_earns_its_default_weight(fact, key, points):
    result = score(**{fact: True})
    assert result.score == points
    assert result.breakdown[key] == points


def test_breakdown_has_every_key_and_sums_to_score():
    result = score(**MAN, industry="biomedicine", decision_maker_count=5)
    assert tuple(result.breakdown) == BREAKDOWN_KEYS
    assert sum(result.breakdown.values()) == result.score == 85


# --- timeline: calendar months from today, inclusive -------------------------------------


@pytest.mark.parametrize(
    ("expected", "points"),
    [
        (date(2025, 4, 15), 15),  # exactly 3 months
        (date(2025, 4, 16), 8),  # one day past 3 months
        (date(2025, 7, 15), 8),  # exactly 6 months
        (date(2025, 7, 16), 0),  # one day past 6 months
        (date(2024, 12, 1), 15),  # already past: late, still near
        (None, 0),
    ],
)
def test_timeline_points_at_the_month_edges(expected, points):
    assert score(expected_purchase_date=expected).breakdown["timeline"] == points


def test_timeline_month_end_is_clamped():
    today = date(2025, 11, 30)
    assert score(today=today, expected_purchase_date=date(2026, 2, 28)).breakdown["timeline"] == 15
    assert score(today=today, expected_purchase_date=date(2026, 3, 1)).breakdown["timeline"] == 8


def test_add_months_clamps_to_month_end_and_crosses_years():
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 15), 6) == date(2025, 7, 15)


# --- industry and decision chain ---------------------------------------------------------


@pytest.mark.parametrize(
    ("industry", "points"),
    [("new_energy", 10), (" New Energy ", 10), ("BIO-MEDICINE", 0), ("biomedicine", 10),
     ("retail", 0), (None, 0)],
)  # fmt: skip
def test_high_growth_industry_bonus(industry, points):
    assert score(industry=industry).breakdown["industry"] == points


def test_high_growth_industries_are_configurable_and_normalised():
    policy = LeadPolicy(high_growth_industries=["Robotics", "robotics", "Cloud Computing"])
    assert policy.high_growth_industries == ("cloud_computing", "robotics")
    assert score(policy, industry="cloud computing").breakdown["industry"] == 10
    assert score(policy, industry="new_energy").breakdown["industry"] == 0


@pytest.mark.parametrize(("count", "points"), [(None, 0), (0, 0), (3, 0), (4, -10), (9, -10)])
def test_more_than_three_decision_makers_costs_ten(count, points):
    assert score(**MAN, decision_maker_count=count).breakdown["decision_chain"] == points


# --- clamp -------------------------------------------------------------------------------


def test_score_is_clamped_to_100():
    result = score(**MAN, expected_purchase_date=TODAY, industry="new_energy")
    assert result.score == 100
    assert result.breakdown["clamp"] == -10
    assert "raw score 110 clamped to 100" in result.reasons


def test_score_is_clamped_to_zero():
    result = score(decision_maker_count=5)
    assert result.score == 0
    assert result.breakdown["clamp"] == 10


# --- grades ------------------------------------------------------------------------------


def test_grade_a_boundary_69_vs_70_with_man_confirmed():
    # budget weight tuned so MAN alone lands exactly on the boundary
    at_70 = score(LeadPolicy(budget_points=15), **MAN)
    at_69 = score(LeadPolicy(budget_points=14), **MAN)
    assert (at_70.score, at_70.grade) == (70, LeadGrade.A)
    assert (at_69.score, at_69.grade) == (69, LeadGrade.B)


def test_score_70_without_budget_confirmed_is_only_b():
    result = score(authority_confirmed=True, need_confirmed=True, expected_purchase_date=TODAY)
    assert result.score == 70
    assert result.grade is LeadGrade.B
    assert "not all confirmed" in result.reasons[-1]


def test_grade_b_boundary_39_vs_40():
    at_40 = score(authority_confirmed=True, expected_purchase_date=TODAY)
    at_39 = score(LeadPolicy(authority_points=24), authority_confirmed=True,
                  expected_purchase_date=TODAY)  # fmt: skip
    assert (at_40.score, at_40.grade) == (40, LeadGrade.B)
    assert (at_39.score, at_39.grade) == (39, LeadGrade.C)


def test_man_confirmed_with_complex_chain_is_still_a():
    result = score(**MAN, decision_maker_count=4)
    assert (result.score, result.grade) == (75, LeadGrade.A)


@pytest.mark.parametrize(
    ("value", "man", "grade"),
    [(100, True, LeadGrade.A), (70, True, LeadGrade.A), (69, True, LeadGrade.B),
     (100, False, LeadGrade.B), (40, False, LeadGrade.B), (39, True, LeadGrade.C),
     (0, False, LeadGrade.C)],
)  # fmt: skip
def test_lead_grade_cut_offs(value, man, grade):
    assert lead_grade(value, man, DEFAULT_LEAD_POLICY) is grade


def test_grade_a_goes_to_senior_reps():
    assert seniority_for_grade(LeadGrade.A) is Seniority.senior
    assert seniority_for_grade(LeadGrade.B) is Seniority.standard
    assert seniority_for_grade(LeadGrade.C) is Seniority.standard


# --- policy as data ----------------------------------------------------------------------


def test_policy_round_trips_through_json():
    dumped = DEFAULT_LEAD_POLICY.model_dump(mode="json")
    assert LeadPolicy.model_validate(dumped) == DEFAULT_LEAD_POLICY
    assert dumped["budget_points"] == 30
    assert dumped["grade_a_min_score"] == 70
    assert "new_energy" in dumped["high_growth_industries"]


def test_policy_is_frozen_and_rejects_unknown_or_inconsistent_settings():
    with pytest.raises(ValidationError):
        DEFAULT_LEAD_POLICY.budget_points = 50  # type: ignore[misc]
    with pytest.raises(ValidationError):
        LeadPolicy(budgte_points=10)
    with pytest.raises(ValidationError):
        LeadPolicy(grade_a_min_score=30, grade_b_min_score=40)
    with pytest.raises(ValidationError):
        LeadPolicy(timeline_near_months=7)


def test_lead_score_serialises_to_json():
    dumped = score(**MAN).model_dump(mode="json")
    assert dumped["grade"] == "A"
    assert dumped["breakdown"]["budget"] == 30
    assert isinstance(dumped["reasons"], list)


# --- cadence -----------------------------------------------------------------------------


def test_parked_leads_are_touched_every_90_days():
    parked_at = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
    expected = parked_at + timedelta(days=90)
    assert next_touch_at(LeadStatus.nurturing, parked_at, DEFAULT_LEAD_POLICY) == expected
    assert next_touch_at(LeadStatus.archived, parked_at, DEFAULT_LEAD_POLICY) == expected
    assert next_touch_at(LeadStatus.nurturing, parked_at, LeadPolicy(touch_interval_days=30)) == (
        parked_at + timedelta(days=30)
    )


@pytest.mark.parametrize(
    "status",
    [LeadStatus.new, LeadStatus.contacted, LeadStatus.qualified, LeadStatus.converted,
     LeadStatus.disqualified],
)  # fmt: skip
def test_active_or_closed_leads_have_no_next_touch(status):
    assert next_touch_at(status, datetime(2025, 1, 15, tzinfo=UTC), DEFAULT_LEAD_POLICY) is None


# --- status flow -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (LeadStatus.new, LeadStatus.contacted),
        (LeadStatus.new, LeadStatus.disqualified),
        (LeadStatus.contacted, LeadStatus.qualified),
        (LeadStatus.contacted, LeadStatus.nurturing),
        (LeadStatus.contacted, LeadStatus.archived),
        (LeadStatus.contacted, LeadStatus.disqualified),
        (LeadStatus.qualified, LeadStatus.converted),
        (LeadStatus.qualified, LeadStatus.nurturing),
        (LeadStatus.nurturing, LeadStatus.contacted),
        (LeadStatus.nurturing, LeadStatus.qualified),
        (LeadStatus.nurturing, LeadStatus.archived),
        (LeadStatus.archived, LeadStatus.contacted),
    ],
)
def test_allowed_lead_transitions(from_status, to_status):
    assert lead_status_transition_allowed(from_status, to_status)


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (LeadStatus.new, LeadStatus.qualified),  # must be contacted first
        (LeadStatus.new, LeadStatus.converted),
        (LeadStatus.contacted, LeadStatus.converted),  # must be qualified first
        (LeadStatus.nurturing, LeadStatus.converted),
        (LeadStatus.archived, LeadStatus.qualified),
        (LeadStatus.qualified, LeadStatus.new),
        (LeadStatus.contacted, LeadStatus.contacted),  # not a transition
    ],
)
def test_forbidden_lead_transitions(from_status, to_status):
    assert not lead_status_transition_allowed(from_status, to_status)


@pytest.mark.parametrize("final", [LeadStatus.converted, LeadStatus.disqualified])
def test_converted_and_disqualified_are_final(final):
    assert not any(lead_status_transition_allowed(final, status) for status in LeadStatus)


# --- inbound / outbound ------------------------------------------------------------------


def test_only_outbound_channels_are_not_inbound():
    assert not is_inbound(LeadSource.telemarketing)
    assert not is_inbound(LeadSource.email_campaign)
    assert not is_inbound(LeadSource.direct_mail)
    assert is_inbound(LeadSource.trade_show)
    assert is_inbound(LeadSource.website_form)
    assert is_inbound(LeadSource.referral)
    assert {s for s in LeadSource if not is_inbound(s)} == OUTBOUND_SOURCES


# --- duplicate keys ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("  Li.Wei@Example.COM ", "li.wei@example.com"),
        ("mailto:sales@acme.cn", "sales@acme.cn"),
        (fullwidth("li@example.com"), "li@example.com"),  # Chinese input method
        ("li+crm@example.com", "li+crm@example.com"),  # plus tags kept
        ("not-an-email", None),
        ("@example.com", None),
        ("li@", None),
        ("a@b@c", None),
        ("   ", None),
        (None, None),
    ],
)
def test_normalize_email(raw, key):
    assert normalize_email(raw) == key
