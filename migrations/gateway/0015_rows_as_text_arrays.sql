-- A row's cells, and the changes normalizing made to them, as text arrays
-- by template column (bf_domain::Column::ALL order; NULL: the column is
-- not in the file, or normalizing left the cell as it was) instead of
-- JSON objects. PostgreSQL parsed two JSON objects per row on the way in,
-- a tenth of its time recording a big import, and stored every column's
-- name in every row. The order is fixed from here on: a new template
-- column is appended at the end.
ALTER TABLE import_rows
    ADD COLUMN cell_values text[],
    ADD COLUMN changed_values text[];

UPDATE import_rows SET
    cell_values = ARRAY[cells->>'patient_account_number',
        cells->>'patient_id',
        cells->>'last_name',
        cells->>'first_name',
        cells->>'date_of_birth',
        cells->>'patient_balance',
        cells->>'insurance_balance',
        cells->>'balance_as_of',
        cells->>'reference',
        cells->>'provider_npi',
        cells->>'location',
        cells->>'oldest_service_date',
        cells->>'aged_0_30',
        cells->>'aged_31_60',
        cells->>'aged_61_90',
        cells->>'aged_91_120',
        cells->>'aged_over_120'],
    changed_values = CASE WHEN normalized_changes IS NOT NULL THEN
        ARRAY[normalized_changes->>'patient_account_number',
        normalized_changes->>'patient_id',
        normalized_changes->>'last_name',
        normalized_changes->>'first_name',
        normalized_changes->>'date_of_birth',
        normalized_changes->>'patient_balance',
        normalized_changes->>'insurance_balance',
        normalized_changes->>'balance_as_of',
        normalized_changes->>'reference',
        normalized_changes->>'provider_npi',
        normalized_changes->>'location',
        normalized_changes->>'oldest_service_date',
        normalized_changes->>'aged_0_30',
        normalized_changes->>'aged_31_60',
        normalized_changes->>'aged_61_90',
        normalized_changes->>'aged_91_120',
        normalized_changes->>'aged_over_120'] END;

ALTER TABLE import_rows
    ALTER COLUMN cell_values SET NOT NULL,
    DROP COLUMN cells,
    DROP COLUMN normalized_changes;

-- One recorded row as the recorder sends it: a batch is one array of these.
CREATE TYPE import_row_in AS (
    line               integer,
    status             text,
    cell_values        text[],
    changed_values     text[],
    patient_balance    numeric,
    insurance_balance  numeric,
    matched_patient_id text,
    account_number     text,
    problems           jsonb,
    raw                jsonb,
    normalized         jsonb,
    prior              jsonb
);
