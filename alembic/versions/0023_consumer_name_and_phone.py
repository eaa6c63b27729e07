"""consumer name and phone: leads.name, niches.name_required, phones in E.164

DOMAIN.md "Leads" (issue #16 item 2): every lead has the consumer's name, a standard
field like email and phone; the niche says whether it is required.  Phones are parsed
with ``phonenumbers`` (region US) and stored in E.164: the phones stored before
(``4045550101``) are rewritten here when they parse, and kept as they were otherwise.
The webhook body's ``contact`` gains ``name`` (``engine/webhook_enqueue.sql``).

Revision ID: 0023
Revises: 0025
Create Date: 2026-12-05 16:45:00.000000
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
from hotlead_app.infra.sqlfiles import run_sql

revision: str = "0023"
down_revision: Union[str, None] = "0025"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 1000


def _phones_to_e164() -> None:
    from hotlead_app.domain.phones import e164_or_none

    bind = op.get_bind()
    last = None
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, phone FROM leads WHERE phone IS NOT NULL "
                "AND (CAST(:last AS uuid) IS NULL OR id > CAST(:last AS uuid)) ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        for lead_id, phone in rows:
            e164 = e164_or_none(phone)
            if e164 is not None and e164 != phone:
                bind.execute(sa.text("UPDATE leads SET phone = :p WHERE id = :id"), {"p": e164, "id": lead_id})
        last = str(rows[-1][0])


def upgrade() -> None:
    op.add_column("leads", sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.add_column("niches", sa.Column("name_required", sa.Boolean(), server_default="false", nullable=False))
    _phones_to_e164()
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
               'contact', jsonb_build_object('name', NULLIF(l.name, ''), 'email', l.email, 'phone', l.phone),
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


def downgrade() -> None:
    # engine/webhook_enqueue.sql as it was
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
    op.drop_column("niches", "name_required")
    op.drop_column("leads", "name")
