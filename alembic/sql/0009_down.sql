DROP FUNCTION hotlead_visible(bigint, text);
DROP FUNCTION hotlead_unlock_niche(uuid);
DROP FUNCTION hotlead_lock_niche_of(uuid);
