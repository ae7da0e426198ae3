from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from app.core.enums import DealStage, LostReason, Role
from app.rules.deals import (
    DealFacts,
    DealPolicy,
    Requirement,
    RequirementKind,
    TransitionKind,
    evaluate_transition,
    is_stale,
    reachable_transitions,
    transition_kind,
    weighted_amount,
)

POLICY = DealPolicy()
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

# A deal that satisfies every key node: each test removes exactly what it is about.
READY = DealFacts(
    stage=DealStage.development,
    customer_id=uuid4(),
    need_description="Replace three packaging lines",
    estimated_amount=Decimal("120000.00"),
    expected_close_date=date(2025, 6, 30),
    contact_count=2,
    presales_approved=True,
    decision_maker_engaged=True,
    approved_quote=True,
    bid_submitted_at=NOW,
    bid_amount=Decimal("118000.00"),
    contract_signed=True,
    delivery_accepted=True,
)


def at(stage: DealStage, **changes: Any) -> DealFacts:
    return replace(READY, stage=stage, **changes)


def codes(facts: DealFacts, target: DealStage, **kwargs: Any) -> tuple[str, ...]:
    return evaluate_transition(facts, target, POLICY, **kwargs).codes


# --- forward moves and their gates -----------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "target"),
    [
        (DealStage.development, DealStage.initiation),
        (DealStage.initiation, DealStage.proposal),
        (DealStage.proposal, DealStage.bidding),
        (DealStage.bidding, DealStage.negotiation),
        (DealStage.negotiation, DealStage.implementation),
        (DealStage.implementation, DealStage.won),
    ],
)
def test_forward_to_next_stage_passes_when_key_node_holds(
    stage: DealStage, target: DealStage
) -> None:
    result = evaluate_transition(at(stage), target, POLICY)
    assert result.ok
    assert result.unmet == ()


def test_leaving_development_lists_every_missing_project_fact() -> None:
    empty = DealFacts(stage=DealStage.development)
    assert codes(empty, DealStage.initiation) == (
        "gate.customer_linked",
        "gate.need_described",
        "gate.amount_estimated",
        "gate.close_date_expected",
        "gate.contact_identified",
    )


def test_field_checks_name_the_deal_field_and_evidence_checks_do_not() -> None:
    unmet = evaluate_transition(
        DealFacts(stage=DealStage.development), DealStage.initiation, POLICY
    )
    fields = {check.code: check.field for check in unmet.unmet}
    assert fields["gate.customer_linked"] == "customer_id"
    assert fields["gate.contact_identified"] is None


def test_blank_need_description_does_not_count_as_described() -> None:
    assert codes(at(DealStage.development, need_description="   "), DealStage.initiation) == (
        "gate.need_described",
    )


def test_estimated_amount_zero_fails_and_one_cent_passes() -> None:
    zero = at(DealStage.development, estimated_amount=Decimal("0.00"))
    cent = at(DealStage.development, estimated_amount=Decimal("0.01"))
    assert codes(zero, DealStage.initiation) == ("gate.amount_estimated",)
    assert codes(cent, DealStage.initiation) == ()


def test_development_needs_at_least_one_contact() -> None:
    assert codes(at(DealStage.development, contact_count=0), DealStage.initiation) == (
        "gate.contact_identified",
    )
    assert codes(at(DealStage.development, contact_count=1), DealStage.initiation) == ()


def test_initiation_needs_presales_approval() -> None:
    facts = at(DealStage.initiation, presales_approved=False)
    assert codes(facts, DealStage.proposal) == ("gate.presales_approved",)


def test_proposal_needs_decision_maker_and_approved_quote() -> None:
    facts = at(DealStage.proposal, decision_maker_engaged=False, approved_quote=False)
    assert codes(facts, DealStage.bidding) == (
        "gate.decision_maker_engaged",
        "gate.quote_approved",
    )


def test_bidding_needs_bid_date_and_amount() -> None:
    facts = at(DealStage.bidding, bid_submitted_at=None, bid_amount=None)
    assert codes(facts, DealStage.negotiation) == ("gate.bid_submitted", "gate.bid_amount_set")


def test_negotiation_needs_signed_contract() -> None:
    facts = at(DealStage.negotiation, contract_signed=False)
    assert codes(facts, DealStage.implementation) == ("gate.contract_signed",)


def test_implementation_to_won_needs_delivery_accepted() -> None:
    facts = at(DealStage.implementation, delivery_accepted=False)
    assert codes(facts, DealStage.won) == ("gate.delivery_accepted",)


