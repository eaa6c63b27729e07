-- The sign of an entry comes from its type.
CREATE OR REPLACE FUNCTION hotlead_signed_amount(t ledger_entry_type, amount numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN t IN ('deposit', 'refund', 'credit') THEN amount ELSE -amount END
$$;
