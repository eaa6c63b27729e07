"""Every table of the platform; importing this module registers them on SQLModel.metadata."""

from hotlead_app.domain.leads import LeadStatus
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.models.api_key import ApiKey
from hotlead_app.models.assignment import LeadAssignment
from hotlead_app.models.audit import ActorRole, AuditLog
from hotlead_app.models.distribution import DistributionAttempt, DistributionRecord
from hotlead_app.models.email import EmailEvent, EmailMessage, EmailStatus
from hotlead_app.models.geo import ZipCentroid
from hotlead_app.models.inbox import AssignmentNote, LeadNotice, NotificationSettings
from hotlead_app.models.lead import Lead, LeadRead
from hotlead_app.models.level import CompetitionLevel, CompetitionLevelRead
from hotlead_app.models.niche import Niche, NicheRead
from hotlead_app.models.outbox import OutboxMessage
from hotlead_app.models.partner import Partner
from hotlead_app.models.payment import Deposit, ReconciliationIssue, WebhookEvent
from hotlead_app.models.provider import ProviderRead, ProviderStatus, ServiceProvider
from hotlead_app.models.recharge import BillingProfile, Recharge
from hotlead_app.models.report import LedgerDailyTotal
from hotlead_app.models.returns import LeadOutcome, ReturnRequest
from hotlead_app.models.session import AuthSession
from hotlead_app.models.subscription import (
    PAUSE_REASON_TEXT,
    PauseReason,
    ProviderSubscription,
    SubscriptionRead,
)
from hotlead_app.models.user import User, UserRole
from hotlead_app.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "PAUSE_REASON_TEXT",
    "ActorRole",
    "ApiKey",
    "AssignmentNote",
    "AuditLog",
    "AuthSession",
    "BillingProfile",
    "CompetitionLevel",
    "CompetitionLevelRead",
    "Deposit",
    "DistributionAttempt",
    "DistributionRecord",
    "EmailEvent",
    "EmailMessage",
    "EmailStatus",
    "Lead",
    "LeadAssignment",
    "LeadNotice",
    "LeadOutcome",
    "LeadRead",
    "LeadStatus",
    "LedgerDailyTotal",
    "LedgerEntry",
    "LedgerEntryRead",
    "LedgerEntryType",
    "Niche",
    "NicheRead",
    "NotificationSettings",
    "OutboxMessage",
    "Partner",
    "PauseReason",
    "ProviderRead",
    "ProviderStatus",
    "ProviderSubscription",
    "Recharge",
    "ReconciliationIssue",
    "ReturnRequest",
    "ServiceProvider",
    "SubscriptionRead",
    "User",
    "UserRole",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "ZipCentroid",
]

from hotlead_app.models.ledger import LedgerEntry, LedgerEntryRead
