-- Providers whose cached balance differs from the sum of their ledger entries
-- (always empty: `hotlead verify-ledger` reads it).
-- Dropped and created (nothing depends on it), so that its columns may change.
DROP VIEW IF EXISTS balance_drift;
CREATE VIEW balance_drift AS
  SELECT p.id AS provider_id, p.name, p.balance AS cached_balance,
         coalesce(s.total, 0)::numeric(12,2) AS ledger_balance
  FROM service_providers p
  LEFT JOIN (
    SELECT provider_id, sum(hotlead_signed_amount(type, amount)) AS total
    FROM ledger_entries GROUP BY provider_id
  ) s ON s.provider_id = p.id
  WHERE p.balance <> coalesce(s.total, 0);
