"""buyer controls: time zone, spend caps, schedule, caps, leads_from, consumer, ZIP centroids

DOMAIN.md "Buyer controls, returns and delivery":

* ``service_providers.time_zone`` (IANA, server default America/New_York; new
  providers take HOTLEAD_DEFAULT_TIME_ZONE) and ``spend_caps``;
* ``provider_subscriptions.schedule`` (null: always open), ``caps`` and
  ``leads_from`` (null for every existing subscription: it keeps taking what it took);
* ``niches.duplicate_window_days`` (default 30, 0: off);
* ``leads.approved_at`` (back-filled from the audit rows), ``consumer_email``,
  ``consumer_phone_e164`` (back-filled: email trimmed and lower-cased, phone in E.164
  parsed with region US) and ``duplicate_of``;
* ``distribution_records.clock_at``: the engine's "now" of each decision;
* ``zip_centroids``, loaded here from the pinned ``zipcodes`` package (never fetched
  at run time);
* indexes so that caps and duplicate checks read only the period's rows:
  assignments by (subscription_id, assigned_at) and (provider_id, assigned_at)
  INCLUDE (charged_amount); leads by (niche_id, consumer_email|phone, created_at).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 14:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: Union[str, None] = "0016"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _zip_rows() -> list[dict]:
    import zipcodes

    rows = []
    for row in zipcodes.list_all():
        code = row.get("zip_code") or ""
        try:
            lat, lon = float(row["lat"]), float(row["long"])
        except (KeyError, TypeError, ValueError):
            continue
        if len(code) == 5 and row.get("state"):
            rows.append(
                {
                    "zip": code,
                    "state": row["state"],
                    "latitude": lat,
                    "longitude": lon,
                    "city": (row.get("city") or "")[:100],
                }
            )
    return rows


def _e164(phone: str) -> str | None:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(phone.strip(), "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def upgrade() -> None:
    op.add_column(
        "service_providers",
        sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="America/New_York"),
    )
    op.add_column(
        "service_providers",
        sa.Column("spend_caps", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.add_column("provider_subscriptions", sa.Column("schedule", postgresql.JSONB(), nullable=True))
    op.add_column(
        "provider_subscriptions",
        sa.Column("caps", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.add_column("provider_subscriptions", sa.Column("leads_from", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "niches", sa.Column("duplicate_window_days", sa.Integer(), nullable=False, server_default=sa.text("30"))
    )
    op.add_column("leads", sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("leads", sa.Column("consumer_email", sa.String(length=255), nullable=True))
    op.add_column("leads", sa.Column("consumer_phone_e164", sa.String(length=20), nullable=True))
    op.add_column("leads", sa.Column("duplicate_of", sa.Uuid(), nullable=True))
    op.create_foreign_key("leads_duplicate_of_fkey", "leads", "leads", ["duplicate_of"], ["id"])
    op.add_column("distribution_records", sa.Column("clock_at", sa.DateTime(timezone=True), nullable=True))

    # Back-fill: when each lead was approved (its audit row), and its consumer.
    op.execute("""
        UPDATE leads l SET approved_at = a.at
          FROM (SELECT entity_id, max(created_at) AS at FROM audit_logs
                 WHERE entity_type = 'lead' AND action = 'approved' GROUP BY entity_id) a
         WHERE a.entity_id = l.id
    """)
    op.execute(
        "UPDATE leads SET approved_at = coalesce(confirmed_at, created_at) "
        "WHERE approved_at IS NULL AND status IN ('approved', 'distributed', 'bad_lead')"
    )
    op.execute("UPDATE leads SET consumer_email = lower(btrim(email)) WHERE btrim(email) <> ''")
    bind = op.get_bind()
    phones = bind.execute(sa.text("SELECT id, phone FROM leads WHERE phone IS NOT NULL AND btrim(phone) <> ''")).all()
    updates = [{"id": lead_id, "e164": e164} for lead_id, phone in phones if (e164 := _e164(phone))]
    if updates:
        bind.execute(sa.text("UPDATE leads SET consumer_phone_e164 = :e164 WHERE id = :id"), updates)

    op.create_table(
        "zip_centroids",
        sa.Column("zip", sa.String(length=5), primary_key=True),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False, server_default=""),
    )
    op.create_index("ix_zip_centroids_state", "zip_centroids", ["state"])
    op.create_index("ix_zip_centroids_lat_lon", "zip_centroids", ["latitude", "longitude"])
    table = sa.table(
        "zip_centroids",
        sa.column("zip", sa.String),
        sa.column("state", sa.String),
        sa.column("latitude", sa.Float),
        sa.column("longitude", sa.Float),
        sa.column("city", sa.String),
    )
    op.bulk_insert(table, _zip_rows())

    op.create_index("ix_assignments_subscription_assigned", "lead_assignments", ["subscription_id", "assigned_at"])
    op.create_index(
        "ix_assignments_provider_spend",
        "lead_assignments",
        ["provider_id", "assigned_at"],
        postgresql_include=["charged_amount"],
    )
    op.create_index("ix_leads_niche_consumer_email", "leads", ["niche_id", "consumer_email", "created_at"])
    op.create_index("ix_leads_niche_consumer_phone", "leads", ["niche_id", "consumer_phone_e164", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_leads_niche_consumer_phone", table_name="leads")
    op.drop_index("ix_leads_niche_consumer_email", table_name="leads")
    op.drop_index("ix_assignments_provider_spend", table_name="lead_assignments")
    op.drop_index("ix_assignments_subscription_assigned", table_name="lead_assignments")
    op.drop_table("zip_centroids")
    op.drop_column("distribution_records", "clock_at")
    op.drop_constraint("leads_duplicate_of_fkey", "leads", type_="foreignkey")
    for column in ("duplicate_of", "consumer_phone_e164", "consumer_email", "approved_at"):
        op.drop_column("leads", column)
    op.drop_column("niches", "duplicate_window_days")
    for column in ("leads_from", "caps", "schedule"):
        op.drop_column("provider_subscriptions", column)
    op.drop_column("service_providers", "spend_caps")
    op.drop_column("service_providers", "time_zone")
