-- Rows visible in a recorded snapshot (NULL txid: written before 0009, long committed).
CREATE OR REPLACE FUNCTION hotlead_visible(p_txid bigint, p_snapshot text) RETURNS boolean
  LANGUAGE sql STABLE AS $$
  SELECT p_txid IS NULL OR pg_visible_in_snapshot(p_txid::text::xid8, p_snapshot::pg_snapshot)
$$;
