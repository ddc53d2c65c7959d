-- Matching looks patients up by account number without its leading zeros.
-- Under row-level security PostgreSQL may not use an index on
-- ltrim(account_number, '0') (ltrim is not leakproof, so it cannot run
-- before the policy), and the lookup became a scan of the practice's whole
-- directory for every batch of 500 rows. A stored column compared with
-- plain text equality keeps it an index lookup.
ALTER TABLE patients
    ADD COLUMN account_key text GENERATED ALWAYS AS (ltrim(account_number, '0')) STORED;
CREATE INDEX patients_by_account_key_column ON patients (tenant_id, account_key);
DROP INDEX IF EXISTS patients_by_account_key;
