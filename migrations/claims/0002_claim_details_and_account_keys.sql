-- What the old system knew about a balance travels onto its BF claim, so
-- aging is not reset to "current" by the import.
ALTER TABLE claims
    ADD COLUMN provider_npi        text,
    ADD COLUMN location            text,
    ADD COLUMN oldest_service_date date,
    ADD COLUMN balance_as_of       date,
    -- 0-30, 31-60, 61-90, 91-120, over 120 days; NULL when not given.
    ADD COLUMN aging               numeric(14,2)[];

-- Matching an account number whose leading zeros Excel dropped.
CREATE INDEX patients_by_account_key ON patients (tenant_id, ltrim(account_number, '0'));
