"""Every table of the platform; importing this module registers them on SQLModel.metadata."""

from hotlead_app.models.email import EmailMessage, EmailStatus
from hotlead_app.models.lead import Lead, LeadRead, LeadStatus
from hotlead_app.models.niche import Niche, NicheRead
from hotlead_app.models.outbox import OutboxMessage

__all__ = [
    "EmailMessage",
    "EmailStatus",
    "Lead",
    "LeadRead",
    "LeadStatus",
    "Niche",
    "NicheRead",
    "OutboxMessage",
]
