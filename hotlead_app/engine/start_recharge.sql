-- Auto-recharge (DOMAIN.md "Auto-recharge and statements"): called by
-- hotlead_apply_balance_rules after every balance DECREASE, in the transaction that
-- lowered the balance, with the provider row locked.  When auto-recharge is on, a
-- card is saved and the new balance is below the threshold, one recharge starts: a
-- pending deposit, a `recharges` row (the provider's next sequence number) and one
-- `payments.recharge` outbox job that creates the off-session PaymentIntent after
-- the commit (never a network call here).  Nothing starts while another recharge of
-- the provider is in flight (also a unique partial index), once the provider's day
-- (its time_zone) holds `hotlead.max_recharges_per_day` recharges (a setting each
-- connection sets, hotlead_app/db.py; 3 when unset), or for a provider
-- an admin or a payment reversal set inactive.  Returns the outbox jobs written.
CREATE OR REPLACE FUNCTION hotlead_start_recharge(p_provider uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_p service_providers%ROWTYPE;
  v_b billing_profiles%ROWTYPE;
  v_limit int := coalesce(nullif(current_setting('hotlead.max_recharges_per_day', true), '')::int, 3);
  v_today int;
  v_seq int;
  v_recharge uuid := gen_random_uuid();
  v_deposit uuid := gen_random_uuid();
  v_job uuid := gen_random_uuid();
  v_args jsonb;
BEGIN
  SELECT * INTO v_b FROM billing_profiles WHERE provider_id = p_provider;
  IF NOT FOUND OR NOT v_b.recharge_enabled OR v_b.card_payment_method_id IS NULL THEN
    RETURN '[]'::jsonb;
  END IF;
  SELECT * INTO v_p FROM service_providers WHERE id = p_provider FOR UPDATE;
  IF v_p.status = 'inactive' OR v_p.balance >= v_b.recharge_threshold THEN
    RETURN '[]'::jsonb;
  END IF;
  IF EXISTS (SELECT 1 FROM recharges WHERE provider_id = p_provider AND status IN ('pending', 'processing')) THEN
    RETURN '[]'::jsonb;
  END IF;
  SELECT count(*) INTO v_today FROM recharges
   WHERE provider_id = p_provider
     AND created_at >= (date_trunc('day', now() AT TIME ZONE v_p.time_zone) AT TIME ZONE v_p.time_zone);
  IF v_today >= v_limit THEN
    RETURN '[]'::jsonb;
  END IF;
  SELECT coalesce(max(seq), 0) + 1 INTO v_seq FROM recharges WHERE provider_id = p_provider;

  INSERT INTO recharges (id, provider_id, seq, amount, currency, status, balance_at_start, created_at)
  VALUES (v_recharge, p_provider, v_seq, v_b.recharge_amount, v_b.recharge_currency, 'pending', v_p.balance, now())
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN '[]'::jsonb;
  END IF;
  INSERT INTO deposits (id, provider_id, method, amount, currency, status, reversed_amount, created_at)
  VALUES (v_deposit, p_provider, 'stripe', v_b.recharge_amount, v_b.recharge_currency, 'pending', 0, now());
  UPDATE recharges SET deposit_id = v_deposit WHERE id = v_recharge;
  INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state)
  VALUES (gen_random_uuid(), 'system', 'provider', p_provider, 'recharge_started', NULL,
          jsonb_build_object('recharge_id', v_recharge, 'seq', v_seq, 'deposit_id', v_deposit,
                             'amount', v_b.recharge_amount::text, 'balance', v_p.balance::text,
                             'threshold', v_b.recharge_threshold::text));

  v_args := jsonb_build_object('recharge_id', v_recharge);
  INSERT INTO outbox (id, task, args, attempts, created_at)
  VALUES (v_job, 'payments.recharge', v_args, 0, now());
  RETURN jsonb_build_array(jsonb_build_object('id', v_job, 'task', 'payments.recharge', 'args', v_args));
END $$;
