"""The ticket status machine and feedback routing."""

import pytest

from app.core.enums import FeedbackCategory, TicketStatus, TicketType
from app.rules.tickets import (
    ALLOWED_FROM,
    TicketAction,
    category_checks,
    queue_for,
    status_after,
    transition_check,
)

A, S = TicketAction, TicketStatus


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        (A.pause, S.open, S.pending_customer),
        (A.pause, S.reopened, S.pending_customer),
        (A.resume, S.pending_customer, S.open),
        (A.resolve, S.open, S.resolved),
        (A.resolve, S.pending_customer, S.resolved),
        (A.reopen, S.resolved, S.reopened),
        (A.close, S.resolved, S.closed),
        (A.assign, S.pending_customer, S.pending_customer),
    ],
)
def test_allowed_moves(action: TicketAction, before: TicketStatus, after: TicketStatus) -> None:
    assert transition_check(action, before) is None
    assert status_after(action, before) is after


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (A.resolve, S.new),  # answer the customer first
        (A.pause, S.new),
        (A.resume, S.open),
        (A.reopen, S.open),
        (A.close, S.open),
        (A.reopen, S.closed),
        (A.retarget, S.resolved),
        (A.respond, S.closed),
        (A.edit, S.closed),
    ],
)
def test_refused_moves_name_the_current_status(action: TicketAction, status: TicketStatus) -> None:
    check = transition_check(action, status)
    assert check is not None
    assert (check.code, check.field) == (f"ticket_is_{status}", "status")


def test_a_closed_ticket_allows_nothing() -> None:
    assert all(S.closed not in allowed for allowed in ALLOWED_FROM.values())


@pytest.mark.parametrize(
    ("status", "counts", "after"),
    [
        (S.new, True, S.open),
        (S.reopened, True, S.open),
        (S.new, False, S.new),
        (S.pending_customer, True, S.pending_customer),
        (S.resolved, True, S.resolved),
    ],
)
def test_only_an_answer_opens_a_new_or_reopened_ticket(
    status: TicketStatus, counts: bool, after: TicketStatus
) -> None:
    assert status_after(A.respond, status, response_counts=counts) is after


def test_feedback_is_routed_by_category_and_the_rest_goes_to_after_sales() -> None:
    routed = {category: queue_for(TicketType.feedback, category) for category in FeedbackCategory}
    assert routed == {
        FeedbackCategory.product: "rnd",
        FeedbackCategory.service: "after_sales",
        FeedbackCategory.process: "operations",
    }
    assert queue_for(TicketType.complaint, None) == "after_sales"


def test_category_is_feedback_only_and_required_there() -> None:
    assert [c.code for c in category_checks(TicketType.feedback, None)] == ["category_required"]
    assert category_checks(TicketType.feedback, FeedbackCategory.product) == []
    assert [c.code for c in category_checks(TicketType.software_bug, FeedbackCategory.product)] == [
        "category_not_allowed"
    ]
    assert category_checks(TicketType.software_bug, None) == []
