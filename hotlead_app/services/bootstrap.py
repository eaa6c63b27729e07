"""Start-up data: the bootstrap admin and, in dev, a demo niche to try the form on."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.models import Niche
from hotlead_app.settings import get_settings

DEMO_NICHES: list[dict[str, Any]] = [
    {
        "slug": "roofing",
        "name": "Roofing",
        "fields": [
            {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
            {
                "name": "roof_type",
                "label": "Roof type",
                "type": "select",
                "required": True,
                "options": ["asphalt", "metal", "tile", "flat"],
            },
            {"name": "area_sqft", "label": "Roof area (sq ft)", "type": "number", "required": False},
            {"name": "details", "label": "Anything else?", "type": "text", "required": False},
        ],
    },
    {
        "slug": "plumbing",
        "name": "Plumbing",
        "fields": [
            {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
            {
                "name": "urgency",
                "label": "How urgent?",
                "type": "select",
                "required": True,
                "options": ["today", "this week", "flexible"],
            },
            {"name": "details", "label": "What is the problem?", "type": "text", "required": False},
        ],
    },
]


def ensure_niche(*, slug: str, name: str, fields: list[dict]) -> bool:
    """Create the niche unless its slug exists; True when it was created."""
    with unit_of_work() as uow:
        if uow.session.exec(select(Niche).where(Niche.slug == slug)).first() is not None:
            return False
        uow.session.add(Niche(slug=slug, name=name, fields=fields))
        return True


def bootstrap() -> list[str]:
    from hotlead_app.services import accounts

    settings = get_settings()
    lines: list[str] = []
    created = accounts.ensure_bootstrap_admin(
        email=settings.bootstrap_admin_email, password=settings.bootstrap_admin_password
    )
    if created is not None:
        lines.append(f"created admin {created.email}")
    if settings.is_dev:
        for niche in DEMO_NICHES:
            if ensure_niche(**niche):
                lines.append(f"created demo niche {niche['slug']}")
    return lines
