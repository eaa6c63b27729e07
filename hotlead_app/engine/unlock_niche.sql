-- Releases the session-level lock hotlead_lock_niche_of took.
CREATE OR REPLACE FUNCTION hotlead_unlock_niche(p_niche uuid) RETURNS boolean LANGUAGE sql AS $$
  SELECT pg_advisory_unlock(hashtextextended('hotlead.niche:' || p_niche::text, 0))
$$;
