-- Mirrors hotlead_app/domain/controls.py geo_matches.
-- Whether a lead's ZIP (a JSON string; its first five digits) meets a ZIP filter's
-- service area: "states" (the ZIP's state is listed) and/or "near" (the haversine
-- distance between the two centroids, Earth radius 3958.8 miles, is <= miles).  An
-- unknown ZIP never matches.  A latitude bounding box comes first: a degree of
-- latitude is never less than 69 miles of great circle, so a centre farther north or
-- south than that is refused without trigonometry.
CREATE OR REPLACE FUNCTION hotlead_zip_within(p_value text, p_rule jsonb) RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  v_zip text := left(p_value, 5);
  v_lat float8;
  v_lon float8;
  v_state text;
  c_lat float8;
  c_lon float8;
  v_miles float8;
  p1 float8;
  p2 float8;
  s1 float8;
  s2 float8;
BEGIN
  IF v_zip IS NULL OR v_zip !~ '^[0-9]{5}$' THEN
    RETURN false;
  END IF;
  SELECT z.latitude, z.longitude, z.state INTO v_lat, v_lon, v_state FROM zip_centroids z WHERE z.zip = v_zip;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF p_rule ? 'states' AND NOT ((p_rule -> 'states') ? v_state) THEN
    RETURN false;
  END IF;
  IF p_rule ? 'near' THEN
    SELECT z.latitude, z.longitude INTO c_lat, c_lon FROM zip_centroids z WHERE z.zip = p_rule -> 'near' ->> 'zip';
    IF NOT FOUND THEN
      RETURN false;
    END IF;
    v_miles := (p_rule -> 'near' ->> 'miles')::float8;
    IF abs(c_lat - v_lat) * 69.0 > v_miles THEN
      RETURN false;
    END IF;
    p1 := radians(v_lat);
    p2 := radians(c_lat);
    s1 := sin((p2 - p1) / 2);
    s2 := sin(radians(c_lon - v_lon) / 2);
    RETURN 2 * 3958.8 * asin(least(1.0::float8, sqrt(s1 * s1 + cos(p1) * cos(p2) * s2 * s2))) <= v_miles;
  END IF;
  RETURN true;
END $$;
