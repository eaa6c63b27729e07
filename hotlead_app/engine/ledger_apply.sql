-- Every entry moves the provider's cached balance in the same statement, with the
-- provider row locked; an entry taking money out that would overdraw is refused
-- unless it is a payment processor's reversal (money coming in is always accepted:
-- it pays back the negative balance such a reversal left).
CREATE OR REPLACE FUNCTION hotlead_ledger_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_balance numeric(10,2);
  v_after numeric(10,2);
BEGIN
  SELECT balance INTO v_balance FROM service_providers WHERE id = NEW.provider_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'ledger entry for unknown provider %', NEW.provider_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  v_after := v_balance + hotlead_signed_amount(NEW.type, NEW.amount);
  IF v_after < 0 AND v_after < v_balance AND NOT NEW.is_reversal THEN
    RAISE EXCEPTION 'insufficient balance: % of % would overdraw a balance of %', NEW.type, NEW.amount, v_balance
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_no_overdraft';
  END IF;
  NEW.balance_after := v_after;
  PERFORM set_config('hotlead.ledger_posting', 'on', true);
  UPDATE service_providers SET balance = v_after WHERE id = NEW.provider_id;
  PERFORM set_config('hotlead.ledger_posting', 'off', true);
  RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER ledger_entries_apply BEFORE INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION hotlead_ledger_apply();
