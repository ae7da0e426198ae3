"""Every event type the service emits, one list: the change feed's and webhooks' contract.

A type is `<record type>.<what happened>`. Each state change of the SOP has its own type;
edits that change no state are `<record type>.updated`.
"""

from enum import StrEnum


class EventType(StrEnum):
    lead_created = "lead.created"
    lead_updated = "lead.updated"
    lead_status_changed = "lead.status_changed"
    lead_qualified = "lead.qualified"
    lead_touched = "lead.touched"
    lead_converted = "lead.converted"
    customer_created = "customer.created"
    customer_updated = "customer.updated"
    customer_archived = "customer.archived"
    customer_tier_changed = "customer.tier_changed"
    customer_tier_overridden = "customer.tier_overridden"
    customer_marked_lost = "customer.marked_lost"
    customer_lost_mark_cleared = "customer.lost_mark_cleared"
    contact_created = "contact.created"
    contact_updated = "contact.updated"
    contact_archived = "contact.archived"
    deal_created = "deal.created"
    deal_updated = "deal.updated"
    deal_stage_changed = "deal.stage_changed"
    deal_presales_approved = "deal.presales_approved"
    deal_bid_submitted = "deal.bid_submitted"
    quote_created = "quote.created"
    quote_updated = "quote.updated"
    quote_submitted = "quote.submitted"
    quote_approved = "quote.approved"
    quote_rejected = "quote.rejected"
    quote_sent = "quote.sent"
    quote_accepted = "quote.accepted"
    quote_expired = "quote.expired"
    contract_created = "contract.created"
    contract_updated = "contract.updated"
    contract_submitted_for_review = "contract.submitted_for_review"
    contract_returned_to_draft = "contract.returned_to_draft"
    contract_approved = "contract.approved"
    contract_signed = "contract.signed"
    contract_accepted = "contract.accepted"
    contract_closed = "contract.closed"
    contract_terminated = "contract.terminated"
    delivery_scheduled = "delivery.scheduled"
    delivery_progressed = "delivery.progressed"
    delivery_accepted = "delivery.accepted"
    milestone_paid = "milestone.paid"
    change_request_created = "change_request.created"
    change_request_approved = "change_request.approved"
    change_request_rejected = "change_request.rejected"
    ticket_created = "ticket.created"
    ticket_updated = "ticket.updated"
    ticket_responded = "ticket.responded"
    ticket_paused = "ticket.paused"
    ticket_resumed = "ticket.resumed"
    ticket_resolved = "ticket.resolved"
    ticket_reopened = "ticket.reopened"
    ticket_closed = "ticket.closed"
    ticket_assigned = "ticket.assigned"
    ticket_retargeted = "ticket.retargeted"
    ticket_sla_at_risk = "ticket.sla_at_risk"
    ticket_sla_breached = "ticket.sla_breached"
    task_created = "task.created"
    task_updated = "task.updated"
    task_completed = "task.completed"
    task_cancelled = "task.cancelled"
    activity_created = "activity.created"
    activity_updated = "activity.updated"

    @property
    def record_type(self) -> str:
        return self.value.split(".", 1)[0]


RECORD_TYPES = tuple(sorted({t.record_type for t in EventType}))
