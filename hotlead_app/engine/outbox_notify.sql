-- The outbox relay (services/outbox.py) listens on channel `hotlead_outbox`: a
-- transaction that writes jobs wakes it the moment it commits (PostgreSQL delivers a
-- NOTIFY at commit and drops it on rollback; one per statement and per transaction is
-- enough, since the relay then claims every row due).  The relay still polls, so a lost
-- notification only costs its idle interval.
--
-- Except the public form's confirmation e-mail (`email.send_lead_confirmation`, written
-- by every submission): a transaction that NOTIFYs holds a database-wide lock from
-- its commit's start until it is flushed, so every submission's commit would wait for
-- the one before (no group commit; ~4x fewer commits/s with 16 sessions).  Those jobs
-- go out at the relay's next poll (0.2 s) or with any other job's wake-up.
CREATE OR REPLACE FUNCTION hotlead_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM added_jobs WHERE task <> 'email.send_lead_confirmation') THEN
    PERFORM pg_notify('hotlead_outbox', '');
  END IF;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER outbox_notify AFTER INSERT ON outbox
  REFERENCING NEW TABLE AS added_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_outbox_notify();
