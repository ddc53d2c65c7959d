-- A row's cells, and the changes normalizing made to them, as one bytea
-- each (crates/gateway/src/store/packed.rs: a bit mask of the template
-- columns present, then their texts) instead of a text[] of up to 17
-- slots. Building those arrays from every recorded row was about a tenth
-- of what PostgreSQL spent recording a big import (receiving them: 6 % of
-- all its samples while a 10^6-row file was read), and they made every
-- row larger. Only the gateway reads the texts back; no SQL looks inside.
--
-- Rows recorded before this keep their arrays (the gateway reads either);
-- a new row has one or the other, never neither.
ALTER TABLE import_rows
    ADD COLUMN cells bytea,
    ADD COLUMN changes bytea,
    ALTER COLUMN cell_values DROP NOT NULL,
    ADD CONSTRAINT import_rows_have_cells CHECK (cells IS NOT NULL OR cell_values IS NOT NULL);

-- One recorded row as the recorder sends it: a batch is one array of
-- these. import_row_in stays for a gateway of the previous release still
-- running during a rolling deploy.
CREATE TYPE import_row_packed AS (
    line               integer,
    status             text,
    cells              bytea,
    changes            bytea,
    patient_balance    numeric,
    insurance_balance  numeric,
    matched_patient_id text,
    account_number     text,
    problems           jsonb,
    raw                jsonb,
    normalized         jsonb,
    prior              jsonb
);
