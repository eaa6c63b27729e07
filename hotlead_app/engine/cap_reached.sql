-- Mirrors the reference model's cap check (tests/integration/test_distribution_reference.py).
-- The first period ('day', 'week', 'month', in that order) whose cap the subscription
-- has reached: its assignments made in the current period (refunded or not) are not
-- < the cap.  Counts on ix_assignments_subscription_assigned, never past the cap.
CREATE OR REPLACE FUNCTION hotlead_cap_reached(p_sub uuid, p_caps jsonb, p_zone text, p_now timestamptz)
  RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_period text;
  v_cap bigint;
  v_start timestamptz;
  v_end timestamptz;
  v_count bigint;
BEGIN
  IF p_caps IS NULL OR p_caps = '{}'::jsonb THEN
    RETURN NULL;
  END IF;
  FOREACH v_period IN ARRAY ARRAY['day', 'week', 'month'] LOOP
    CONTINUE WHEN NOT (p_caps ? v_period);
    v_cap := (p_caps ->> v_period)::bigint;
    SELECT b.period_start, b.period_end INTO v_start, v_end FROM hotlead_period_bounds(p_now, p_zone, v_period) b;
    SELECT count(*) INTO v_count
      FROM (SELECT 1 FROM lead_assignments a
             WHERE a.subscription_id = p_sub AND a.assigned_at >= v_start AND a.assigned_at < v_end
             LIMIT v_cap) x;
    IF v_count >= v_cap THEN
      RETURN v_period;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
