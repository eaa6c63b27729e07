-- The engine's "now" (DOMAIN.md "Time zone, schedules, caps"): the transaction's
-- timestamp, or, for tests only, the instant in the setting hotlead.now (SET LOCAL
-- hotlead.now = '2026-03-08 06:59:00+00'), so that periods, windows and DST changes
-- are tested with a frozen clock instead of sleeping.  Mirrors nothing in Python:
-- the explanations read the instant the engine used from distribution_records.clock_at.
CREATE OR REPLACE FUNCTION hotlead_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('hotlead.now', true), '')::timestamptz, transaction_timestamp())
$$;
