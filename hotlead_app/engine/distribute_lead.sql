-- Mirrors hotlead_app/domain (filters.py, fairness.py, leads.py).  The service takes
-- the niche's lock for the whole session first (hotlead_lock_niche_of), then runs the
-- engine in a REPEATABLE READ transaction (its snapshot taken after the lock), and the
-- engine records that snapshot.

-- Distribute one approved lead (DOMAIN.md "Distribution engine"), all or nothing.
-- Serialized per niche by a transaction-scoped advisory lock; the providers it
-- charges are locked in id order and re-checked before any money moves.
CREATE OR REPLACE FUNCTION hotlead_distribute_lead(p_lead_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_niche_id uuid;
  v_lead leads%ROWTYPE;
  v_niche niches%ROWTYPE;
  v_levels competition_levels[];
  v_level competition_levels;
  v_k int;
  v_seq int;
  v_attempt int := 0;
  v_subs uuid[];
  v_provs uuid[];
  v_lvls uuid[];
  v_prices numeric[];
  v_record jsonb;
  v_chosen jsonb;
  v_cutoff jsonb;
  v_count int;
  v_bad int;
  v_audit_seq bigint;
  v_ledger_seq bigint;
  v_stamp timestamptz;
  v_assignment uuid;
  v_assignments jsonb := '[]';
  v_rules jsonb;
  v_changes jsonb := '[]';
  v_outbox jsonb := '[]';
  r record;
  i int;
  v_job uuid;
  v_job_args jsonb;
  v_snapshot text;
  -- Buyer controls: the engine's now, when the lead was approved, and the providers
  -- that bought this consumer in this niche within the duplicate window.
  v_now timestamptz;
  v_approved timestamptz;
  v_dups uuid[] := '{}';
  -- The level walk, declared as a cursor so that it is planned to return its first
  -- rows fast: down ix_subscriptions_fairness_walk, stopping after max_providers
  -- matches, whatever the number of subscriptions in the level.
  -- The buyer controls (DOMAIN.md "Time zone, schedules, caps", "The same consumer
  -- twice", "A new subscription and the leads already waiting") are conditions of the
  -- same walk; caps count the period's rows on their own indexes.
  walk CURSOR (c_level uuid, c_price numeric, c_payload jsonb, c_taken uuid[],
               c_now timestamptz, c_approved timestamptz, c_dups uuid[]) FOR
    SELECT s.id, s.provider_id, s.last_received_at, s.created_at
      FROM provider_subscriptions s
      JOIN service_providers p ON p.id = s.provider_id
     WHERE s.competition_level_id = c_level
       AND s.active
       AND p.status = 'active'
       AND p.balance >= c_price
       AND s.provider_id <> ALL (c_taken)
       AND s.provider_id <> ALL (c_dups)
       AND (s.leads_from IS NULL OR c_approved >= s.leads_from)
       AND hotlead_filter_mismatch(s.filters, c_payload) IS NULL
       AND hotlead_schedule_open(s.schedule, c_now AT TIME ZONE p.time_zone)
       AND hotlead_cap_reached(s.id, s.caps, p.time_zone, c_now) IS NULL
       AND hotlead_spend_cap_reached(p.id, p.spend_caps, p.time_zone, c_now, c_price) IS NULL
     ORDER BY s.last_received_at ASC NULLS FIRST, s.created_at ASC, s.id ASC;
BEGIN
  SELECT niche_id INTO v_niche_id FROM leads WHERE id = p_lead_id;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('outcome', 'not_found');
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('hotlead.niche:' || v_niche_id::text, 0));
  SELECT * INTO v_lead FROM leads WHERE id = p_lead_id FOR UPDATE;
  IF v_lead.status <> 'approved' THEN
    RETURN jsonb_build_object('outcome', 'not_approved', 'status', v_lead.status::text);
  END IF;
  SELECT * INTO v_niche FROM niches WHERE id = v_niche_id FOR UPDATE;
  v_seq := v_niche.distributed_count;
  v_now := hotlead_now();
  v_approved := coalesce(v_lead.approved_at, v_lead.created_at);
  -- "The same consumer twice": one probe per consumer key on the leads' indexes, then
  -- the assignments of those few leads (uq_assignments_lead_provider's index).
  IF v_niche.duplicate_window_days > 0
     AND (v_lead.consumer_email IS NOT NULL OR v_lead.consumer_phone_e164 IS NOT NULL) THEN
    SELECT coalesce(array_agg(DISTINCT a.provider_id), '{}') INTO v_dups
      FROM leads l2
      JOIN lead_assignments a ON a.lead_id = l2.id
     WHERE l2.niche_id = v_niche_id
       AND l2.id <> p_lead_id
       AND (l2.consumer_email = v_lead.consumer_email OR l2.consumer_phone_e164 = v_lead.consumer_phone_e164)
       AND a.assigned_at > v_now - make_interval(days => v_niche.duplicate_window_days);
  END IF;
  SELECT array_agg(l ORDER BY l.priority_order, l.id) INTO v_levels
    FROM competition_levels l WHERE l.niche_id = v_niche_id AND l.active;
  v_k := coalesce(array_length(v_levels, 1), 0);
  IF v_k = 0 THEN
    RETURN jsonb_build_object('outcome', 'no_eligible', 'levels', '[]'::jsonb);
  END IF;

  <<planning>>
  LOOP
    v_attempt := v_attempt + 1;
    SELECT coalesce(max(seq), 0) INTO v_audit_seq FROM audit_logs;
    SELECT coalesce(max(seq), 0) INTO v_ledger_seq FROM ledger_entries;
    -- Under REPEATABLE READ (how the service calls this) it is the snapshot every
    -- query of the plan reads: the explanations read history visible in it.
    v_snapshot := pg_current_snapshot()::text;
    v_subs := '{}'; v_provs := '{}'; v_lvls := '{}'; v_prices := '{}';
    v_record := '[]';
    FOR i IN 0 .. v_k - 1 LOOP
      v_level := v_levels[((v_seq + i) % v_k) + 1];
      v_count := 0;
      v_chosen := '[]';
      v_cutoff := NULL;
      FOR r IN walk(v_level.id, v_level.price_per_lead, v_lead.payload, v_provs, v_now, v_approved, v_dups) LOOP
        CONTINUE WHEN r.provider_id = ANY (v_provs);
        v_subs := v_subs || r.id;
        v_provs := v_provs || r.provider_id;
        v_lvls := v_lvls || v_level.id;
        v_prices := v_prices || v_level.price_per_lead;
        v_chosen := v_chosen || to_jsonb(r.id::text);
        v_count := v_count + 1;
        IF v_count >= v_level.max_providers THEN
          v_cutoff := jsonb_build_array(r.last_received_at, r.created_at, r.id);
          EXIT;
        END IF;
      END LOOP;
      v_record := v_record || jsonb_build_object(
        'level_id', v_level.id, 'price', v_level.price_per_lead::text,
        'max_providers', v_level.max_providers, 'chosen', v_chosen, 'cutoff', v_cutoff);
    END LOOP;
    EXIT planning WHEN cardinality(v_provs) = 0;
    -- Lock the chosen providers in id order, then make sure nothing changed under us.
    -- Every assignment moves its provider's balance (the ledger trigger updates the
    -- row), so under REPEATABLE READ this lock fails with a serialization error when
    -- another niche charged one of them after our snapshot: the spend caps counted in
    -- the snapshot are then exact, and the service retries the lead.
    PERFORM 1 FROM service_providers WHERE id = ANY (v_provs) ORDER BY id FOR UPDATE;
    SELECT count(*) INTO v_bad
      FROM unnest(v_provs, v_prices) AS t(pid, price)
      JOIN service_providers p ON p.id = t.pid
     WHERE p.status <> 'active' OR p.balance < t.price;
    EXIT planning WHEN v_bad = 0;
    IF v_attempt >= 5 THEN
      RAISE EXCEPTION 'providers of lead % kept changing during its distribution', p_lead_id
        USING ERRCODE = 'serialization_failure';
    END IF;
  END LOOP;

  IF cardinality(v_provs) = 0 THEN
    RETURN jsonb_build_object('outcome', 'no_eligible', 'levels', v_record);
  END IF;

  v_stamp := v_niche.last_received_stamp;
  FOR i IN 1 .. cardinality(v_subs) LOOP
    v_stamp := CASE WHEN v_stamp IS NULL OR clock_timestamp() > v_stamp
                    THEN clock_timestamp() ELSE v_stamp + interval '1 microsecond' END;
    v_assignment := gen_random_uuid();
    INSERT INTO lead_assignments (id, lead_id, provider_id, subscription_id, competition_level_id,
                                  charged_amount, received_at, is_refunded, assigned_at)
    VALUES (v_assignment, p_lead_id, v_provs[i], v_subs[i], v_lvls[i], v_prices[i], v_stamp, false, v_now);
    INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, related_entity_type,
                                related_entity_id, is_reversal, created_at)
    VALUES (gen_random_uuid(), v_provs[i], 'charge', v_prices[i],
            'lead:' || p_lead_id || ':provider:' || v_provs[i] || ':charge',
            'lead_assignment', v_assignment, false, v_now);
    UPDATE provider_subscriptions SET last_received_at = v_stamp WHERE id = v_subs[i];
    v_assignments := v_assignments || jsonb_build_object(
      'id', v_assignment, 'provider_id', v_provs[i], 'subscription_id', v_subs[i],
      'competition_level_id', v_lvls[i], 'charged_amount', v_prices[i]::text);
  END LOOP;

  UPDATE leads SET status = 'distributed', distribution_seq = v_seq, distributed_at = now()
   WHERE id = p_lead_id;
  UPDATE niches SET distributed_count = distributed_count + 1, last_received_stamp = v_stamp
   WHERE id = v_niche_id;
  INSERT INTO distribution_records (lead_id, niche_id, distribution_seq, levels, audit_seq, ledger_seq,
                                   snapshot, decided_at, clock_at)
  VALUES (p_lead_id, v_niche_id, v_seq, v_record, v_audit_seq, v_ledger_seq, v_snapshot, now(), v_now);
  INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state)
  VALUES (gen_random_uuid(), 'system', 'lead', p_lead_id, 'distributed',
          jsonb_build_object('status', 'approved'),
          jsonb_build_object('status', 'distributed', 'distribution_seq', v_seq,
                             'assignments', cardinality(v_subs)));

  FOR r IN SELECT DISTINCT pid FROM unnest(v_provs) AS pid ORDER BY pid LOOP
    v_rules := hotlead_apply_balance_rules(r.pid, 'decrease');
    v_changes := v_changes || (v_rules -> 'changes');
    v_outbox := v_outbox || (v_rules -> 'outbox');
  END LOOP;

  -- The providers' new-lead notices, queued in the same transaction.
  v_job := gen_random_uuid();
  v_job_args := jsonb_build_object('assignment_ids',
                                   (SELECT jsonb_agg(a -> 'id') FROM jsonb_array_elements(v_assignments) a));
  INSERT INTO outbox (id, task, args, attempts, created_at)
  VALUES (v_job, 'email.new_leads', v_job_args, 0, now());
  v_outbox := v_outbox || jsonb_build_array(jsonb_build_object('id', v_job, 'task', 'email.new_leads',
                                                               'args', v_job_args));

  RETURN jsonb_build_object('outcome', 'distributed', 'distribution_seq', v_seq,
                            'assignments', v_assignments, 'changes', v_changes, 'outbox', v_outbox);
END $$;
