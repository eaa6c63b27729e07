-- An assignment, once made, never changes, but for its one refund.
CREATE OR REPLACE FUNCTION hotlead_assignment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE TRIGGER lead_assignments_guard BEFORE UPDATE OR DELETE ON lead_assignments
  FOR EACH ROW EXECUTE FUNCTION hotlead_assignment_guard();
