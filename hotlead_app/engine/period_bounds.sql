-- Mirrors hotlead_app/domain/controls.py period_bounds.
-- [start, end) of the calendar period ('day', 'week' or 'month') holding p_now in the
-- zone p_zone, from PostgreSQL's own time zone data: the day from local midnight, the
-- week from Monday 00:00 (date_trunc's ISO week), the month from the 1st 00:00.
CREATE OR REPLACE FUNCTION hotlead_period_bounds(p_now timestamptz, p_zone text, p_period text,
                                                 OUT period_start timestamptz, OUT period_end timestamptz)
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_first timestamp := date_trunc(p_period, p_now AT TIME ZONE p_zone);
BEGIN
  period_start := v_first AT TIME ZONE p_zone;
  period_end := (v_first + ('1 ' || p_period)::interval) AT TIME ZONE p_zone;
END $$;
