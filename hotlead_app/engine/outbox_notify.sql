-- The outbox relay (services/outbox.py) listens on channel `hotlead_outbox`: a
-- transaction that writes jobs wakes it the moment it commits (PostgreSQL delivers a
-- NOTIFY at commit and drops it on rollback; one per statement and per transaction is
-- enough, since the relay then claims every row due).  The relay still polls, so a lost
-- notification only costs its idle interval.
CREATE OR REPLACE FUNCTION hotlead_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hotlead_outbox', '');
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_outbox_notify();
