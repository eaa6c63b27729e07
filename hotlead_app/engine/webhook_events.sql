-- The events a provider's endpoints receive, caught where they happen so that every
-- writer (the distribution engine, an admin refund, Global Bad Lead, an approved
-- return) makes them in its own transaction without knowing about webhooks:
--   a lead becomes `distributed`  -> `lead.assigned` for each of its assignments (all of
--                                    them exist by then, so `shared_with` is final);
--   an assignment is refunded     -> `lead.refunded`.
CREATE OR REPLACE FUNCTION hotlead_webhook_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_TABLE_NAME = 'leads' THEN
    FOR r IN SELECT id FROM lead_assignments WHERE lead_id = NEW.id ORDER BY assigned_at, id LOOP
      PERFORM hotlead_webhook_enqueue(r.id, 'lead.assigned');
    END LOOP;
  ELSE
    PERFORM hotlead_webhook_enqueue(NEW.id, 'lead.refunded');
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER leads_webhook_assigned AFTER UPDATE OF status ON leads
  FOR EACH ROW WHEN (NEW.status = 'distributed' AND OLD.status IS DISTINCT FROM 'distributed')
  EXECUTE FUNCTION hotlead_webhook_events();
CREATE OR REPLACE TRIGGER lead_assignments_webhook_refunded AFTER UPDATE OF is_refunded ON lead_assignments
  FOR EACH ROW WHEN (NEW.is_refunded AND NOT OLD.is_refunded)
  EXECUTE FUNCTION hotlead_webhook_events();

-- Every attempt is kept as it happened.
CREATE OR REPLACE TRIGGER webhook_attempts_append_only BEFORE UPDATE OR DELETE ON webhook_attempts
  FOR EACH ROW EXECUTE FUNCTION hotlead_refuse_change();
CREATE OR REPLACE TRIGGER webhook_attempts_no_truncate BEFORE TRUNCATE ON webhook_attempts
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_refuse_change();
