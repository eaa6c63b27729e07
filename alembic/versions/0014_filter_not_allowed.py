"""filters name only select, ZIP and number fields: pause the subscriptions that do not

DOMAIN.md "Which fields a filter may name": from now on a subscription's filter may
name only fields of its niche's form of type select or zip (with a list of values)
or number (with a {min, max} range); the service refuses anything else when a
subscription is saved (``hotlead_app.domain.filters.check_fields``).  A filter on a
free-text field let a provider read that field of every lead it never bought (missed
leads show the fields its filters name).

This migration pauses every subscription not cancelled whose filters break the rule
(reason ``filter_not_allowed``), audits each change as the system, and queues one
email per provider through the outbox (job ``email.provider_balance_rules``, change
``filter_not_allowed``), as the balance rules do.  The check is frozen here in SQL:
it is the rule as this migration brings it.

Downgrade leaves the subscriptions paused: which of them were active before is in
their audit rows, and resuming one is the provider's choice.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:40:00
"""

from typing import Sequence, Union

from alembic import op


revision: str = "0014"
down_revision: Union[str, None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


PAUSE_OFFENDING = r"""
DO $$
DECLARE
  r record;
  v_paused uuid[] := '{}';
BEGIN
  FOR r IN
    SELECT s.id
      FROM provider_subscriptions s
      JOIN competition_levels l ON l.id = s.competition_level_id
      JOIN niches n ON n.id = l.niche_id
     WHERE s.cancelled_at IS NULL
       AND s.pause_reason IS DISTINCT FROM 'filter_not_allowed'
       AND CASE WHEN jsonb_typeof(s.filters) <> 'object' THEN true
           ELSE EXISTS (
             SELECT 1 FROM jsonb_each(s.filters) AS f(name, rule)
              WHERE NOT EXISTS (
                SELECT 1
                  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(n.fields) = 'array'
                                                 THEN n.fields ELSE '[]'::jsonb END) AS field
                 WHERE field->>'name' = f.name
                   AND ((field->>'type' IN ('select', 'zip') AND jsonb_typeof(f.rule) = 'array')
                        OR (field->>'type' = 'number' AND jsonb_typeof(f.rule) = 'object'))))
           END
     ORDER BY s.id
       FOR UPDATE OF s
  LOOP
    WITH old AS (SELECT * FROM provider_subscriptions WHERE id = r.id),
         new AS (
           UPDATE provider_subscriptions
              SET active = false, pause_reason = 'filter_not_allowed'
            WHERE id = r.id
           RETURNING *
         )
    INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state,
                            admin_only_memo)
    SELECT gen_random_uuid(), 'system', 'subscription', r.id, 'paused_filter_not_allowed',
           to_jsonb(old), to_jsonb(new),
           'Migration 0014: its filters name a field a filter may not name (DOMAIN.md).'
      FROM old, new;
    v_paused := v_paused || r.id;
  END LOOP;

  INSERT INTO outbox (id, task, args, attempts, created_at)
  SELECT gen_random_uuid(), 'email.provider_balance_rules',
         jsonb_build_object(
           'provider_id', s.provider_id,
           'changes', jsonb_agg(jsonb_build_object('subscription_id', s.id, 'change', 'filter_not_allowed')
                                ORDER BY s.id)),
         0, now()
    FROM provider_subscriptions s
   WHERE s.id = ANY (v_paused)
   GROUP BY s.provider_id;
END $$;
"""


def upgrade() -> None:
    op.execute(PAUSE_OFFENDING)


def downgrade() -> None:
    pass
