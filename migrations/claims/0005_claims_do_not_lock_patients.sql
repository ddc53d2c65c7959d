-- A claim's patient is checked when the claim is created, not by a
-- foreign key. The foreign key checked each new claim with a row lock
-- (FOR KEY SHARE) on its patient's tuple: a write, logged, to as many
-- pages of the directory as a batch has patients (a thousand per batch,
-- each page logged whole again after every checkpoint), so Save got
-- slower per claim as the directory grew. The claims service now reads
-- the batch's patients (no lock) and refuses a batch that names an
-- unknown one, as the foreign key did.
ALTER TABLE claims DROP CONSTRAINT IF EXISTS claims_tenant_id_patient_id_fkey;

-- What the foreign key also guaranteed: a patient a claim names stays.
-- The service never deletes a patient or changes its key; now it cannot.
REVOKE DELETE ON patients FROM bf_app;
REVOKE UPDATE ON patients FROM bf_app;
GRANT UPDATE (account_number, last_name, first_name, date_of_birth, updated_at) ON patients TO bf_app;
