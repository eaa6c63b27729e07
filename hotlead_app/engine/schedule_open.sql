-- Mirrors hotlead_app/domain/controls.py schedule_open.
-- Whether the wall-clock time p_local (the engine's now in the provider's zone) lies
-- in one of the schedule's windows [start, end) of that weekday; a null schedule is
-- always open, a day not listed is closed.  "24:00" is a valid end (time '24:00').
CREATE OR REPLACE FUNCTION hotlead_schedule_open(p_schedule jsonb, p_local timestamp) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  v_day text;
  v_time time;
  w jsonb;
BEGIN
  IF p_schedule IS NULL OR jsonb_typeof(p_schedule) <> 'object' THEN
    RETURN true;
  END IF;
  v_day := (ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])[extract(isodow FROM p_local)::int];
  IF jsonb_typeof(p_schedule -> v_day) IS DISTINCT FROM 'array' THEN
    RETURN false;
  END IF;
  v_time := p_local::time;
  FOR w IN SELECT value FROM jsonb_array_elements(p_schedule -> v_day) LOOP
    IF v_time >= (w ->> 0)::time AND v_time < (w ->> 1)::time THEN
      RETURN true;
    END IF;
  END LOOP;
  RETURN false;
END $$;