def test_gate_checks_only_the_stage_being_left() -> None:
    # Later evidence missing does not block an early step.
    facts = at(DealStage.development, presales_approved=False, contract_signed=False)
    assert evaluate_transition(facts, DealStage.initiation, POLICY).ok


def test_skipping_a_stage_is_refused() -> None:
    assert codes(at(DealStage.development), DealStage.proposal) == ("transition.skip_not_allowed",)


def test_won_only_from_implementation() -> None:
    assert codes(at(DealStage.negotiation), DealStage.won) == ("transition.skip_not_allowed",)


def test_same_stage_is_refused() -> None:
    assert codes(at(DealStage.bidding), DealStage.bidding) == ("transition.same_stage",)


# --- backwards, lost, closed, reopen ---------------------------------------------------


def test_back_one_stage_with_reason_is_allowed() -> None:
    result = evaluate_transition(
        at(DealStage.bidding), DealStage.proposal, POLICY, reason="Tender postponed"
    )
    assert result.ok


def test_back_one_stage_without_reason_is_refused() -> None:
    assert codes(at(DealStage.bidding), DealStage.proposal, reason="  ") == (
        "transition.reason_required",
    )


def test_back_two_stages_is_refused() -> None:
    assert codes(at(DealStage.bidding), DealStage.initiation, reason="x") == (
        "transition.back_more_than_one_stage",
    )


@pytest.mark.parametrize("stage", list(DealStage)[:6])
def test_lost_is_allowed_from_every_open_stage_with_a_reason(stage: DealStage) -> None:
    facts = DealFacts(stage=stage)  # no evidence at all: losing needs none
    assert evaluate_transition(facts, DealStage.lost, POLICY, lost_reason=LostReason.price).ok


def test_lost_without_lost_reason_is_refused() -> None:
    assert codes(at(DealStage.proposal), DealStage.lost) == ("transition.lost_reason_required",)


def test_lost_reason_other_needs_text() -> None:
    facts = at(DealStage.proposal)
    assert codes(facts, DealStage.lost, lost_reason=LostReason.other) == (
        "transition.lost_reason_text_required",
    )
    assert codes(facts, DealStage.lost, lost_reason=LostReason.other, reason="Merged") == ()


@pytest.mark.parametrize("closed", [DealStage.won, DealStage.lost])
def test_closed_deal_cannot_move_except_reopen(closed: DealStage) -> None:
    facts = at(closed, closed_from_stage=DealStage.negotiation)
    assert codes(facts, DealStage.implementation, reason="x", actor_role=Role.manager) == (
        "transition.deal_closed",
    )


def test_won_deal_cannot_be_marked_lost() -> None:
    facts = at(DealStage.won, closed_from_stage=DealStage.implementation)
    assert codes(facts, DealStage.lost, lost_reason=LostReason.price) == ("transition.deal_closed",)


@pytest.mark.parametrize("role", [Role.manager, Role.director, Role.admin])
def test_reopen_by_manager_or_above_returns_to_closed_from_stage(role: Role) -> None:
    facts = at(DealStage.lost, closed_from_stage=DealStage.bidding)
    result = evaluate_transition(
        facts, DealStage.bidding, POLICY, reason="Budget found", actor_role=role
    )
    assert result.ok


@pytest.mark.parametrize("role", [Role.rep, Role.support_agent, None])
def test_reopen_by_rep_is_refused(role: Role | None) -> None:
    facts = at(DealStage.lost, closed_from_stage=DealStage.bidding)
    assert codes(facts, DealStage.bidding, reason="Budget found", actor_role=role) == (
        "transition.reopen_requires_manager",
    )


def test_reopen_reports_missing_role_and_reason_together() -> None:
    facts = at(DealStage.won, closed_from_stage=DealStage.implementation)
    assert codes(facts, DealStage.implementation, actor_role=Role.rep) == (
        "transition.reopen_requires_manager",
        "transition.reason_required",
    )


def test_reopen_without_known_closed_from_stage_is_refused() -> None:
    facts = at(DealStage.lost, closed_from_stage=None)
    assert codes(facts, DealStage.bidding, reason="x", actor_role=Role.director) == (
        "transition.reopen_stage_unknown",
    )


def test_transition_kind_names_each_move() -> None:
    assert transition_kind(at(DealStage.bidding), DealStage.negotiation) is TransitionKind.forward
    assert transition_kind(at(DealStage.bidding), DealStage.proposal) is TransitionKind.back
    assert transition_kind(at(DealStage.bidding), DealStage.lost) is TransitionKind.lose
    assert transition_kind(at(DealStage.bidding), DealStage.development) is None


