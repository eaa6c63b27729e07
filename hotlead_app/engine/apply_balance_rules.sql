-- After a provider's balance changed: after a decrease, pause active subscriptions
-- it no longer covers; after an increase, resume those paused for the balance that
-- it covers again ('both' for an admin's change of prices); then move the provider
-- between active and auto_deactivated (an admin's inactive is kept).
-- Every change is audited; one outbox job emails the provider.  After a decrease,
-- auto-recharge may start (hotlead_start_recharge, its outbox job returned too).
-- Returns the changes.
CREATE OR REPLACE FUNCTION hotlead_apply_balance_rules(p_provider uuid, p_direction text DEFAULT 'both')
  RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_p service_providers%ROWTYPE;
  v_after service_providers%ROWTYPE;
  r record;
  v_changes jsonb := '[]';
  v_active int;
  v_paused int;
  v_status provider_status;
  v_outbox uuid;
  v_args jsonb;
  v_recharge jsonb := '[]';
BEGIN
  SELECT * INTO v_p FROM service_providers WHERE id = p_provider FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('changes', '[]'::jsonb);
  END IF;
  FOR r IN
    SELECT s.id, (s.active AND l.price_per_lead > v_p.balance) AS pause,
           (NOT s.active AND s.pause_reason = 'insufficient_balance' AND l.price_per_lead <= v_p.balance) AS resume
    FROM provider_subscriptions s JOIN competition_levels l ON l.id = s.competition_level_id
    WHERE s.provider_id = p_provider AND s.cancelled_at IS NULL
      AND ((p_direction IN ('decrease', 'both') AND s.active AND l.price_per_lead > v_p.balance)
           OR (p_direction IN ('increase', 'both') AND NOT s.active
               AND s.pause_reason = 'insufficient_balance' AND l.price_per_lead <= v_p.balance))
    ORDER BY s.id
  LOOP
    WITH old AS (SELECT * FROM provider_subscriptions WHERE id = r.id),
         new AS (
           UPDATE provider_subscriptions s
              SET active = r.resume,
                  pause_reason = CASE WHEN r.pause THEN 'insufficient_balance' ELSE NULL END
            WHERE s.id = r.id
           RETURNING s.*
         )
    INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state)
    SELECT gen_random_uuid(), 'system', 'subscription', r.id,
           CASE WHEN r.pause THEN 'auto_paused' ELSE 'auto_resumed' END,
           to_jsonb(old), to_jsonb(new)
      FROM old, new;
    v_changes := v_changes || jsonb_build_object(
      'subscription_id', r.id, 'change', CASE WHEN r.pause THEN 'auto_paused' ELSE 'auto_resumed' END);
  END LOOP;

  SELECT count(*) FILTER (WHERE active),
         count(*) FILTER (WHERE NOT active AND pause_reason = 'insufficient_balance')
    INTO v_active, v_paused
    FROM provider_subscriptions WHERE provider_id = p_provider AND cancelled_at IS NULL;
  v_status := v_p.status;
  IF v_p.status = 'active' AND v_active = 0 AND v_paused > 0 THEN
    v_status := 'auto_deactivated';
  ELSIF v_p.status = 'auto_deactivated' AND v_active > 0 THEN
    v_status := 'active';
  END IF;
  IF v_status <> v_p.status THEN
    UPDATE service_providers
       SET status = v_status,
           status_reason = CASE WHEN v_status = 'auto_deactivated' THEN 'insufficient_balance' ELSE NULL END
     WHERE id = p_provider
    RETURNING * INTO v_after;
    INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state)
    VALUES (gen_random_uuid(), 'system', 'provider', p_provider,
            CASE WHEN v_status = 'active' THEN 'auto_reactivated' ELSE 'auto_deactivated' END,
            to_jsonb(v_p), to_jsonb(v_after));
    v_changes := v_changes || jsonb_build_object('provider_id', p_provider, 'change', v_status::text);
  END IF;

  IF p_direction = 'decrease' THEN
    v_recharge := hotlead_start_recharge(p_provider);
  END IF;

  IF jsonb_array_length(v_changes) > 0 THEN
    v_outbox := gen_random_uuid();
    v_args := jsonb_build_object('provider_id', p_provider, 'changes', v_changes);
    INSERT INTO outbox (id, task, args, attempts, created_at)
    VALUES (v_outbox, 'email.provider_balance_rules', v_args, 0, now());
    RETURN jsonb_build_object('changes', v_changes, 'outbox_id', v_outbox,
      'outbox', jsonb_build_array(jsonb_build_object('id', v_outbox, 'task', 'email.provider_balance_rules',
                                                     'args', v_args)) || v_recharge);
  END IF;
  RETURN jsonb_build_object('changes', v_changes, 'outbox', v_recharge);
END $$;
