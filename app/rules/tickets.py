"""After-sales ticket rules: the status machine and feedback routing (docs/domain.md §6).

Status: `new → open (responded) → pending_customer ↔ open → resolved → closed`, and
`resolved → reopened → open`. Each action is allowed from a set of statuses; a refusal
is a `Check` whose code names the current status, so a client can tell "already
resolved" from "not yet answered" without parsing text.
"""

from __future__ import annotations

from enum import StrEnum

from app.core.enums import FeedbackCategory, TicketStatus, TicketType
from app.rules.common import Check

S = TicketStatus


class TicketAction(StrEnum):
    edit = "edit"
    respond = "respond"
    pause = "pause"
    resume = "resume"
    resolve = "resolve"
    reopen = "reopen"
    close = "close"
    assign = "assign"
    retarget = "retarget"  # a priority or type change


_NOT_CLOSED = frozenset(S) - {S.closed}
_IN_PROGRESS = frozenset({S.new, S.open, S.pending_customer, S.reopened})

ALLOWED_FROM: dict[TicketAction, frozenset[TicketStatus]] = {
    TicketAction.edit: _NOT_CLOSED,
    TicketAction.respond: _NOT_CLOSED,
    TicketAction.assign: _NOT_CLOSED,
    # A resolved ticket's clocks are settled; change priority or type after reopening it.
    TicketAction.retarget: _IN_PROGRESS,
    TicketAction.pause: frozenset({S.open, S.reopened}),
    TicketAction.resume: frozenset({S.pending_customer}),
    TicketAction.resolve: frozenset({S.open, S.pending_customer, S.reopened}),
    TicketAction.reopen: frozenset({S.resolved}),
    TicketAction.close: frozenset({S.resolved}),
}

_MOVES_TO: dict[TicketAction, TicketStatus] = {
    TicketAction.pause: S.pending_customer,
    TicketAction.resume: S.open,
    TicketAction.resolve: S.resolved,
    TicketAction.reopen: S.reopened,
    TicketAction.close: S.closed,
}


def transition_check(action: TicketAction, status: TicketStatus) -> Check | None:
    """None when `action` may happen in `status`; else why not, coded by the status."""
    if status in ALLOWED_FROM[action]:
        return None
    allowed = ", ".join(sorted(ALLOWED_FROM[action]))
    return Check(
        f"ticket_is_{status}",
        f"cannot {action} a ticket that is {status}; allowed from: {allowed}",
        "status",
    )


def status_after(
    action: TicketAction, status: TicketStatus, *, response_counts: bool = False
) -> TicketStatus:
    """The status an allowed action leads to.

    A response that answers the customer (a public one by an agent) opens a new or
    reopened ticket; any other response leaves the status alone.
    """
    if action is TicketAction.respond:
        answered = response_counts and status in (S.new, S.reopened)
        return S.open if answered else status
    return _MOVES_TO.get(action, status)


FEEDBACK_QUEUES: dict[FeedbackCategory, str] = {
    FeedbackCategory.product: "rnd",
    FeedbackCategory.service: "after_sales",
    FeedbackCategory.process: "operations",
}
DEFAULT_QUEUE = "after_sales"


def category_checks(ticket_type: TicketType, category: FeedbackCategory | None) -> list[Check]:
    """Feedback must say what it is about (that routes it); other types carry no category."""
    if ticket_type is TicketType.feedback and category is None:
        return [Check("category_required", "feedback needs a category to be routed", "category")]
    if ticket_type is not TicketType.feedback and category is not None:
        return [Check("category_not_allowed", "only feedback tickets have a category", "category")]
    return []


def queue_for(ticket_type: TicketType, category: FeedbackCategory | None) -> str:
    """Feedback goes to the team that can act on it; everything else to after-sales."""
    if ticket_type is TicketType.feedback and category is not None:
        return FEEDBACK_QUEUES[category]
    return DEFAULT_QUEUE
