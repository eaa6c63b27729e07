"""Every Celery task.  Each is safe to run twice and passes ids, never objects."""

from __future__ import annotations

import logging
import uuid

from hotlead_app.infra.queue import get_celery
from hotlead_app.services import notifications, outbox

log = logging.getLogger(__name__)
app = get_celery()


@app.task(name="email.send_lead_confirmation", acks_late=True)
def send_lead_confirmation(lead_id: str, nonce: str) -> str:
    composed = notifications.compose_lead_confirmation(lead_id=uuid.UUID(lead_id), nonce=nonce)
    if composed is None:
        return "skipped"
    return "composed" if composed.created else "already-composed"


@app.task(name="outbox.drain", acks_late=True)
def drain_outbox() -> int:
    return outbox.drain()
