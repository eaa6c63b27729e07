-- The outbox relay (services/outbox.py) listens on channel `hotlead_outbox`: a
-- transaction that writes a job on the speed-to-lead path wakes it the moment it
-- commits (PostgreSQL delivers a NOTIFY at commit and drops it on rollback; one per
-- statement is enough, since the relay then claims every row due).  Those jobs are
-- `jobs.WAKE_RELAY`: the distribution an approval starts and the webhook deliveries a
-- distribution writes.  Every other job goes out at the relay's next poll (0.2 s): a
-- transaction that NOTIFYs holds a database-wide lock from its commit's start until it
-- is flushed, so notifying commits are serialised (no group commit; measured ~4x fewer
-- commits/s with 16 sessions writing the public form's confirmation job).  A lost
-- notification only costs the poll interval.
CREATE OR REPLACE FUNCTION hotlead_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM added_jobs
             WHERE task IN ('distribution.distribute_lead', 'webhooks.deliver')) THEN
    PERFORM pg_notify('hotlead_outbox', '');
  END IF;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER outbox_notify AFTER INSERT ON outbox
  REFERENCING NEW TABLE AS added_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION hotlead_outbox_notify();
