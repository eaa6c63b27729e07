-- Session-level: held from before the transaction's snapshot until after its commit.
CREATE OR REPLACE FUNCTION hotlead_lock_niche_of(p_lead_id uuid) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_niche uuid;
BEGIN
  SELECT niche_id INTO v_niche FROM leads WHERE id = p_lead_id;
  IF v_niche IS NOT NULL THEN
    PERFORM pg_advisory_lock(hashtextextended('hotlead.niche:' || v_niche::text, 0));
  END IF;
  RETURN v_niche;
END $$;
