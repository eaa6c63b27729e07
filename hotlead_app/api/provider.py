"""Provider endpoints (role provider; only its own data)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from hotlead_app.api.deps import require_provider
from hotlead_app.api.pagination import PageParams, page
from hotlead_app.domain import money
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.models import ProviderRead, SubscriptionRead
from hotlead_app.services import auth, catalog, distribution, ledger
from hotlead_app.services.reads import lead_inbox, niches
from hotlead_app.services.reads.missed_leads import reason_text as missed_reason_text

router = APIRouter(prefix="/provider", tags=["provider"])


def _subscription(s: SubscriptionRead) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "competition_level_id": str(s.competition_level_id),
        "filters": s.filters,
        "active": s.active,
        "pause_reason": s.pause_reason,
        "schedule": s.schedule,
        "caps": s.caps,
        "leads_from": s.leads_from.isoformat() if s.leads_from else None,
        "last_received_at": s.last_received_at.isoformat() if s.last_received_at else None,
        "created_at": s.created_at.isoformat(),
    }


def _entry(e) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "seq": e.seq,
        "type": e.type.value,
        "amount": money.format_money(e.amount),
        "balance_after": money.format_money(e.balance_after),
        "related_entity_type": e.related_entity_type,
        "related_entity_id": str(e.related_entity_id) if e.related_entity_id else None,
        "created_at": e.created_at.isoformat(),
    }


def _me(p: ProviderRead) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "name": p.name,
        "status": p.status.value,
        "status_reason": p.status_reason,
        "balance": money.format_money(p.balance),
        "time_zone": p.time_zone,
        "spend_caps": p.spend_caps,
    }


@router.get("/me")
async def me(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    return _me(
        await run_in_threadpool(lambda: catalog.get_provider(principal.actor, provider_id=principal.own_provider_id))
    )


# The buyer controls' shapes, for the OpenAPI document (the service validates them and
# answers 400 naming the field: DOMAIN.md "Time zone, schedules, caps").
SCHEDULE_FIELD = Field(
    default=None,
    description='null (always open) or {"mon": [["08:00", "17:30"]], ...}: days mon..sun, windows '
    '[start, end) in the provider\'s time zone ("24:00" allowed as an end), sorted, not overlapping',
    json_schema_extra={"examples": [{"mon": [["08:00", "18:00"]], "sat": [["09:00", "12:00"]]}]},
)
CAPS_FIELD = Field(
    default=None,
    description='{"day": n, "week": n, "month": n}, any subset, whole numbers >= 1: the subscription\'s '
    "assignments per calendar period in the provider's zone",
    json_schema_extra={"examples": [{"day": 5, "month": 60}]},
)
FILTERS_FIELD = Field(
    default=None,
    description='{"field": ["a", "b"]} (select, zip), {"field": {"min": 1, "max": 9}} (number), '
    '{"zip_field": {"near": {"zip": "10001", "miles": 25}, "states": ["NY", "NJ"]}} (zip)',
)


class ProviderSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="allow")  # an unknown field is named in the 400, not dropped

    time_zone: Any = Field(default=None, description="an IANA time zone", examples=["America/Chicago"])
    spend_caps: Any = Field(
        default=None,
        description='{"day": "150.00", "week": ..., "month": ...}: the most its assignments may charge per period',
        json_schema_extra={"examples": [{"day": "150.00"}]},
    )


@router.patch("/me")
async def update_me(
    body: ProviderSettingsPatch, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """``{time_zone?, spend_caps?}``: an IANA zone; ``{"day"|"week"|"month": "amount"}``."""
    values = body.model_dump(exclude_unset=True)
    provider_id = principal.own_provider_id
    return _me(
        await run_in_threadpool(
            lambda: catalog.update_provider_settings(provider_id=provider_id, actor=principal.actor, values=values)
        )
    )


@router.get("/competition-levels/{level_id}/waiting-leads")
async def waiting_leads(
    level_id: uuid.UUID, filters: str | None = None, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """How many approved leads of the level's niche wait (matching ``filters``, a JSON
    object in the query) and what they cost: shown before subscribing with
    ``take_waiting``."""
    parsed: Any = None
    if filters is not None:
        try:
            parsed = json.loads(filters)
        except (ValueError, RecursionError):
            raise InvalidInput("filters is a JSON object.", details={"filters": "a JSON object"}) from None
    return await run_in_threadpool(
        lambda: catalog.waiting_leads(competition_level_id=level_id, actor=principal.actor, filters=parsed)
    )


@router.get("/competition-levels")
async def competition_levels(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    def load() -> list[dict[str, Any]]:
        open_niches = {n["id"]: n for n in niches.list_niches(principal.actor, active_only=True)}
        return [
            {
                "id": str(lvl.id),
                "niche": open_niches[str(lvl.niche_id)]["slug"],
                "niche_name": open_niches[str(lvl.niche_id)]["name"],
                "name": lvl.name,
                "price_per_lead": money.format_money(lvl.price_per_lead),
                "max_providers": lvl.max_providers,
                "priority_order": lvl.priority_order,
            }
            for lvl in catalog.list_levels(principal.actor, active_only=True)
            if str(lvl.niche_id) in open_niches
        ]

    return {"items": await run_in_threadpool(load), "next_cursor": None}


class SubscriptionIn(BaseModel):
    competition_level_id: uuid.UUID
    filters: Any = FILTERS_FIELD
    schedule: Any = SCHEDULE_FIELD
    caps: Any = CAPS_FIELD
    take_waiting: Any = Field(
        default=False,
        description="also take the approved leads waiting now (see GET /provider/competition-levels/{id}/"
        "waiting-leads); by default only leads approved from now on (leads_from = creation time)",
    )


class SubscriptionPatch(BaseModel):
    filters: Any = FILTERS_FIELD
    active: Any = None
    schedule: Any = SCHEDULE_FIELD
    caps: Any = CAPS_FIELD


@router.get("/subscriptions")
async def list_subscriptions(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    subs = await run_in_threadpool(
        lambda: catalog.list_subscriptions(principal.actor, provider_id=principal.own_provider_id)
    )
    return {"items": [_subscription(s) for s in subs], "next_cursor": None}


@router.post("/subscriptions", status_code=201)
async def create_subscription(
    body: SubscriptionIn, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    sub = await run_in_threadpool(
        lambda: catalog.create_subscription(
            competition_level_id=body.competition_level_id,
            filters=body.filters,
            actor=principal.actor,
            schedule=body.schedule,
            caps=body.caps,
            take_waiting=body.take_waiting,
        )
    )
    return _subscription(sub)


@router.patch("/subscriptions/{subscription_id}")
async def update_subscription(
    subscription_id: uuid.UUID, body: SubscriptionPatch, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    sent = body.model_fields_set  # a schedule of null means "always open": only change what was sent
    sub = await run_in_threadpool(
        lambda: catalog.update_subscription(
            subscription_id=subscription_id,
            actor=principal.actor,
            filters=body.filters,
            active=body.active,
            schedule=body.schedule if "schedule" in sent else catalog.UNSET,
            caps=body.caps if "caps" in sent else catalog.UNSET,
        )
    )
    return _subscription(sub)


@router.delete("/subscriptions/{subscription_id}")
async def cancel_subscription(
    subscription_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    sub = await run_in_threadpool(
        lambda: catalog.cancel_subscription(subscription_id=subscription_id, actor=principal.actor)
    )
    return _subscription(sub)


@router.get("/leads")
async def leads(
    params: PageParams = Depends(), principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    rows = await run_in_threadpool(
        lambda: lead_inbox.lead_inbox(principal.actor, limit=params.limit, after=params.cursor)
    )
    return page(rows, params.limit, lambda r: [r["assigned_at"], r["id"]])


@router.get("/leads/{lead_id}/explanation")
async def explanation(lead_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    decisions = await run_in_threadpool(
        lambda: distribution.explain(lead_id=lead_id, provider_id=principal.own_provider_id)
    )
    return {
        "lead_id": str(lead_id),
        "items": [
            {
                "subscription_id": str(d.subscription_id),
                "competition_level_id": str(d.competition_level_id),
                "reason": d.reason,
                "reason_text": missed_reason_text(d.reason),
            }
            for d in decisions
        ],
    }


@router.get("/ledger")
async def provider_ledger(
    params: PageParams = Depends(), principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    entries = await run_in_threadpool(
        lambda: ledger.list_entries(
            provider_id=principal.own_provider_id, limit=params.limit + 1, before_seq=params.cursor
        )
    )
    return page([_entry(e) for e in entries], params.limit, lambda r: r["seq"])


class ApiKeyIn(BaseModel):
    name: Any = None


@router.post("/api-keys", status_code=201)
async def create_api_key(
    body: ApiKeyIn | None = None, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    created = await run_in_threadpool(
        lambda: auth.create_api_key(principal=principal, name=body.name if body else None)
    )
    return {"id": str(created.id), "key": created.key}


@router.get("/api-keys")
async def list_api_keys(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    keys = await run_in_threadpool(lambda: auth.list_api_keys(provider_id=principal.own_provider_id))
    return {
        "items": [
            {
                "id": str(k.id),
                "name": k.name,
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(),
                "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                "revoked": k.revoked_at is not None,
            }
            for k in keys
        ],
        "next_cursor": None,
    }


@router.delete("/api-keys/{key_id}", status_code=204)
async def revoke_api_key(key_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)) -> None:
    await run_in_threadpool(lambda: auth.revoke_api_key(principal=principal, key_id=key_id))


# --------------------------------------------------------------------------- dashboard (services/reads)
# The provider dashboard's reads, each also an API call through the same service.
# The CSV exports also accept the dashboard's session cookie, so a plain download
# link works in the browser.

from fastapi import Query, Request  # noqa: E402
from fastapi.responses import StreamingResponse  # noqa: E402

from hotlead_app.api.deps import principal_from_bearer_or_cookie  # noqa: E402
from hotlead_app.services.reads import (  # noqa: E402
    account_summary,
    ledger_entries,
    subscriptions,
)
from hotlead_app.services.reads import lead_detail as lead_reads  # noqa: E402
from hotlead_app.services.reads import missed_leads as missed_reads  # noqa: E402

MISSED_MAX_LIMIT = 50


async def require_provider_bearer_or_cookie(request: Request) -> auth.Principal:
    return await require_provider(await principal_from_bearer_or_cookie(request))


def _csv_response(lines, filename: str) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/overview")
async def overview(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    return dict(await run_in_threadpool(lambda: account_summary.account_summary(principal.actor)))


class FilterPreviewIn(BaseModel):
    niche_id: Any = None
    filters: Any = None
    schedule: Any = None
    caps: Any = None


@router.post("/filter-preview")
async def filter_preview(
    body: FilterPreviewIn, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """How many of the niche's last 30 days' leads ``filters`` would have matched
    (``matched``), and how many of those ``schedule`` and ``caps`` let through
    (``after_controls``; ``outside_schedule`` and ``over_cap`` say why not the others)."""
    try:
        niche_id = uuid.UUID(str(body.niche_id))
    except ValueError:
        raise InvalidInput("Name the niche.", details={"niche_id": "a niche id"}) from None
    return dict(
        await run_in_threadpool(
            lambda: subscriptions.filter_preview(
                principal.actor, niche_id=niche_id, filters=body.filters, schedule=body.schedule, caps=body.caps
            )
        )
    )


@router.get("/leads.csv")
async def leads_csv(principal: auth.Principal = Depends(require_provider_bearer_or_cookie)) -> StreamingResponse:
    return _csv_response(lead_inbox.lead_inbox_csv(principal.actor), "leads.csv")


@router.get("/ledger.csv")
async def ledger_csv(
    since: str | None = Query(None, alias="from", description="yyyy-mm-dd, in the provider's time zone"),
    until: str | None = Query(None, alias="to", description="yyyy-mm-dd, included"),
    principal: auth.Principal = Depends(require_provider_bearer_or_cookie),
) -> StreamingResponse:
    """The ledger as CSV; ``?from=&to=`` keeps the entries of those days (400 naming a bad date)."""
    lines = await run_in_threadpool(
        lambda: ledger_entries.provider_ledger_csv(principal.actor, since=since, until=until)
    )
    return _csv_response(lines, "ledger.csv")


@router.get("/missed-leads")
async def missed_leads(
    params: PageParams = Depends(), principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """Each item's reasons are read from the history: at most 50 items a page."""
    limit = min(params.limit, MISSED_MAX_LIMIT)
    rows = await run_in_threadpool(lambda: missed_reads.missed_leads(principal.actor, limit=limit, after=params.cursor))
    return page(rows, limit, lambda r: [r["created_at"], r["lead_id"]])


