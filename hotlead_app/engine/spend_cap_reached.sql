-- Mirrors the reference model's spend cap check (tests/integration/test_distribution_reference.py).
-- The first period ('day', 'week', 'month') whose spend cap the provider would pass:
-- the sum of charged_amount of its assignments made in the current period (refunded
-- or not) plus p_price is above the cap.  Reads ix_assignments_provider_spend only.
CREATE OR REPLACE FUNCTION hotlead_spend_cap_reached(p_provider uuid, p_caps jsonb, p_zone text,
                                                     p_now timestamptz, p_price numeric)
  RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_period text;
  v_start timestamptz;
  v_end timestamptz;
  v_spent numeric;
BEGIN
  IF p_caps IS NULL OR p_caps = '{}'::jsonb THEN
    RETURN NULL;
  END IF;
  FOREACH v_period IN ARRAY ARRAY['day', 'week', 'month'] LOOP
    CONTINUE WHEN NOT (p_caps ? v_period);
    SELECT b.period_start, b.period_end INTO v_start, v_end FROM hotlead_period_bounds(p_now, p_zone, v_period) b;
    SELECT coalesce(sum(a.charged_amount), 0) INTO v_spent
      FROM lead_assignments a
     WHERE a.provider_id = p_provider AND a.assigned_at >= v_start AND a.assigned_at < v_end;
    IF v_spent + p_price > (p_caps ->> v_period)::numeric THEN
      RETURN v_period;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
