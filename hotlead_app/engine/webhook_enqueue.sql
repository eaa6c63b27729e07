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
