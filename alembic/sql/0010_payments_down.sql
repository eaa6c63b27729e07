DROP TRIGGER IF EXISTS deposits_no_delete ON deposits;
DROP TRIGGER IF EXISTS deposits_forward_only ON deposits;
DROP FUNCTION IF EXISTS hotlead_deposits_no_delete();
DROP FUNCTION IF EXISTS hotlead_deposits_forward_only();
