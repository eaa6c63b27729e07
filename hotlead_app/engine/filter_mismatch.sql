-- Mirrors hotlead_app/domain/filters.py (the Python side keeps the same rule for
-- explanations and tests, which check the two agree).
-- The first filter key (in C order) the payload fails, or NULL when all match.
-- Lists: the payload value's text (->>) is one of the strings; numbers and strings
-- only.  Ranges: a JSON number or a plain decimal string within inclusive bounds.
-- ZIP service areas ({"near": …, "states": […]}): a JSON string whose ZIP meets them
-- (hotlead_zip_within reads zip_centroids, hence STABLE).
CREATE OR REPLACE FUNCTION hotlead_filter_mismatch(p_filters jsonb, p_payload jsonb) RETURNS text
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  k text;
  v jsonb;
  pv jsonb;
  t text;
  num numeric;
BEGIN
  IF p_filters IS NULL OR p_filters = '{}'::jsonb THEN
    RETURN NULL;
  END IF;
  FOR k, v IN SELECT key, value FROM jsonb_each(p_filters) ORDER BY key COLLATE "C" LOOP
    pv := p_payload -> k;
    IF pv IS NULL OR jsonb_typeof(pv) NOT IN ('string', 'number') THEN
      RETURN k;
    END IF;
    t := p_payload ->> k;
    IF jsonb_typeof(v) = 'array' THEN
      IF NOT (v ? t) THEN
        RETURN k;
      END IF;
    ELSIF jsonb_typeof(v) = 'object' AND (v ? 'near' OR v ? 'states') THEN
      IF jsonb_typeof(pv) <> 'string' OR NOT hotlead_zip_within(t, v) THEN
        RETURN k;
      END IF;
    ELSIF jsonb_typeof(v) = 'object' THEN
      IF jsonb_typeof(pv) = 'number' THEN
        num := t::numeric;
      ELSIF t ~ '^-?[0-9]+(\.[0-9]+)?$' THEN
        num := t::numeric;
      ELSE
        RETURN k;
      END IF;
      IF (v ? 'min' AND num < (v ->> 'min')::numeric) OR (v ? 'max' AND num > (v ->> 'max')::numeric) THEN
        RETURN k;
      END IF;
    ELSE
      RETURN k;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