@router.get("/leads/{lead_id}")
async def lead_detail(lead_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    return dict(await run_in_threadpool(lambda: lead_reads.provider_lead(principal.actor, lead_id=lead_id)))


# --------------------------------------------------------------------------- returns and outcomes

from hotlead_app.services import outcomes  # noqa: E402
from hotlead_app.services import returns as returns_service  # noqa: E402
from hotlead_app.services.reads import return_requests  # noqa: E402


class ReturnIn(BaseModel):
    reason: Any = None
    note: Any = None


def return_out(r: returns_service.ReturnRead) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "assignment_id": str(r.assignment_id),
        "niche_id": str(r.niche_id),
        "status": r.status,
        "reason": r.reason,
        "note": r.note,
        "created_at": r.created_at.isoformat(),
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "deny_reason": r.deny_reason,
    }


@router.post("/assignments/{assignment_id}/return", status_code=201)
async def return_lead(
    assignment_id: uuid.UUID, body: ReturnIn, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """409 with the rule's code (``already_refunded``, ``already_requested``,
    ``return_window_closed``, ``return_rate_exceeded``) and nothing written."""
    made = await run_in_threadpool(
        lambda: returns_service.request_return(
            assignment_id=assignment_id, actor=principal.actor, reason=body.reason, note=body.note
        )
    )
    return return_out(made)


@router.get("/returns")
async def my_returns(
    params: PageParams = Depends(), principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    rows = await run_in_threadpool(
        lambda: return_requests.provider_returns(principal.actor, limit=params.limit, after=params.cursor)
    )
    return page(rows, params.limit, lambda r: [r["created_at"], r["id"]])


class OutcomeIn(BaseModel):
    outcome: Any = None
    value: Any = None
    reason: Any = None


@router.post("/assignments/{assignment_id}/outcome", status_code=201)
async def record_outcome(
    assignment_id: uuid.UUID, body: OutcomeIn, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """Appends to the assignment's outcome history; the latest counts."""
    made = await run_in_threadpool(
        lambda: outcomes.record_outcome(
            assignment_id=assignment_id,
            actor=principal.actor,
            outcome=body.outcome,
            value=body.value,
            reason=body.reason,
        )
    )
    return {
        "id": str(made.id),
        "assignment_id": str(made.assignment_id),
        "outcome": made.outcome,
        "value": money.format_money(made.value) if made.value is not None else None,
        "reason": made.reason,
        "created_at": made.created_at.isoformat(),
    }


# --------------------------------------------------------------------------- webhooks (services/webhooks.py)

from hotlead_app.services import webhooks  # noqa: E402


class WebhookIn(BaseModel):
    url: Any = None
    description: Any = None


class WebhookPatch(BaseModel):
    url: Any = None
    description: Any = None
    active: Any = None


@router.get("/webhooks")
async def list_webhooks(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    endpoints = await run_in_threadpool(lambda: webhooks.list_endpoints(actor=principal.actor))
    return {"items": [e.as_dict() for e in endpoints], "next_cursor": None}


@router.post("/webhooks", status_code=201)
async def create_webhook(body: WebhookIn, principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    """The signing secret is in this answer only."""
    created = await run_in_threadpool(
        lambda: webhooks.create_endpoint(actor=principal.actor, url=body.url, description=body.description)
    )
    return {**created.endpoint.as_dict(), "secret": created.secret}


@router.patch("/webhooks/{endpoint_id}")
async def update_webhook(
    endpoint_id: uuid.UUID, body: WebhookPatch, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    given = {name: getattr(body, name) for name in body.model_fields_set}
    endpoint = await run_in_threadpool(
        lambda: webhooks.update_endpoint(actor=principal.actor, endpoint_id=endpoint_id, **given)
    )
    return endpoint.as_dict()


@router.delete("/webhooks/{endpoint_id}", status_code=204)
async def delete_webhook(endpoint_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)) -> None:
    await run_in_threadpool(lambda: webhooks.delete_endpoint(actor=principal.actor, endpoint_id=endpoint_id))


@router.post("/webhooks/{endpoint_id}/test", status_code=202)
async def test_webhook(endpoint_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    delivery_id = await run_in_threadpool(lambda: webhooks.send_test(actor=principal.actor, endpoint_id=endpoint_id))
    return {"delivery_id": str(delivery_id), "type": "ping", "status": "pending"}


@router.get("/webhooks/{endpoint_id}/deliveries")
async def webhook_deliveries(
    endpoint_id: uuid.UUID, params: PageParams = Depends(), principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    cursor = params.cursor
    if cursor is not None and not (
        isinstance(cursor, list) and len(cursor) == 2 and all(isinstance(c, str) for c in cursor)
    ):
        raise InvalidInput("This cursor is not valid.", details={"cursor": "invalid"})
    try:
        rows = await run_in_threadpool(
            lambda: webhooks.list_deliveries(
                actor=principal.actor,
                endpoint_id=endpoint_id,
                limit=params.limit,
                before=(cursor[0], cursor[1]) if cursor else None,
            )
        )
    except ValueError:
        raise InvalidInput("This cursor is not valid.", details={"cursor": "invalid"}) from None
    return page(rows, params.limit, lambda d: [d["created_at"], d["id"]])


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver_webhook(
    delivery_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    same = await run_in_threadpool(lambda: webhooks.redeliver(actor=principal.actor, delivery_id=delivery_id))
    return {"id": str(same), "status": "pending"}


# --------------------------------------------------------------------------- lead inbox: notes, notifications

from hotlead_app.services import inbox  # noqa: E402


class NoteIn(BaseModel):
    body: Any = None


def _note_out(n: inbox.NoteRead) -> dict[str, Any]:
    return {
        "assignment_id": str(n.assignment_id),
        "body": n.body,
        "updated_at": n.updated_at.isoformat() if n.updated_at else None,
    }


@router.get("/assignments/{assignment_id}/note")
async def get_note(assignment_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    """The provider's private note on its assignment (``body`` ``""`` when none)."""
    return _note_out(
        await run_in_threadpool(lambda: inbox.get_note(actor=principal.actor, assignment_id=assignment_id))
    )


@router.put("/assignments/{assignment_id}/note")
async def put_note(
    assignment_id: uuid.UUID, body: NoteIn, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """Replace the note (``""`` clears it); 400 naming ``body`` past 2000 characters."""
    saved = await run_in_threadpool(
        lambda: inbox.save_note(actor=principal.actor, assignment_id=assignment_id, body=body.body)
    )
    return _note_out(saved)


class NotificationsIn(BaseModel):
    lead_emails: Any = None
    low_balance_threshold: Any = None


def _prefs_out(p: inbox.Preferences) -> dict[str, Any]:
    return {
        "lead_emails": p.lead_emails,
        "low_balance_threshold": money.format_money(p.low_balance_threshold)
        if p.low_balance_threshold is not None
        else None,
    }


@router.get("/notifications")
async def get_notifications(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    """``{lead_emails: instant|digest, low_balance_threshold}``."""
    provider_id = principal.actor.provider_id
    assert provider_id is not None  # require_provider
    return _prefs_out(await run_in_threadpool(lambda: inbox.get_preferences(provider_id=provider_id)))


@router.put("/notifications")
async def put_notifications(
    body: NotificationsIn, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """Both fields (``low_balance_threshold`` null: no alert); 400 naming the field."""
    saved = await run_in_threadpool(
        lambda: inbox.update_preferences(
            actor=principal.actor, lead_emails=body.lead_emails, low_balance_threshold=body.low_balance_threshold
        )
    )
    return _prefs_out(saved)
