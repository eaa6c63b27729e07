-- Delete is refused: deposits are the history of money that came in.
CREATE OR REPLACE FUNCTION hotlead_deposits_no_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'deposits are never deleted' USING ERRCODE = 'check_violation';
END;
$$;

CREATE OR REPLACE TRIGGER deposits_no_delete
  BEFORE DELETE ON deposits
  FOR EACH ROW EXECUTE FUNCTION hotlead_deposits_no_delete();
