"""All table models, imported here so Alembic sees the whole metadata."""

from app.models.base import metadata
from app.models.campaigns import Campaign
from app.models.contracts import Contract, ContractChangeRequest, Delivery, PaymentMilestone
from app.models.customers import Activity, Contact, Customer
from app.models.deals import Deal, DealStageChange, DealStageStay
from app.models.events import Event
from app.models.leads import Lead
from app.models.quotes import Quote, QuoteLineItem, QuoteVersion
from app.models.system import AuditEntry, IdempotencyKey
from app.models.tasks import Task
from app.models.tickets import Ticket, TicketSlaEvent
from app.models.users import ApiKey, InstanceSecret, LoginThrottle, Team, User
from app.models.webhooks import WebhookAttempt, WebhookCursor, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Activity",
    "ApiKey",
    "AuditEntry",
    "Campaign",
    "Contact",
    "Contract",
    "ContractChangeRequest",
    "Customer",
    "Deal",
    "DealStageChange",
    "DealStageStay",
    "Delivery",
    "Event",
    "IdempotencyKey",
    "InstanceSecret",
    "Lead",
    "LoginThrottle",
    "PaymentMilestone",
    "Quote",
    "QuoteLineItem",
    "QuoteVersion",
    "Task",
    "Team",
    "Ticket",
    "TicketSlaEvent",
    "User",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
]
