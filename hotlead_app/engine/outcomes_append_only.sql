-- A provider's outcomes are append-only, like the ledger: the latest row counts.
CREATE OR REPLACE TRIGGER lead_outcomes_append_only BEFORE UPDATE OR DELETE ON lead_outcomes
  FOR EACH ROW EXECUTE FUNCTION hotlead_refuse_change();
CREATE OR REPLACE TRIGGER lead_outcomes_no_truncate BEFORE TRUNCATE ON lead_outcomes
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();
