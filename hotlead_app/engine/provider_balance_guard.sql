-- The cached balance changes only through a ledger entry: the flag is set by the
-- ledger trigger around its own UPDATE, which therefore runs nested in a trigger
-- (depth 2); a flag set by hand on a session does not open a top-level UPDATE.
CREATE OR REPLACE FUNCTION hotlead_provider_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.balance <> 0 THEN
      RAISE EXCEPTION 'a provider starts at a zero balance; money arrives through ledger_entries'
        USING ERRCODE = 'check_violation';
    END IF;
  ELSIF NEW.balance IS DISTINCT FROM OLD.balance
        AND (coalesce(current_setting('hotlead.ledger_posting', true), 'off') <> 'on'
             OR pg_trigger_depth() < 2) THEN
    RAISE EXCEPTION 'service_providers.balance changes only through ledger_entries'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER service_providers_balance_guard BEFORE INSERT OR UPDATE ON service_providers
  FOR EACH ROW EXECUTE FUNCTION hotlead_provider_balance_guard();
