-- Guards that live in the database itself: append-only ledger and audit log,
-- the balance cache kept by the ledger trigger, and the drift view.

CREATE FUNCTION hotlead_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION hotlead_refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION hotlead_refuse_change();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();

-- The sign of an entry comes from its type.
CREATE FUNCTION hotlead_signed_amount(t ledger_entry_type, amount numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN t IN ('deposit', 'refund', 'credit') THEN amount ELSE -amount END
$$;

-- Every entry moves the provider's cached balance in the same statement, with the
-- provider row locked; an entry taking money out that would overdraw is refused
-- unless it is a payment processor's reversal (money coming in is always accepted:
-- it pays back the negative balance such a reversal left).
CREATE FUNCTION hotlead_ledger_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER ledger_entries_apply BEFORE INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION hotlead_ledger_apply();

-- The cached balance changes only through a ledger entry: the flag is set by the
-- ledger trigger around its own UPDATE, which therefore runs nested in a trigger
-- (depth 2); a flag set by hand on a session does not open a top-level UPDATE.
CREATE FUNCTION hotlead_provider_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER service_providers_balance_guard BEFORE INSERT OR UPDATE ON service_providers
  FOR EACH ROW EXECUTE FUNCTION hotlead_provider_balance_guard();

CREATE VIEW balance_drift AS
  SELECT p.id AS provider_id, p.name, p.balance AS cached_balance,
         coalesce(s.total, 0)::numeric(12,2) AS ledger_balance
  FROM service_providers p
  LEFT JOIN (
    SELECT provider_id, sum(hotlead_signed_amount(type, amount)) AS total
    FROM ledger_entries GROUP BY provider_id
  ) s ON s.provider_id = p.id
  WHERE p.balance <> coalesce(s.total, 0);

-- An assignment, once made, never changes, but for its one refund.
CREATE FUNCTION hotlead_assignment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'lead_assignments are never deleted' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (NEW.id, NEW.lead_id, NEW.provider_id, NEW.subscription_id, NEW.competition_level_id,
      NEW.charged_amount, NEW.received_at, NEW.assigned_at)
     IS DISTINCT FROM
     (OLD.id, OLD.lead_id, OLD.provider_id, OLD.subscription_id, OLD.competition_level_id,
      OLD.charged_amount, OLD.received_at, OLD.assigned_at) THEN
    RAISE EXCEPTION 'an assignment never changes once made' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.is_refunded THEN
    RAISE EXCEPTION 'assignment % was already refunded', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER lead_assignments_guard BEFORE UPDATE OR DELETE ON lead_assignments
  FOR EACH ROW EXECUTE FUNCTION hotlead_assignment_guard();
CREATE TRIGGER lead_assignments_no_truncate BEFORE TRUNCATE ON lead_assignments
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();
