-- Real-world files: how each file was read, the options it was read with,
-- the old system's totals for reconciliation, the user's decisions at Save,
-- and named import profiles.

ALTER TABLE tenants
    ADD COLUMN balance_ceiling numeric(14,2) NOT NULL DEFAULT 100000.00;

ALTER TABLE imports
    ADD COLUMN options         jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN file_format     text,
    ADD COLUMN encoding        text,
    ADD COLUMN delimiter       text,
    -- {"patient_balance": "...", "credit_total": "...", "patient_count": n}
    ADD COLUMN expected_totals jsonb,
    -- {"accept_flagged": "all"|"none"|[lines], "existing_balance_forward": "skip"|...}
    ADD COLUMN decisions       jsonb,
    -- The file's own totals over every row with a readable balance:
    -- {"patient_balance", "credit_total", "patient_count"}
    ADD COLUMN file_totals     jsonb;

ALTER TABLE import_rows
    -- Every cell of the line, in file order, as it was in the file.
    ADD COLUMN raw        jsonb NOT NULL DEFAULT '[]',
    -- Parsed values by template column (amounts 2 places, ISO dates).
    ADD COLUMN normalized jsonb NOT NULL DEFAULT '{}',
    -- The patient's earlier active BF claims, when any.
    ADD COLUMN prior      jsonb,
    -- A flagged row the user accepted at Save.
    ADD COLUMN accepted   boolean NOT NULL DEFAULT false;

CREATE TABLE import_profiles (
    tenant_id  text        NOT NULL REFERENCES tenants (tenant_id),
    name       text        NOT NULL,
    options    jsonb       NOT NULL,
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);
