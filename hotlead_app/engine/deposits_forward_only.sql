-- Deposits only move forward: a completed deposit stays completed, and what was
-- asked (provider, method, amount, currency) never changes once written.
CREATE OR REPLACE FUNCTION hotlead_deposits_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.provider_id <> OLD.provider_id OR NEW.method <> OLD.method
     OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency THEN
    RAISE EXCEPTION 'a deposit''s provider, method, amount and currency never change'
      USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.status = 'completed' AND NEW.status <> 'completed' THEN
    RAISE EXCEPTION 'a completed deposit stays completed (was %, now %)', OLD.status, NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.ledger_entry_id IS NOT NULL AND NEW.ledger_entry_id IS DISTINCT FROM OLD.ledger_entry_id THEN
    RAISE EXCEPTION 'a deposit''s ledger entry never changes' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.reversed_amount < OLD.reversed_amount THEN
    RAISE EXCEPTION 'a deposit''s reversed amount only grows' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER deposits_forward_only
  BEFORE UPDATE ON deposits
  FOR EACH ROW EXECUTE FUNCTION hotlead_deposits_forward_only();
