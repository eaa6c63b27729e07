-- Back to the 0002 engine.
DROP FUNCTION hotlead_distribute_lead(uuid);
DROP FUNCTION hotlead_apply_balance_rules(uuid, text);
DROP FUNCTION hotlead_filter_mismatch(jsonb, jsonb);
