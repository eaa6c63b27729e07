"""Builders for test data, written through the services (never around them)."""

from __future__ import annotations

import uuid

from hotlead_app.services import bootstrap

ROOFING_FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {"name": "roof_type", "label": "Roof type", "type": "select", "required": True,
     "options": ["asphalt", "metal", "tile", "flat"]},
    {"name": "area_sqft", "label": "Roof area", "type": "number", "required": False},
]


def make_niche(slug: str | None = None, fields: list[dict] | None = None) -> str:
    slug = slug or f"niche-{uuid.uuid4().hex[:8]}"
    bootstrap.ensure_niche(slug=slug, name=slug.replace("-", " ").title(),
                           fields=fields if fields is not None else ROOFING_FIELDS)
    return slug


def unique_email(prefix: str = "person") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