# --- dry run ---------------------------------------------------------------------------


def test_dry_run_lists_next_previous_and_lost_with_their_checks() -> None:
    facts = at(DealStage.proposal, approved_quote=False)
    options = {o.target: o for o in reachable_transitions(facts, POLICY)}
    assert set(options) == {DealStage.bidding, DealStage.initiation, DealStage.lost}
    assert [c.code for c in options[DealStage.bidding].unmet] == ["gate.quote_approved"]
    assert not options[DealStage.bidding].ok
    assert options[DealStage.initiation].ok and options[DealStage.initiation].reason_required
    assert options[DealStage.lost].ok and options[DealStage.lost].lost_reason_required


def test_dry_run_from_development_has_no_previous_stage() -> None:
    targets = [o.target for o in reachable_transitions(at(DealStage.development), POLICY)]
    assert targets == [DealStage.initiation, DealStage.lost]


def test_dry_run_from_implementation_offers_won() -> None:
    targets = [o.target for o in reachable_transitions(at(DealStage.implementation), POLICY)]
    assert targets[0] == DealStage.won


def test_dry_run_on_closed_deal_offers_only_reopen_and_checks_the_actor() -> None:
    facts = at(DealStage.lost, closed_from_stage=DealStage.proposal)
    (rep_view,) = reachable_transitions(facts, POLICY, actor_role=Role.rep)
    (manager_view,) = reachable_transitions(facts, POLICY, actor_role=Role.manager)
    assert rep_view.target == DealStage.proposal and rep_view.kind is TransitionKind.reopen
    assert [c.code for c in rep_view.unmet] == ["transition.reopen_requires_manager"]
    assert manager_view.ok


# --- gates are data ---------------------------------------------------------------------


def test_a_company_can_add_a_requirement_without_code_changes() -> None:
    stricter = POLICY.model_copy(
        update={
            "gates": tuple(
                g.model_copy(
                    update={
                        "requirements": (
                            *g.requirements,
                            Requirement(
                                code="gate.three_contacts",
                                kind=RequirementKind.evidence,
                                fact="contact_count",
                                test="at_least",
                                minimum=3,
                                message="Map at least three contacts.",
                            ),
                        )
                    }
                )
                if g.from_stage is DealStage.development
                else g
                for g in POLICY.gates
            )
        }
    )
    two = at(DealStage.development, contact_count=2)
    three = at(DealStage.development, contact_count=3)
    assert evaluate_transition(two, DealStage.initiation, stricter).codes == (
        "gate.three_contacts",
    )
    assert evaluate_transition(three, DealStage.initiation, stricter).ok


def test_requirement_on_unknown_fact_is_rejected_at_load_time() -> None:
    with pytest.raises(ValidationError):
        Requirement(code="x", kind=RequirementKind.field, fact="budjet", message="typo")


def test_policy_round_trips_through_json() -> None:
    dumped = POLICY.model_dump(mode="json")
    assert dumped["win_probability_pct"]["development"] == "10.00"
    assert dumped["stale_after_days"] == 30
    assert DealPolicy.model_validate(dumped) == POLICY


# --- forecast and staleness ------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (DealStage.development, "10000.00"),
        (DealStage.initiation, "20000.00"),
        (DealStage.proposal, "40000.00"),
        (DealStage.bidding, "60000.00"),
        (DealStage.negotiation, "80000.00"),
        (DealStage.implementation, "95000.00"),
        (DealStage.won, "100000.00"),
        (DealStage.lost, "0.00"),
    ],
)
def test_weighted_amount_uses_stage_probability(stage: DealStage, expected: str) -> None:
    assert weighted_amount(Decimal("100000"), stage, POLICY) == Decimal(expected)


def test_weighted_amount_rounds_half_up_to_cents() -> None:
    # 0.05 * 10 % = 0.005, rounded half up to 0.01
    assert weighted_amount(Decimal("0.05"), DealStage.development, POLICY) == Decimal("0.01")


def test_deal_is_stale_at_exactly_thirty_days() -> None:
    assert is_stale(NOW - timedelta(days=30), NOW, POLICY)


def test_deal_is_not_stale_one_second_before_thirty_days() -> None:
    assert not is_stale(NOW - timedelta(days=30) + timedelta(seconds=1), NOW, POLICY)


def test_closed_deal_is_never_stale() -> None:
    assert not is_stale(NOW - timedelta(days=400), NOW, POLICY, stage=DealStage.won)


def test_stale_check_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        is_stale(datetime(2025, 1, 1), NOW, POLICY)
