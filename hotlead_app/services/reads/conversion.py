"""Conversion (DOMAIN.md "Outcomes"): won ÷ assignments and the won value, grouped by
niche, competition level, partner or UTM source, over the assignments made in a date
range.  An assignment counts as won when its latest outcome is ``won``; its value is
that row's value."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.models._types import utcnow
from hotlead_app.services.reads._access import admin_only

# by → (key expression, label expression, extra join)
GROUPS = {
    "niche": ("n.id::text", "n.name", ""),
    "level": ("c.id::text", "n.name || ' / ' || c.name", ""),
    "partner": ("p.id::text", "coalesce(p.name, '(no partner)')", "LEFT JOIN partners p ON p.id = l.partner_id"),
    "utm_source": (
        "l.utm_params->>'utm_source'",
        "coalesce(l.utm_params->>'utm_source', '(none)')",
        "",
    ),
}

LATEST = """
WITH latest AS (
  SELECT DISTINCT ON (assignment_id) assignment_id, outcome, value
    FROM lead_outcomes ORDER BY assignment_id, seq DESC
)
"""


class ConversionRow(TypedDict):
    key: str | None
    label: str
    assignments: int
    won: int
    conversion_percent: float
    won_value: str


class ConversionReport(TypedDict):
    by: str
    from_: str
    to: str
    rows: list[ConversionRow]


def _day(value: object, field: str, default: date) -> date:
    if value in (None, ""):
        return default
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("Dates are YYYY-MM-DD.", details={field: "a date YYYY-MM-DD"}) from None


def conversion_report(actor: Actor, *, by: str = "niche", from_: object = None, to: object = None) -> ConversionReport:
    """One row per group, by label; ``from_`` and ``to`` are days (UTC, both included;
    the last 30 days by default)."""
    admin_only(actor)
    if by not in GROUPS:
        raise InvalidInput("Group by niche, level, partner or utm_source.", details={"by": ", ".join(GROUPS)})
    today = utcnow().date()
    last = _day(to, "to", today)
    first = _day(from_, "from", last - timedelta(days=29))
    if first > last:
        raise InvalidInput("The range starts after it ends.", details={"from": "on or before to"})
    key, label, join = GROUPS[by]
    sql = (
        LATEST
        + f"""
SELECT {key} AS key, {label} AS label, count(*) AS assignments,
       count(*) FILTER (WHERE lo.outcome = 'won') AS won,
       coalesce(sum(lo.value) FILTER (WHERE lo.outcome = 'won'), 0) AS won_value
  FROM lead_assignments a
  JOIN leads l ON l.id = a.lead_id
  JOIN niches n ON n.id = l.niche_id
  JOIN competition_levels c ON c.id = a.competition_level_id
  {join}
  LEFT JOIN latest lo ON lo.assignment_id = a.id
 WHERE a.assigned_at >= :start AND a.assigned_at < :end
 GROUP BY 1, 2
 ORDER BY 2, 1
"""
    )
    start = datetime.combine(first, datetime.min.time(), UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    with unit_of_work() as uow:
        rows = uow.session.execute(text(sql), {"start": start, "end": end}).all()
    return {
        "by": by,
        "from_": first.isoformat(),
        "to": last.isoformat(),
        "rows": [
            {
                "key": r.key,
                "label": r.label,
                "assignments": r.assignments,
                "won": r.won,
                "conversion_percent": round(100.0 * r.won / r.assignments, 2) if r.assignments else 0.0,
                "won_value": money.format_money(Decimal(r.won_value)),
            }
            for r in rows
        ],
    }
