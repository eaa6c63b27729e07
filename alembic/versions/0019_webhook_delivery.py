"""webhook endpoints, deliveries and attempts; the engine makes deliveries

DOMAIN.md "Delivery to the provider's own systems".  Tables first, then the engine
files engine/webhook_enqueue.sql and engine/webhook_events.sql (frozen here).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 13:56:30.830008
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
from hotlead_app.infra.sqlfiles import run_sql


revision: str = "0019"
down_revision: Union[str, None] = "0018"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("consecutive_failures >= 0", name="ck_webhook_endpoints_failures"),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_providers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_webhook_endpoints_provider",
        "webhook_endpoints",
        ["provider_id"],
        unique=False,
        postgresql_where="deleted_at IS NULL",
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=True),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="ck_webhook_deliveries_status"),
        sa.CheckConstraint("type IN ('lead.assigned', 'lead.refunded', 'ping')", name="ck_webhook_deliveries_type"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_providers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_webhook_deliveries_assignment_id"), "webhook_deliveries", ["assignment_id"], unique=False)
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where="status = 'pending'",
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_created", "webhook_deliveries", ["endpoint_id", "created_at"], unique=False
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_webhook_attempts_delivery_id"), "webhook_attempts", ["delivery_id"], unique=False)
    # engine/webhook_enqueue.sql
    run_sql(r"""
    -- DOMAIN.md "Delivery to the provider's own systems": one delivery per active endpoint
    -- of the assignment's provider, written in the caller's transaction (the distribution's,
    -- the refund's), its body frozen as the exact JSON text that will be signed and sent,
    -- and one outbox job per delivery (services/webhooks.py sends it on the `webhooks`
    -- queue).  Returns how many deliveries it made.
    CREATE OR REPLACE FUNCTION hotlead_webhook_enqueue(p_assignment_id uuid, p_type text) RETURNS int
    LANGUAGE plpgsql AS $$
    DECLARE
      v_provider uuid;
      v_data jsonb;
      v_id uuid;
      v_count int := 0;
      e record;
    BEGIN
      SELECT provider_id INTO v_provider FROM lead_assignments WHERE id = p_assignment_id;
      IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM webhook_endpoints
                                   WHERE provider_id = v_provider AND active AND deleted_at IS NULL) THEN
        RETURN 0;
      END IF;
      SELECT jsonb_build_object(
               'assignment_id', a.id,
               'lead_id', l.id,
               'niche', jsonb_build_object('slug', n.slug, 'name', n.name),
               'competition_level', jsonb_build_object('id', c.id, 'name', c.name),
               'price', a.charged_amount::numeric(12, 2)::text,
               'contact', jsonb_build_object('email', l.email, 'phone', l.phone),
               'payload', l.payload,
               'assigned_at', to_char(a.assigned_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'shared_with', (SELECT count(*) FROM lead_assignments s WHERE s.lead_id = a.lead_id))
             || CASE WHEN p_type = 'lead.refunded' THEN jsonb_build_object(
                  'refunded_at', to_char(a.refunded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                  'reason', a.refund_reason) ELSE '{}'::jsonb END
        INTO v_data
        FROM lead_assignments a
        JOIN leads l ON l.id = a.lead_id
        JOIN niches n ON n.id = l.niche_id
        JOIN competition_levels c ON c.id = a.competition_level_id
       WHERE a.id = p_assignment_id;
      FOR e IN SELECT id FROM webhook_endpoints
                WHERE provider_id = v_provider AND active AND deleted_at IS NULL
                ORDER BY created_at, id LOOP
        v_id := gen_random_uuid();
        INSERT INTO webhook_deliveries (id, endpoint_id, provider_id, assignment_id, type, body, status,
                                        attempt_count, next_attempt_at, expires_at, created_at)
        VALUES (v_id, e.id, v_provider, p_assignment_id, p_type,
                jsonb_build_object('id', v_id, 'type', p_type,
                                   'created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                   'data', v_data)::text,
                'pending', 0, now(), now() + interval '24 hours', now());
        INSERT INTO outbox (id, task, args, attempts, created_at)
        VALUES (gen_random_uuid(), 'webhooks.deliver', jsonb_build_object('delivery_id', v_id), 0, now());
        v_count := v_count + 1;
      END LOOP;
      RETURN v_count;
    END $$;
    """)
    # engine/webhook_events.sql
    run_sql(r"""
    -- The events a provider's endpoints receive, caught where they happen so that every
    -- writer (the distribution engine, an admin refund, Global Bad Lead, an approved
    -- return) makes them in its own transaction without knowing about webhooks:
    --   a lead becomes `distributed`  -> `lead.assigned` for each of its assignments (all of
    --                                    them exist by then, so `shared_with` is final);
    --   an assignment is refunded     -> `lead.refunded`.
    CREATE OR REPLACE FUNCTION hotlead_webhook_events() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      r record;
    BEGIN
      IF TG_TABLE_NAME = 'leads' THEN
        FOR r IN SELECT id FROM lead_assignments WHERE lead_id = NEW.id ORDER BY assigned_at, id LOOP
          PERFORM hotlead_webhook_enqueue(r.id, 'lead.assigned');
        END LOOP;
      ELSE
        PERFORM hotlead_webhook_enqueue(NEW.id, 'lead.refunded');
      END IF;
      RETURN NULL;
    END $$;

    CREATE OR REPLACE TRIGGER leads_webhook_assigned AFTER UPDATE OF status ON leads
      FOR EACH ROW WHEN (NEW.status = 'distributed' AND OLD.status IS DISTINCT FROM 'distributed')
      EXECUTE FUNCTION hotlead_webhook_events();
    CREATE OR REPLACE TRIGGER lead_assignments_webhook_refunded AFTER UPDATE OF is_refunded ON lead_assignments
      FOR EACH ROW WHEN (NEW.is_refunded AND NOT OLD.is_refunded)
      EXECUTE FUNCTION hotlead_webhook_events();

    -- Every attempt is kept as it happened.
    CREATE OR REPLACE TRIGGER webhook_attempts_append_only BEFORE UPDATE OR DELETE ON webhook_attempts
      FOR EACH ROW EXECUTE FUNCTION hotlead_refuse_change();
    CREATE OR REPLACE TRIGGER webhook_attempts_no_truncate BEFORE TRUNCATE ON webhook_attempts
      FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();
    """)


def downgrade() -> None:
    # undo engine/webhook_events.sql
    run_sql(r"""
    DROP TRIGGER leads_webhook_assigned ON leads;
    DROP TRIGGER lead_assignments_webhook_refunded ON lead_assignments;
    DROP TRIGGER webhook_attempts_append_only ON webhook_attempts;
    DROP TRIGGER webhook_attempts_no_truncate ON webhook_attempts;
    DROP FUNCTION hotlead_webhook_events;
    """)
    # undo engine/webhook_enqueue.sql
    run_sql(r"""
    DROP FUNCTION hotlead_webhook_enqueue;
    """)
    op.drop_index(op.f("ix_webhook_attempts_delivery_id"), table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_endpoint_created", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries", postgresql_where="status = 'pending'")
    op.drop_index(op.f("ix_webhook_deliveries_assignment_id"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index(
        "ix_webhook_endpoints_provider", table_name="webhook_endpoints", postgresql_where="deleted_at IS NULL"
    )
    op.drop_table("webhook_endpoints")
