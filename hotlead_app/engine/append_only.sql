-- The ledger, the audit log and the assignments are append-only in the database itself.
CREATE OR REPLACE FUNCTION hotlead_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION hotlead_refuse_change();
CREATE OR REPLACE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();
CREATE OR REPLACE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION hotlead_refuse_change();
CREATE OR REPLACE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();
CREATE OR REPLACE TRIGGER lead_assignments_no_truncate BEFORE TRUNCATE ON lead_assignments
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();
