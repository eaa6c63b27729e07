"""Builders for test data, written through the services (never around them)."""

from __future__ import annotations

import uuid

from hotlead_app import jobs
from hotlead_app.services import bootstrap

ROOFING_FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {
        "name": "roof_type",
        "label": "Roof type",
        "type": "select",
        "required": True,
        "options": ["asphalt", "metal", "tile", "flat"],
    },
    {"name": "area_sqft", "label": "Roof area", "type": "number", "required": False},
]


def make_niche(slug: str | None = None, fields: list[dict] | None = None) -> str:
    slug = slug or f"niche-{uuid.uuid4().hex[:8]}"
    bootstrap.ensure_niche(
        slug=slug, name=slug.replace("-", " ").title(), fields=fields if fields is not None else ROOFING_FIELDS
    )
    return slug


def unique_email(prefix: str = "person") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


# --------------------------------------------------------------------------- markets and leads
# Niches, levels, providers, money and leads, built through the same services the
# API calls (catalog, ledger, intake, leads), so every audit row and trigger runs.

from dataclasses import dataclass, field  # noqa: E402

from sqlmodel import select  # noqa: E402

from hotlead_app.db import unit_of_work  # noqa: E402
from hotlead_app.domain.actors import admin  # noqa: E402
from hotlead_app.models import (  # noqa: E402
    CompetitionLevelRead,
    NicheRead,
    OutboxMessage,
    ProviderRead,
    SubscriptionRead,
)
from hotlead_app.services import catalog, intake, leads, ledger, tokens  # noqa: E402

ADMIN = admin(uuid.UUID("00000000-0000-4000-8000-00000000a0a0"))
ROOFING_PAYLOAD = {"zip": "30301", "roof_type": "metal", "area_sqft": "1200"}


@dataclass
class Market:
    """One niche with its levels, funded providers and their subscriptions."""

    niche: NicheRead
    levels: list[CompetitionLevelRead]
    providers: list[ProviderRead]
    subscriptions: list[SubscriptionRead] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.niche.slug

    def level(self, name: str) -> CompetitionLevelRead:
        return next(level for level in self.levels if level.name == name)


def deposit(provider_id: uuid.UUID, amount: str, *, key: str | None = None) -> ledger.Posted:
    return ledger.post(
        provider_id=provider_id, type="deposit", amount=amount, key=key or f"test:deposit:{uuid.uuid4()}"
    )


def make_provider(*, name: str | None = None, balance: str | None = None) -> ProviderRead:
    """A provider, funded by one deposit when ``balance`` is given."""
    provider = catalog.create_provider(
        name=name or f"Provider {uuid.uuid4().hex[:6]}", email=unique_email("provider"), actor=ADMIN
    )
    if balance is not None:
        deposit(provider.id, balance)
    return catalog.get_provider(ADMIN, provider_id=provider.id)


def subscribe(provider_id: uuid.UUID, level_id: uuid.UUID, filters: dict | None = None) -> SubscriptionRead:
    return catalog.create_subscription(
        competition_level_id=level_id, filters=filters or {}, actor=ADMIN, provider_id=provider_id
    )


def make_market(
    *,
    levels: list[tuple[str, str, int]] | None = None,
    providers: int = 2,
    balance: str = "50.00",
    fields: list[dict] | None = None,
    slug: str | None = None,
) -> Market:
    """A niche with ``levels`` (name, price, max_providers, in priority order) and
    ``providers`` providers, each funded with ``balance`` and subscribed (no filters)
    to every level."""
    niche = catalog.create_niche(
        slug=slug or f"market-{uuid.uuid4().hex[:8]}",
        name="Test market",
        fields=fields if fields is not None else ROOFING_FIELDS,
        actor=ADMIN,
    )
    made_levels = [
        catalog.create_level(
            niche_id=niche.id,
            name=name,
            price_per_lead=price,
            max_providers=max_providers,
            priority_order=order,
            actor=ADMIN,
        )
        for order, (name, price, max_providers) in enumerate(levels or [("Shared", "10.00", 2)], start=1)
    ]
    market = Market(niche=niche, levels=made_levels, providers=[])
    for _ in range(providers):
        provider = make_provider(balance=balance)
        market.providers.append(provider)
        market.subscriptions.extend(subscribe(provider.id, level.id) for level in made_levels)
    return market


def confirmation_token(lead_id: uuid.UUID) -> str:
    """The raw token the latest confirmation email of this lead carries."""
    with unit_of_work() as uow:
        job = uow.session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.task == jobs.EMAIL_LEAD_CONFIRMATION,
                OutboxMessage.args["lead_id"].astext == str(lead_id),
            )
            .order_by(OutboxMessage.created_at.desc())
        ).first()
    assert job is not None, f"lead {lead_id} has no confirmation job"
    return tokens.make_token(lead_id, job.args["nonce"])


def submitted_lead(slug: str, payload: dict | None = None) -> uuid.UUID:
    return intake.submit_lead(niche_slug=slug, email=unique_email("buyer"), payload=dict(payload or ROOFING_PAYLOAD)).id


def confirmed_lead(slug: str, payload: dict | None = None) -> uuid.UUID:
    lead_id = submitted_lead(slug, payload)
    leads.confirm_lead(token=confirmation_token(lead_id))
    return lead_id


def approved_lead(slug: str, payload: dict | None = None) -> uuid.UUID:
    """submit -> confirm -> approve: a lead waiting for the distribution engine."""
    lead_id = confirmed_lead(slug, payload)
    leads.approve_lead(lead_id=lead_id, actor=ADMIN)
    return lead_id


def assignments_of(lead_id: uuid.UUID) -> list:
    """The lead's assignments (LeadAssignment rows, detached) in the order they were made."""
    from hotlead_app.models import LeadAssignment

    with unit_of_work() as uow:
        return list(
            uow.session.exec(
                select(LeadAssignment).where(LeadAssignment.lead_id == lead_id).order_by(LeadAssignment.received_at)
            ).all()
        )
